"""Classical item analysis against independent computations: R's mantelhaen.test, hand-worked
tables, the covariance form of alpha, and brute-force loops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng.assessment import (
    ItemBank,
    alpha_by_booklet,
    bank_from_json,
    cronbach_alpha,
    distractor_analysis,
    ets_category,
    item_analysis,
    item_statistics,
    mantel_haenszel_dif,
    score_responses,
)
from junheng.exceptions import ParameterError

REF = Path(__file__).resolve().parents[2] / "reference" / "assessment"


def _persons_from_tables(tables: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Expand stratified 2×2 counts to one row per person (brute force, no shortcuts)."""
    scored, groups = [], []
    pid = 0
    for r in tables.iter_rows(named=True):
        for g, right, n in (("R", 1, r["A"]), ("R", 0, r["B"]), ("F", 1, r["C"]), ("F", 0, r["D"])):
            for _ in range(n):
                pid += 1
                scored.append((f"p{pid}", r["item_id"], right))
                groups.append((f"p{pid}", g, r["stratum"]))
    return (pl.DataFrame(scored, schema=["person_id", "item_id", "score"], orient="row"),
            pl.DataFrame(groups, schema=["person_id", "grp", "stratum"], orient="row"))


def test_mh_dif_equals_r_mantelhaen_test():
    tables = pl.read_csv(REF / "mh_dif_tables.csv")
    ref = pl.read_csv(REF / "mh_dif_r.csv").sort("item_id")
    scored, groups = _persons_from_tables(tables)
    out = mantel_haenszel_dif(scored, groups, group="grp", reference="R", focal="F", matching="stratum")
    out = out.sort("item_id")
    np.testing.assert_allclose(out["alpha_mh"], ref["alpha_mh"], rtol=1e-12)
    np.testing.assert_allclose(out["chi2"], ref["chi2"], rtol=1e-10)
    np.testing.assert_allclose(out["p_value"], ref["p_value"], rtol=1e-8)
    # R's CI is exp(ln α ± 1.96 SE_RBG): recover SE and compare on the delta scale
    z = 1.959963984540054
    se_ln = (np.log(ref["ci_high"]) - np.log(ref["ci_low"])) / (2 * z)
    np.testing.assert_allclose(out["se"], 2.35 * se_ln, rtol=1e-8)
    np.testing.assert_allclose(out["mh_d_dif"], -2.35 * np.log(ref["alpha_mh"]), rtol=1e-12)


def test_mh_dif_hand_worked_single_stratum():
    # one stratum, A=300 B=100 C=200 D=200: α = (300·200/800)/(100·200/800) = 3, D = −2.35 ln 3
    t = pl.DataFrame({"item_id": ["X"], "stratum": [1], "A": [300], "B": [100], "C": [200], "D": [200]})
    scored, groups = _persons_from_tables(t)
    out = mantel_haenszel_dif(scored, groups, group="grp", reference="R", focal="F", matching="stratum")
    assert out["alpha_mh"][0] == pytest.approx(3.0)
    assert out["mh_d_dif"][0] == pytest.approx(-2.35 * np.log(3))
    # E(A) = 400·500/800 = 250, Var(A) = 400·400·500·300/(800²·799); χ² = (|300−250| − ½)² / Var
    var = 400 * 400 * 500 * 300 / (800**2 * 799)
    assert out["chi2"][0] == pytest.approx((50 - 0.5) ** 2 / var)
    # RBG: R = 75, S = 25, P = 5/8, Q = 3/8 → Var(ln α) = (P/R + (P S + Q R)/(R S) + Q/S) / 2
    var_ln = (0.625 / 75 + (0.625 * 25 + 0.375 * 75) / (75 * 25) + 0.375 / 25) / 2
    assert out["se"][0] == pytest.approx(2.35 * np.sqrt(var_ln))
    assert out["ets"][0] == "C-"  # |D| = 2.58 ≥ 1.5 and (|D| − 1)/SE ≈ 4.4: favours the reference group


def test_ets_categories_hand_worked():
    d = np.array([-0.5, 1.2, -1.8, 1.6, 2.0, 1.6])
    se = np.array([0.2, 0.2, 0.2, 0.5, 0.3, 0.3])
    p = np.array([0.01, 0.001, 1e-6, 0.01, 0.2, 0.001])
    # A: |D|<1; B+: 1≤|D|<1.5; C-: (1.8−1)/.2=4>1.645; B+: (1.6−1)/.5=1.2<1.645; A: not significant;
    # C+: (1.6−1)/.3=2>1.645
    assert ets_category(d, se, p).tolist() == ["A", "B+", "C-", "B+", "A", "C+"]


def test_mh_dif_matching_on_total_score_equals_explicit_strata():
    rng = np.random.default_rng(5)
    n, k = 3000, 8
    theta = rng.standard_normal(n)
    sex = rng.integers(1, 3, n)
    b = np.linspace(-1, 1, k)
    shift = np.zeros(k)
    shift[0] = 0.8  # item 0 harder for focal
    x = (rng.random((n, k)) < 1 / (1 + np.exp(-(theta[:, None] - b - shift * (sex[:, None] == 2))))).astype(int)
    pid = [f"p{i}" for i in range(n)]
    scored = pl.DataFrame({"person_id": np.repeat(pid, k), "item_id": np.tile([f"i{j}" for j in range(k)], n),
                           "score": x.ravel()})
    groups = pl.DataFrame({"person_id": pid, "sex": sex, "total": x.sum(1)})
    a = mantel_haenszel_dif(scored, groups, group="sex", reference=1, focal=2)
    b_ = mantel_haenszel_dif(scored, groups, group="sex", reference=1, focal=2, matching="total")
    for c in ("alpha_mh", "mh_d_dif", "se", "chi2"):
        np.testing.assert_allclose(a[c], b_[c], rtol=1e-10)
    assert a["ets"].to_list() == b_["ets"].to_list()
    assert a["mh_d_dif"][0] < -1  # the planted DIF against the focal group is found
    assert (a["ets"][1:] == "A").mean() >= 0.8


