"""Synthetic responses reproduce their generating model: observed p-values against the model's
expected p-values computed independently by Gauss–Hermite integration over the ability distribution."""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.assessment import MissingTreatment, score_responses
from junheng.synth.responses import MEAN_SHIFT, current_year, synth_tests


def test_observed_p_values_match_the_model():
    test = synth_tests(3, subjects=("数学",))
    rng = np.random.default_rng(1)
    n = 14000
    pupils = pl.DataFrame({"student_id": [f"s{i}" for i in range(n)], "school_code": rng.integers(0, 100, n).astype(str)})
    asg, raw = current_year(pupils, test, random_state=9)
    # no omissions in the model check: blanks count as missing here
    scored = score_responses(raw, test.bank, treatment=MissingTreatment(omitted=None))
    obs = scored.group_by("item_id").agg(pl.col("score").mean().alias("obs"), pl.col("score").count().alias("n"))
    x, w = np.polynomial.hermite_e.hermegauss(61)
    w = w / w.sum()
    theta = MEAN_SHIFT["数学"] + x
    rows = []
    for r in test.params.filter(pl.col("year_set") != "base").iter_rows(named=True):
        if r["model"] == "2pl":
            e = (w / (1 + np.exp(-r["a"] * (theta - r["b"] - r["drift"])))).sum()  # current year: drifted anchors
        else:
            s1 = r["a"] * (theta - r["b_1"])
            s2 = s1 + r["a"] * (theta - r["b_2"])
            den = 1 + np.exp(s1) + np.exp(s2)
            e = (w * (np.exp(s1) + 2 * np.exp(s2)) / den).sum()
        rows.append((r["item_id"], e))
    exp = pl.DataFrame(rows, schema=["item_id", "expected"], orient="row")
    cmp = obs.join(exp, on="item_id")
    assert cmp.height == 56
    # binomial SE of a mean over ~6000 pupils ≤ 0.0065 (×2 for 0..2 items); 4.5 SE allows for 56 items
    se = np.sqrt(0.25 / cmp["n"].to_numpy()) * 2
    assert (np.abs(cmp["obs"] - cmp["expected"]).to_numpy() < 4.5 * se).all()


def test_missing_rates_and_design():
    test = synth_tests(4, subjects=("语文", "英语"))
    n = 7000
    pupils = pl.DataFrame({"student_id": [f"s{i}" for i in range(n)], "school_code": [str(i % 50) for i in range(n)]})
    asg, raw = current_year(pupils, test, random_state=2)
    assert raw.height == n * 24
    s = score_responses(raw, test.bank)
    share = s.group_by("status").len().with_columns(pl.col("len") / s.height)
    d = dict(zip(share["status"].cast(pl.String), share["len"]))
    assert 0.015 < d["omitted"] < 0.03 and 0.002 < d["not_reached"] < 0.02
    # every pupil's items are exactly their booklet's items
    first = asg.row(0, named=True)
    items = set(raw.filter(pl.col("person_id") == first["student_id"])["item_id"])
    blocks = dict(zip(test.designs[first["subject"]].booklet_ids, test.designs[first["subject"]].booklets))[first["booklet"]]
    assert items == set(test.blocks.filter(pl.col("block").is_in(blocks))["item_id"])
    # anchors are shared with the base design, other base blocks are not in the current design
    for subj in ("语文", "英语"):
        cur, base = set(test.designs[subj].blocks), set(test.base_designs[subj].blocks)
        assert cur & base == set(test.designs[subj].anchor_blocks) and len(cur & base) == 2


def test_mh_dif_finds_the_planted_items():
    from junheng.assessment import mantel_haenszel_dif

    test = synth_tests(5, subjects=("科学",), dif=1.0)
    n = 14000
    rng = np.random.default_rng(3)
    pupils = pl.DataFrame({"student_id": [f"s{i}" for i in range(n)], "school_code": rng.integers(0, 80, n).astype(str),
                           "sex": rng.integers(1, 3, n)})
    asg, raw = current_year(pupils, test, random_state=4)
    scored = score_responses(raw, test.bank)
    bk = asg.select(pl.col("student_id").alias("person_id"), "booklet")
    dif = mantel_haenszel_dif(scored, pupils.rename({"student_id": "person_id"}), group="sex", reference=1, focal=2,
                              booklets=bk)
    planted = dict(zip(*test.params.filter(pl.col("dif_female") != 0).select("item_id", "dif_female")))
    got = dict(zip(dif["item_id"], dif["ets"]))
    # harder for girls (focal) → favours the reference group → C−; easier → C+
    assert sorted(got[i] for i in planted) == ["C+", "C-"]
    for i, d in planted.items():
        assert got[i] == ("C-" if d > 0 else "C+")
    others = [v for k, v in got.items() if k not in planted]
    assert sum(v.startswith("C") for v in others) == 0
