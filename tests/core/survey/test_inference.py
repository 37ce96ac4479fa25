"""Inference (issue 13.4): t with the design's degrees of freedom and Benjamini–Hochberg control.

Oracles: R (``pt``, ``qt``, ``p.adjust(method = "BH")``, mitools' ``MIcombine`` df, survey's
``degf``) through tests/reference/survey/inference.R and the CSVs it wrote; simulations with
known truth (no county differs from the province; a county estimate's t interval covers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng.survey import NO_RULE, ReplicateDesign, TaylorDesign, mean, versus_total
from junheng.survey.inference import (
    barnard_rubin,
    bh_adjust,
    compare,
    johnson_rust,
    replicate_df,
    satterthwaite_df,
    t_quantile,
)
from junheng.survey.replicates import jk2_factors

REF = Path(__file__).resolve().parents[2] / "reference" / "survey"


def test_t_tests_and_bh_within_families_equal_r():
    r = pl.read_csv(REF / "inference_r.csv", schema_overrides={"family": pl.String})
    got = compare(r.select("family", "id", "d", "se", "df"), family=["family"], estimate="d", se="se")
    np.testing.assert_allclose(got["t"].to_numpy(), r["t"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["p"].to_numpy(), r["p"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["p_adj"].to_numpy(), r["p_bh"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(t_quantile(r["df"].to_numpy()), r["q975"].to_numpy(), rtol=1e-9)
    assert got["significant"].to_list() == (r["p_bh"] < 0.05).to_list()


def test_bh_ignores_missing_p_values_as_r_does():
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.2])
    # R: p.adjust(c(0.01, NA, 0.04, 0.03, 0.2), "BH") = 0.04 NA 0.0533.. 0.0533.. 0.2
    np.testing.assert_allclose(bh_adjust(p), [0.04, np.nan, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2], rtol=1e-12)


def test_barnard_rubin_tends_to_rubins_df_of_mitools():
    mi = pl.read_csv(REF / "mi_input.csv")
    r = pl.read_csv(REF / "mi_r.csv").sort("case")
    for case in r.iter_rows(named=True):
        g = mi.filter(pl.col("case") == case["case"]).sort("m")
        est, var, nu = barnard_rubin(g["estimate"].to_numpy()[:, None], g["variance"].to_numpy()[:, None],
                                     np.array([1e12]))
        assert est[0] == pytest.approx(case["estimate"], rel=1e-12)
        assert var[0] == pytest.approx(case["variance"], rel=1e-12)
        assert nu[0] == pytest.approx(case["df"], rel=1e-6)
        # with few complete-data df, ν never exceeds them
        assert barnard_rubin(g["estimate"].to_numpy()[:, None], g["variance"].to_numpy()[:, None],
                             np.array([4.0]))[2][0] < 4.0


def test_taylor_degrees_of_freedom_equal_r_degf():
    data = pl.read_csv(REF / "design_data.csv", schema_overrides={"school_code": pl.String, "county_code": pl.String})
    d = TaylorDesign(data, "weight", strata="county_code", psu="school_code", rule=NO_RULE)
    assert d.degf == pl.read_csv(REF / "degf_r.csv")["degf"][0]
    assert mean(d, "score")["df"][0] == d.degf


def test_replicate_df_counts_contributing_zones():
    assert replicate_df(np.array([[1.0, -1.0, 0.5, 0, 0, 0]]))[0] == 3.0
    assert replicate_df(np.array([[10.0, 0.1, 1e-4, 0, 0]]))[0] == 2.0  # 1e-8 of the largest term: none
    assert replicate_df(np.ones((1, 60)))[0] == 60.0
    assert satterthwaite_df(np.array([[1.0, 1.0, 1.0, 0.0]]))[0][0] == pytest.approx(3.0)
    # NAEP's Johnson–Rust factor for national estimates: (3.16 − 2.77/√62) · ν_WS, at most m
    assert johnson_rust(np.array([10.0]), np.array([62]))[0] == pytest.approx((3.16 - 2.77 / 62**0.5) * 10)
    assert np.isnan(replicate_df(np.zeros((1, 5)))[0])


def _province(rng, n_counties=40, schools=6, pupils=15, county_sd=0.0, school_sd=8.0, sd=30.0):
    """A stratified two-stage sample: counties = strata, schools paired into JK2 zones."""
    c = np.repeat(np.arange(n_counties), schools * pupils)
    s = np.repeat(np.arange(n_counties * schools), pupils)
    zone = s // 2
    member = s % 2
    y = 500 + county_sd * rng.normal(size=n_counties)[c] + school_sd * rng.normal(size=s.max() + 1)[s] \
        + sd * rng.normal(size=s.size)
    w = rng.uniform(20, 40, n_counties * schools)[s]
    reps = w[:, None] * jk2_factors(zone, member, int(zone.max()) + 1)
    frame = pl.DataFrame({"county": c.astype(str), "school_code": s.astype(str), "y": y, "weight": w})
    frame = frame.with_columns(pl.Series(f"rep_{r + 1}", reps[:, r]) for r in range(reps.shape[1]))
    return ReplicateDesign(frame, "weight", "rep_*", method="jk2", rule=NO_RULE)


def test_no_true_county_differences_few_false_statements():
    """Complete null (no county effect): BH keeps the share of samples with any false 高于/低于
    statement near α (FWER = FDR under the complete null); the old |d| > 2 SE rule does not."""
    rng = np.random.default_rng(2024)
    any_false, old_rule, statements = 0, 0, 0
    sims = 60
    for _ in range(sims):
        d = _province(rng)
        dfs = mean(d, "y", by="county")["df"]  # 6 schools = 3 zones per county (a zone whose term is
        assert dfs.max() == 3.0 and dfs.mean() > 2.8  # below 1e-4 of the largest is not counted)
        out = versus_total(d, "y", by="county")
        assert out["df"].to_list() == dfs.to_list()  # county − province: the county's zones
        statements += int(out["significant"].sum())
        any_false += bool(out["significant"].any())
        old_rule += int((out["diff"].abs() > 2 * out["diff_se"]).sum())
    assert any_false / sims <= 0.08
    assert old_rule > 5 * max(statements, 1)


def test_true_differences_are_found():
    rng = np.random.default_rng(7)
    out = versus_total(_province(rng, county_sd=40.0, schools=10), "y", by="county")
    assert out["significant"].sum() >= 10
    truth_sign = np.sign(out["estimate"] - out["total"])
    assert (out.filter(pl.col("significant"))["direction"].to_numpy() == truth_sign.filter(out["significant"])
            .to_numpy()).all()


def test_t_interval_with_design_df_covers_a_three_zone_county():
    """A county of 6 schools has 3 zones: the t interval (ν ≤ 3) covers the true mean about 95 %
    of the time; the normal interval (±1.96 SE) covers clearly less."""
    rng = np.random.default_rng(99)
    cover_t = cover_z = 0
    sims = 300
    for _ in range(sims):
        d = _province(rng, n_counties=2, school_sd=25.0, sd=10.0)
        r = mean(d, "y", by="county").row(0, named=True)
        err = abs(r["estimate"] - 500)
        cover_t += err <= t_quantile(r["df"]) * r["se"]
        cover_z += err <= 1.96 * r["se"]
    assert cover_t / sims >= 0.91
    assert cover_z / sims < cover_t / sims - 0.03


def test_versus_total_is_the_replicate_wise_part_whole_difference_written_out():
    rng = np.random.default_rng(3)
    d = _province(rng, n_counties=4, schools=4, pupils=5)
    out = versus_total(d, "y", by="county").sort("county")
    f = d.data
    reps = [c for c in f.columns if c.startswith("rep_")]

    def wmean(frame, w):
        return float((frame[w] * frame["y"]).sum() / frame[w].sum())

    for row in out.iter_rows(named=True):
        part = f.filter(pl.col("county") == row["county"])
        diff = wmean(part, "weight") - wmean(f, "weight")
        devs = [wmean(part, r) - wmean(f, r) - diff for r in reps]
        assert row["diff"] == pytest.approx(diff, rel=1e-12)
        assert row["diff_se"] == pytest.approx(np.sqrt(np.sum(np.square(devs))), rel=1e-10)
        assert row["df"] == 2.0  # 4 schools = 2 zones in the county


def test_compare_calls_by_adjusted_p_and_leaves_missing_differences_undecided():
    # hand-worked, normal (df = ∞): |t| = 3 → p = 0.0027, |t| = 1 → p = 0.3173; BH over the 2 known p
    f = pl.DataFrame({"diff": [3.0, -1.0, None, -3.0], "diff_se": [1.0, 1.0, 1.0, 0.0]})
    out = compare(f)
    assert out["p_adj"].to_list()[:2] == pytest.approx([0.0026998 * 2, 0.3173105], rel=1e-4)  # p·n/rank
    assert out["significant"].to_list() == [True, False, None, None]
    assert out["direction"].to_list() == [1, 0, None, None]
