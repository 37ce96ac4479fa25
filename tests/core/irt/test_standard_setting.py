"""Bookmark and modified-Angoff standard setting, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from junheng import irt
from junheng.exceptions import InputError, ParameterError
from junheng.irt import standard_setting as ss

ITEMS = pl.DataFrame({"item_id": ["i1", "i2", "i3", "i4"], "model": ["2pl", "2pl", "2pl", "3pl"],
                      "a": [1.0, 2.0, 0.5, 1.0], "b": [0.0, -1.0, 0.5, 0.0], "c": [0.0, 0.0, 0.0, 0.2]})
L67 = math.log(0.67 / 0.33)  # 0.708185
# RP67 locations by hand: b + ln(.67/.33)/a, and for the 3PL b + ln((.67 − c)/.33)/a
LOC = {"i1": L67, "i2": -1 + L67 / 2, "i3": 0.5 + L67 / 0.5, "i4": math.log(0.47 / 0.33)}


def test_ordered_item_booklet_by_hand():
    oib = ss.ordered_item_booklet(ITEMS)
    assert oib["item_id"].to_list() == ["i2", "i4", "i1", "i3"]  # −0.646, 0.354, 0.708, 1.916
    assert oib["page"].to_list() == [1, 2, 3, 4]
    np.testing.assert_allclose(oib["location"], [LOC[i] for i in oib["item_id"]], atol=1e-5)


def test_polytomous_pages_are_score_points_at_rp67():
    gpcm = pl.DataFrame({"item_id": ["g"], "model": ["gpcm"], "a": [1.2], "b": [0.25], "b_1": [-0.5], "b_2": [1.0]})
    oib = ss.ordered_item_booklet(gpcm)
    assert oib["category"].to_list() == [1, 2]
    for k, th in zip(oib["category"], oib["location"]):
        # oracle: the GPCM category probabilities written out
        num = np.exp([0.0, 1.2 * (th + 0.5), 1.2 * (th + 0.5) + 1.2 * (th - 1.0)])
        p = num / num.sum()
        assert p[k:].sum() == pytest.approx(0.67, abs=1e-5)


def test_bookmark_cuts_by_hand():
    oib = ss.ordered_item_booklet(ITEMS)
    marks = pl.DataFrame({
        "panellist": ["甲", "乙", "丙"] * 6,
        "round": [1] * 9 + [2] * 9,
        "cut": ["Ⅱ"] * 3 + ["Ⅲ"] * 3 + ["Ⅳ"] * 3 + ["Ⅱ"] * 3 + ["Ⅲ"] * 3 + ["Ⅳ"] * 3,
        "page": [1, 2, 2, 2, 3, 4, 4, 4, 4, 1, 1, 2, 2, 3, 3, 4, 4, 4]})
    scale = irt.ReportingScale.from_constants(0.0, 1.0, 500.0, 100.0)  # score = 500 + 100θ
    cuts, per = ss.bookmark(oib, marks, subject="数学", scale=scale, panel="省学业质量标准专家组", date="2022-07-01")
    s = {p: 500 + 100 * LOC[i] for p, i in zip([1, 2, 3, 4], ["i2", "i4", "i1", "i3"])}
    # round 2: Ⅱ pages 1, 1, 2 → median s[1]; Ⅲ pages 2, 3, 3 → s[3]; Ⅳ all page 4 → s[4]
    assert cuts.cuts == pytest.approx((s[1], s[3], s[4]))
    x = np.array([s[1], s[1], s[2]])
    assert cuts.se[0] == pytest.approx(math.sqrt(math.pi / 2) * x.std(ddof=1) / math.sqrt(3))
    assert cuts.se[2] == 0
    assert (cuts.method, cuts.rounds, cuts.panellists, cuts.provisional) == ("bookmark", 2, 3, False)
    assert "书签法" in cuts.label() and "2 轮" in cuts.label()
    assert per.height == 18
    # the mean option: SE = sd/√n
    m, _ = ss.bookmark(oib, marks, subject="数学", scale=scale, statistic="mean")
    assert m.cuts[0] == pytest.approx(x.mean()) and m.se[0] == pytest.approx(x.std(ddof=1) / math.sqrt(3))
    # levels from the stored cuts: a score at a cut is in the higher level
    assert irt.levels([s[1] - 1, cuts.cuts[0], s[4] + 1], cuts.cuts).tolist() == [1, 2, 4]


def test_bookmark_rejects_bad_pages_and_cuts_all_reported():
    oib = ss.ordered_item_booklet(ITEMS)
    bad = pl.DataFrame({"panellist": ["甲", "乙"], "round": [1, 1], "cut": ["Ⅴ", "Ⅱ"], "page": [1, 9]})
    with pytest.raises(InputError) as e:
        ss.bookmark(oib, bad, subject="数学", file="书签.csv")
    assert "Ⅴ" in str(e.value.issues[0].value) or e.value.issues[0].column == "cut"
    bad = bad.with_columns(pl.lit("Ⅱ").alias("cut"))
    with pytest.raises(InputError, match="1–4"):
        ss.bookmark(oib, bad, subject="数学")
    decreasing = pl.DataFrame({"panellist": ["甲"] * 3, "round": [1] * 3, "cut": ["Ⅱ", "Ⅲ", "Ⅳ"], "page": [3, 2, 4]})
    with pytest.raises(ParameterError, match="递增"):
        ss.bookmark(oib, decreasing, subject="数学")
    with pytest.raises(ParameterError, match="bookmarks.csv：专家组分数线须递增"):
        ss.bookmark(oib, decreasing, subject="数学", file="bookmarks.csv")


def test_angoff_by_hand():
    same = pl.DataFrame({"item_id": list("abcd"), "model": ["2pl"] * 4, "a": [1.0] * 4, "b": [0.0] * 4})
    # TCC = 4σ(θ): a summed rating of 2 → θ = 0; 3 → θ = ln 3; 3.6 → θ = ln 9
    ratings = pl.DataFrame({"panellist": ["甲"] * 12, "round": [1] * 12,
                            "cut": ["Ⅱ"] * 4 + ["Ⅲ"] * 4 + ["Ⅳ"] * 4, "item_id": list("abcd") * 3,
                            "rating": [0.5] * 4 + [0.75] * 4 + [0.9] * 4})
    cuts, per = ss.angoff(same, ratings, subject="语文")
    assert cuts.cuts == pytest.approx((0.0, math.log(3), math.log(9)), abs=1e-5)
    assert cuts.method == "angoff" and per["expected_score"].to_list() == pytest.approx([2.0, 3.0, 3.6])
    with pytest.raises(InputError, match="0–1"):
        ss.angoff(same, ratings.with_columns(pl.lit(1.5).alias("rating")), subject="语文")
    # every item rated 1 (Ⅲ) and 0 (Ⅳ): sums 4 and 0 lie outside the TCC 4σ(θ) on θ ∈ [−10, 10]
    outside = ratings.with_columns(pl.when(pl.col("cut") == "Ⅲ").then(1.0).when(pl.col("cut") == "Ⅳ").then(0.0)
                                   .otherwise(pl.col("rating")).alias("rating"))
    with pytest.raises(InputError) as e:
        ss.angoff(same, outside, subject="语文", file="angoff.csv")
    found = {(i.row, i.column, i.value) for i in e.value.issues}
    assert found == {(6, "rating", 4.0), (10, "rating", 0.0)} and all(i.file == "angoff.csv" for i in e.value.issues)


def test_provisional_cuts_say_so():
    c = ss.provisional("英语")
    assert c.provisional and c.cuts == (400.0, 500.0, 600.0) and "暂定" in c.label()
