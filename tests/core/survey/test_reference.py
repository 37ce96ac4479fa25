"""Estimates and SEs against R's survey package (tests/reference/survey/reference.R), 1e-8 relative."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng.survey import NO_RULE, ReplicateDesign, TaylorDesign
from junheng.survey import estimators as est

REF = Path(__file__).resolve().parents[2] / "reference" / "survey"
ROOT = REF.parents[2]
RTOL = 1e-8

DATA = pl.read_csv(REF / "design_data.csv", schema_overrides={"school_code": pl.String, "county_code": pl.String,
                                                                 "sex": pl.String})
R_RESULTS = pl.read_csv(REF / "r_results.csv", schema_overrides={"group": pl.String, "estimate": pl.Float64, "se": pl.Float64}, null_values="NA").with_columns(
    pl.col("group").fill_null(""))

DESIGNS = {
    "jk2": ReplicateDesign(DATA, "weight", "jk_*", method="jk2", rule=NO_RULE),
    "fay": ReplicateDesign(DATA, "weight", "fay_*", method="fay", fay_k=0.5, rule=NO_RULE),
    "taylor": TaylorDesign(DATA, "weight", strata="county_code", psu="school_code", rule=NO_RULE),
}


def _keyed(frame: pl.DataFrame, by: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for row in frame.iter_rows(named=True):
        key = ";".join(f"{b}={row[b]}" for b in by)
        out[key] = (row["estimate"], row["se"])
    return out


def _reference(case: str, method: str) -> dict[str, tuple[float, float]]:
    sub = R_RESULTS.filter((pl.col("case") == case) & (pl.col("method") == method))
    assert sub.height, f"no R reference rows for {case}/{method}"
    return {g: (e, s) for g, e, s in sub.select("group", "estimate", "se").iter_rows()}


def _compare(ours: dict, ref: dict, se: bool = True) -> None:
    assert set(ours) == set(ref)
    for key, (e, s) in ref.items():
        np.testing.assert_allclose(ours[key][0], e, rtol=RTOL, err_msg=f"estimate {key}")
        if se:
            np.testing.assert_allclose(ours[key][1], s, rtol=RTOL, err_msg=f"se {key}")


CASES = {
    "mean_score": lambda d: _keyed(est.mean(d, "score"), []),
    "mean_score_by_county": lambda d: _keyed(est.mean(d, "score", by="county_code"), ["county_code"]),
    "mean_score_by_county_sex": lambda d: _keyed(est.mean(d, "score", by=["county_code", "sex"]),
                                                 ["county_code", "sex"]),
    "prop_pass_by_county": lambda d: _keyed(est.proportion(d, "pass", levels=1, by="county_code"), ["county_code"]),
    "prop_level": lambda d: _keyed(est.proportion(d, "level"), ["level"]),
    "total_score_by_sex": lambda d: _keyed(est.total(d, "score", by="sex"), ["sex"]),
    "diff_score_sex": lambda d: _keyed(est.difference(d, "score", group="sex", a="2", b="1"), []),
    "diff_score_sex_by_county": lambda d: _keyed(est.difference(d, "score", group="sex", a="2", b="1",
                                                                by="county_code"), ["county_code"]),
    "regression_score": lambda d: _keyed(est.regression(d, "score", ["x1", "x2"]), ["term"]),
    "pv_mean_by_location": lambda d: _keyed(est.mean(d, pv="pv*", by="location"), ["location"]),
    "pv_prop_pass_by_county": lambda d: _keyed(est.proportion(d, pv="pass_pv*", levels=1, by="county_code"),
                                               ["county_code"]),
    "pv_regression": lambda d: _keyed(est.regression(d, pv=[f"pv{m}" for m in range(1, 6)], x=["x1", "x2"]),
                                      ["term"]),
    "pv_diff_sex": lambda d: _keyed(est.difference(d, pv="pv*", group="sex", a="2", b="1"), []),
}


@pytest.mark.parametrize("method", ["jk2", "fay", "taylor"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_r_survey(case: str, method: str) -> None:
    _compare(CASES[case](DESIGNS[method]), _reference(case, method))


@pytest.mark.parametrize("method", ["jk2", "fay"])
def test_median_equals_r_survey(method: str) -> None:
    d = DESIGNS[method]
    ours = _keyed(est.quantile(d, "score", 0.5), []) | _keyed(est.quantile(d, "score", 0.5, by="sex"), ["sex"])
    _compare(ours, _reference("median_score_by_sex", method))


@pytest.mark.parametrize("method", ["jk2", "fay", "taylor"])
def test_design_effect_equals_r_survey(method: str) -> None:
    ours = est.mean(DESIGNS[method], "score", deff=True)["deff"][0]
    np.testing.assert_allclose(ours, _reference("deff_score", method)[""][0], rtol=RTOL)


@pytest.mark.reference
@pytest.mark.integration
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_stored_reference_is_what_r_gives(tmp_path: Path) -> None:
    out = tmp_path / "r_results.csv"
    subprocess.run(["Rscript", str(REF / "reference.R"), str(out)], cwd=ROOT, check=True, capture_output=True)
    fresh = pl.read_csv(out, schema_overrides={"group": pl.String, "estimate": pl.Float64, "se": pl.Float64}, null_values="NA").with_columns(pl.col("group").fill_null(""))
    assert fresh.select("case", "method", "group").equals(R_RESULTS.select("case", "method", "group"))
    np.testing.assert_allclose(fresh["estimate"].to_numpy(), R_RESULTS["estimate"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fresh["se"].fill_null(0).to_numpy(), R_RESULTS["se"].fill_null(0).to_numpy(),
                               rtol=1e-12)


LOCATION_TOTALS = {"乡村": 40000.0, "城区": 25000.0, "镇区": 35000.0}
SEX_TOTALS = {"1": 52000.0, "2": 48000.0}


def _codes(col: str, totals: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    keys = list(totals)
    ids = DATA[col].replace_strict({k: i for i, k in enumerate(keys)}, return_dtype=pl.Int64).to_numpy()
    return ids, np.array([totals[k] for k in keys])


def _reweighted(method: str, w: np.ndarray) -> ReplicateDesign:
    d = DESIGNS[method]
    names = [d.weight, *d.replicate_columns]
    frame = DATA.with_columns(pl.Series(n, w[:, i]) for i, n in enumerate(names))
    return ReplicateDesign(frame, d.weight, d.replicate_columns, method=d.method, fay_k=d.fay_k, rule=NO_RULE)


@pytest.mark.parametrize("method", ["jk2", "fay"])
def test_poststratified_weights_equal_r_survey(method: str) -> None:
    from junheng.survey.weights import poststratify

    ids, totals = _codes("location", LOCATION_TOTALS)
    d = _reweighted(method, poststratify(DESIGNS[method].weights_matrix, ids, totals))
    _compare(_keyed(est.mean(d, "score", by="county_code"), ["county_code"]),
             _reference("poststrat_mean_score_by_county", method))


@pytest.mark.parametrize("method", ["jk2", "fay"])
def test_raked_weights_equal_r_survey(method: str) -> None:
    from junheng.survey.weights import rake

    margins = [_codes("location", LOCATION_TOTALS), _codes("sex", SEX_TOTALS)]
    d = _reweighted(method, rake(DESIGNS[method].weights_matrix, margins, tol=1e-14, max_iter=500))
    _compare(_keyed(est.mean(d, "score"), []), _reference("raked_mean_score", method))
    _compare(_keyed(est.total(d, "pass"), []), _reference("raked_total_pass", method))