def test_alpha_equals_covariance_formula():
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(500)
    x = (rng.random((500, 10)) < 1 / (1 + np.exp(-(theta[:, None] - np.linspace(-1, 1, 10))))).astype(float)
    c = np.cov(x, rowvar=False)
    k = x.shape[1]
    expected = k / (k - 1) * (1 - np.trace(c) / c.sum())
    assert cronbach_alpha(x) == pytest.approx(expected, rel=1e-12)
    # per booklet through the long frame: two booklets, one with an incomplete pupil dropped
    long = pl.DataFrame({"person_id": np.repeat(np.arange(500), 10), "item_id": np.tile([f"i{j}" for j in range(10)], 500),
                         "score": x.ravel().astype(int)})
    long = long.filter(~((pl.col("person_id") == 0) & (pl.col("item_id") == "i3")))
    bk = pl.DataFrame({"person_id": np.arange(500), "booklet": np.where(np.arange(500) < 250, "B1", "B2")})
    out = alpha_by_booklet(long, bk)
    assert out["n_complete"].to_list() == [249, 250]
    assert out["alpha"][0] == pytest.approx(cronbach_alpha(x[1:250]), rel=1e-10)
    assert out["alpha"][1] == pytest.approx(cronbach_alpha(x[250:]), rel=1e-10)


def test_item_statistics_brute_force():
    rng = np.random.default_rng(2)
    n = 300
    x = rng.integers(0, 2, (n, 5))
    x[:, 4] = rng.integers(0, 3, n)  # a 0..2 item
    long = pl.DataFrame({"person_id": np.repeat(np.arange(n), 5), "item_id": np.tile(list("abcde"), n),
                         "score": x.ravel()})
    out = item_statistics(long, {"a": 1, "b": 1, "c": 1, "d": 1, "e": 2})
    for j, it in enumerate("abcde"):
        row = out.filter(pl.col("item_id") == it).row(0, named=True)
        rest = x.sum(1) - x[:, j]
        assert row["item_rest"] == pytest.approx(np.corrcoef(x[:, j], rest)[0, 1], rel=1e-10)
        assert row["p_value"] == pytest.approx(x[:, j].mean() / (2 if it == "e" else 1))
        assert row["sd"] == pytest.approx(x[:, j].std(ddof=1))


def test_distractor_analysis_hand_worked():
    bank = bank_from_json({"schema": "junheng.itembank/1", "items": [
        {"item_id": "Q1", "subject": "数学", "format": "single_choice", "key": "B", "options": ["1", "2", "3", "4"]},
        {"item_id": "Q2", "subject": "数学", "format": "constructed", "max_score": 2},
    ]})
    raws = {"p1": ("B", "2"), "p2": ("B", "1"), "p3": ("A", "0"), "p4": ("C", "0"), "p5": ("", "1"), "p6": ("B", "2")}
    resp = pl.DataFrame([(p, it, r) for p, (a, b) in raws.items() for it, r in (("Q1", a), ("Q2", b))],
                        schema=["person_id", "item_id", "raw"], orient="row")
    scored = score_responses(resp, bank)
    d = distractor_analysis(scored, bank)
    q = {r["option"]: r for r in d.iter_rows(named=True)}
    assert set(q) == {"A", "B", "C", "omit"}
    assert q["B"]["is_key"] and not q["A"]["is_key"]
    assert q["B"]["share"] == pytest.approx(3 / 6)
    # criterion = percent of 3 points: p1 1, p2 2/3, p3 0, p4 0, p5 1/3, p6 1
    crit = np.array([1, 2 / 3, 0, 0, 1 / 3, 1])
    chose_b = np.array([1, 1, 0, 0, 0, 1])
    assert q["B"]["r_pb"] == pytest.approx(np.corrcoef(chose_b, crit)[0, 1], rel=1e-10)
    chose_a = np.array([0, 0, 1, 0, 0, 0])
    assert q["A"]["r_pb"] == pytest.approx(np.corrcoef(chose_a, crit)[0, 1], rel=1e-10)
    assert isinstance(bank, ItemBank)


def test_item_analysis_refuses_dif_without_groups_or_columns():
    bank = bank_from_json({"schema": "junheng.itembank/1", "items": [
        {"item_id": "Q1", "subject": "数学", "format": "single_choice", "key": "B", "options": ["1", "2", "3", "4"]},
    ]})
    resp = pl.DataFrame({"person_id": ["p1", "p2"], "item_id": ["Q1", "Q1"], "raw": ["B", "A"]})
    scored = score_responses(resp, bank)
    assert set(item_analysis(scored, bank)) == {"items", "distractors", "missing"}
    with pytest.raises(ParameterError, match="DIF needs"):
        item_analysis(scored, bank, dif=(("sex", "1", "2"),))
    groups = pl.DataFrame({"person_id": ["p1", "p2"], "sex": ["1", "2"]})
    with pytest.raises(ParameterError, match="'location', 'grade'"):
        item_analysis(scored, bank, groups=groups, dif=(("sex", "1", "2"), ("location", "a", "b"), ("grade", "4", "8")))
