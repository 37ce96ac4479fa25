"""Booklet designs: BIB balance properties checked by counting; seeded spiralled assignment."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import polars as pl
import pytest

from junheng.assessment import (
    assemble_blocks,
    assign_booklets,
    booklet_items,
    cyclic_bib,
    find_difference_set,
)
from junheng.assessment.booklets import BookletDesign
from junheng.exceptions import ParameterError


@pytest.mark.parametrize("v,k,lam", [(7, 3, 1), (13, 4, 1), (11, 5, 2), (7, 4, 2), (13, 3, 0.5)])
def test_cyclic_bib_balance(v, k, lam):
    d = cyclic_bib(v, k)
    # brute-force counts, independent of the design's own methods
    r = {b: sum(b in bk for bk in d.booklets) for b in d.blocks}
    assert set(r.values()) == {k}
    for j in range(k):
        assert sorted(bk[j] for bk in d.booklets) == sorted(d.blocks)  # each block once in each position
    pairs = {p: sum(set(p) <= set(bk) for bk in d.booklets) for p in combinations(d.blocks, 2)}
    if lam == int(lam):
        assert set(pairs.values()) == {lam} and d.pairs_balanced
    else:  # (13, 3) admits no cyclic difference set: neighbour rotation, pairs not balanced
        assert not d.pairs_balanced
    assert d.blocks_balanced and d.positions_balanced


def test_difference_sets_are_valid():
    for v, k in [(7, 3), (13, 4), (11, 5), (21, 5), (15, 7)]:
        d = find_difference_set(v, k)
        assert d is not None
        diffs = [(a - b) % v for a in d for b in d if a != b]
        assert len(set(np.bincount(diffs, minlength=v)[1:].tolist())) == 1
    assert find_difference_set(8, 3) is None  # λ = 6/7 not an integer
    assert find_difference_set(16, 6) is None  # no cyclic (16, 6, 2) set exists (Baumert 1971)


def test_bad_design_parameters():
    with pytest.raises(ParameterError, match="k ≤ v"):
        cyclic_bib(3, 5)
    with pytest.raises(ParameterError, match="unknown blocks"):
        BookletDesign(blocks=("A",), booklets=(("A", "Z"),))


def test_assemble_blocks_and_booklet_items():
    items = pl.DataFrame({"item_id": [f"i{j:02d}" for j in range(56)],
                          "content_domain": ["数与代数", "图形与几何", "统计与概率", "综合"] * 14,
                          "p": np.linspace(0.2, 0.9, 56)})
    anchors = [f"i{j:02d}" for j in range(16)]
    blocks = assemble_blocks(items, 7, anchors=anchors, n_anchor_blocks=2, difficulty="p", random_state=1)
    sizes = blocks.group_by("block").len().sort("block")["len"].to_list()
    assert sizes == [8] * 7
    assert set(blocks.filter(pl.col("block").is_in(["K1", "K2"]))["item_id"]) == set(anchors)
    # every non-anchor block gets every content domain
    dom = blocks.join(items, on="item_id").filter(~pl.col("block").is_in(["K1", "K2"]))
    assert dom.group_by("block").agg(pl.col("content_domain").n_unique())["content_domain"].min() == 4
    d = cyclic_bib(7, 3, anchor_blocks=2)
    bi = booklet_items(d, blocks)
    assert bi.group_by("booklet").len()["len"].to_list() == [24] * 7
    assert bi.group_by("booklet").agg(pl.col("position").max())["position"].to_list() == [24] * 7


def test_assign_booklets_spiralled_and_seeded():
    rng = np.random.default_rng(0)
    pupils = pl.DataFrame({"student_id": [f"s{i}" for i in range(2000)],
                           "school_code": rng.choice([f"sch{j}" for j in range(23)], 2000)})
    designs = {s: cyclic_bib(7, 3) for s in ("语文", "数学", "英语", "科学")}
    a1 = assign_booklets(pupils, designs, random_state=7)
    a2 = assign_booklets(pupils, designs, random_state=7)
    assert a1.equals(a2) and a1["student_id"].to_list() == pupils["student_id"].to_list()
    assert not a1.equals(assign_booklets(pupils, designs, random_state=8))
    per_school = a1.group_by("school_code", "subject").len().pivot(on="subject", index="school_code", values="len").fill_null(0)
    counts = per_school.drop("school_code").to_numpy()
    assert (counts.max(1) - counts.min(1) <= 1).all()  # subjects spiralled within school
    bk = a1.group_by("school_code", "subject", "booklet").len()
    spread = bk.group_by("school_code", "subject").agg((pl.col("len").max() - pl.col("len").min()).alias("d"))
    assert spread["d"].max() <= 1
    # a given subject column is respected
    with_subject = pupils.with_columns(pl.lit("数学").alias("subject"))
    assert set(assign_booklets(with_subject, designs, random_state=1)["subject"]) == {"数学"}
