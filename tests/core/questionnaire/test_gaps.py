"""factor_gaps against R survey + mitools (tests/reference/questionnaire/factor_gaps.R; JK2, Fay and
Taylor designs), 1e-8 relative,
and against a jackknife and Rubin combination worked out here with NumPy alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.questionnaire import factor_categories, factor_gaps
from junheng.survey import NO_RULE, ReplicateDesign, ReportingRule, TaylorDesign

HERE = Path(__file__).resolve().parents[2] / "reference"
REF = HERE / "questionnaire"
ROOT = HERE.parents[1]
RTOL = 1e-8
LEVELS = pl.Enum(["低", "中", "高"])

DATA = pl.read_csv(HERE / "survey" / "design_data.csv",
                   schema_overrides={"school_code": pl.String, "county_code": pl.String, "sex": pl.String})
# the factors, built exactly as factor_gaps.R builds them
DATA = DATA.with_columns(
    (pl.col("x2") >= 5).alias("hi_x2"),
    pl.when(pl.col("score").is_null()).then(None)
    .when(pl.col("x1") < -0.5).then(pl.lit("低")).when(pl.col("x1") < 0.5).then(pl.lit("中"))
    .otherwise(pl.lit("高")).cast(LEVELS).alias("x1g"),
)
DESIGNS = {
    "jk2": ReplicateDesign(DATA, "weight", "jk_*", method="jk2", rule=NO_RULE),
    "fay": ReplicateDesign(DATA, "weight", "fay_*", method="fay", fay_k=0.5, rule=NO_RULE),
    "taylor": TaylorDesign(DATA, "weight", strata="county_code", psu="school_code", rule=NO_RULE),
}
R = pl.read_csv(REF / "r_factor_gaps.csv", schema_overrides={"group": pl.String, "category": pl.String,
                                                             "estimate": pl.Float64, "se": pl.Float64}
                ).with_columns(pl.col("group").fill_null(""), pl.col("category").str.strip_chars())
CASES = {"hi_x2": ("hi_x2", None), "x1g": ("x1g", None), "x1g_by_sex": ("x1g", "sex")}


@pytest.mark.parametrize("method", list(DESIGNS))
@pytest.mark.parametrize("case", list(CASES))
def test_factor_gaps_equal_r_survey(case, method):
    factor, by = CASES[case]
    ours = factor_gaps(DESIGNS[method], factor, pv="pv*", by=by or ())
    ref = R.filter((pl.col("case") == case) & (pl.col("method") == method))
    got = {(f"sex={r['sex']}" if by else "", r["category"]): (r["estimate"], r["se"], r["is_gap"])
           for r in ours.iter_rows(named=True)}
    assert len(got) == ref.height
    for r in ref.iter_rows(named=True):
        est, se, is_gap = got[(r["group"], r["category"])]
        assert is_gap == ("−" in r["category"])
        np.testing.assert_allclose([est, se], [r["estimate"], r["se"]], rtol=RTOL)


def test_order_and_columns():
    out = factor_gaps(DESIGNS["jk2"], ["x1g", "hi_x2"], by="sex")
    assert out.columns == ["factor", "sex", "category", "is_gap", "estimate", "se", "df", "n_pupils", "n_schools", "flag"]
    first = out.filter((pl.col("factor") == "x1g") & (pl.col("sex") == "1"))["category"].to_list()
    assert first == ["低", "中", "高", "高 − 低"]
    assert out.filter(pl.col("factor") == "hi_x2")["category"].unique(maintain_order=True).to_list() == [
        "false", "true", "true − false"]


def test_gap_se_by_hand_jackknife_and_rubin():
    """The gap for hi_x2 under JK2 worked out with NumPy: per PV and weight column the two
    weighted means, their difference, V = Σ_r (d_r − d_0)², then Rubin's rules by hand."""
    d = DATA
    w = d.select("weight", *[f"jk_{r}" for r in range(1, 25)]).to_numpy()
    hi = d["hi_x2"].to_numpy()
    diffs, variances = [], []
    for m in range(1, 6):
        y = d[f"pv{m}"].to_numpy()
        mean_t = (w[hi] * y[hi, None]).sum(0) / w[hi].sum(0)
        mean_f = (w[~hi] * y[~hi, None]).sum(0) / w[~hi].sum(0)
        dd = mean_t - mean_f
        diffs.append(dd[0])
        variances.append(((dd[1:] - dd[0]) ** 2).sum())
    diffs, variances = np.array(diffs), np.array(variances)
    u = variances.mean()
    b = ((diffs - diffs.mean()) ** 2).sum() / 4
    se = np.sqrt(u + 1.2 * b)
    gap = factor_gaps(DESIGNS["jk2"], "hi_x2").filter(pl.col("is_gap")).row(0, named=True)
    np.testing.assert_allclose([gap["estimate"], gap["se"]], [diffs.mean(), se], rtol=1e-10)
    # not the SE of independent samples: the two groups share schools and replicates
    cats = factor_gaps(DESIGNS["jk2"], "hi_x2").filter(~pl.col("is_gap"))["se"].to_numpy()
    assert abs(gap["se"] - np.sqrt((cats ** 2).sum())) > 0.5


def test_single_variable_and_reporting_rule():
    out = factor_gaps(ReplicateDesign(DATA, "weight", "jk_*", method="jk2", rule=ReportingRule(250, 5)),
                      "x1g", variable="score", by="sex")
    assert out["flag"].is_not_null().all() and out["estimate"].is_null().all()  # every sex × 低/中/高 cell < 250
    loose = factor_gaps(DESIGNS["jk2"], "x1g", variable="score")
    assert loose["estimate"].is_not_null().all()


def test_categories_and_bad_parameters():
    assert factor_categories(pl.Series([True, None, False])) == [False, True]
    assert factor_categories(pl.Series(["高", "低"], dtype=LEVELS)) == ["低", "中", "高"]
    assert factor_categories(pl.Series([3, 1, None, 2])) == [1, 2, 3]
    with pytest.raises(ParameterError, match="factor column not found"):
        factor_gaps(DESIGNS["jk2"], "nope")
    with pytest.raises(ParameterError, match="both a factor and a by column"):
        factor_gaps(DESIGNS["jk2"], "sex", by="sex")
    with pytest.raises(ParameterError, match="at least one factor"):
        factor_gaps(DESIGNS["jk2"], [])


@pytest.mark.reference
@pytest.mark.integration
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_stored_reference_is_what_r_gives(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    subprocess.run(["Rscript", str(REF / "factor_gaps.R"), str(out)], cwd=ROOT, check=True, capture_output=True)
    fresh = pl.read_csv(out, schema_overrides={"group": pl.String, "category": pl.String, "estimate": pl.Float64,
                                               "se": pl.Float64})
    assert fresh["category"].str.strip_chars().to_list() == R["category"].to_list()
    np.testing.assert_allclose(fresh["estimate"].to_numpy(), R["estimate"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fresh["se"].to_numpy(), R["se"].to_numpy(), rtol=1e-12)
