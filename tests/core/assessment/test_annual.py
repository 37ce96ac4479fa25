"""The annual academic pipeline on a simulated year with known truth: fixed-anchor linking puts this
year's latent mean where it was generated (a shift of +0.5 SD against the base year), the reporting
scale has mean 500 / SD 100 in the base year so this year's pupils average about 550, and levels
follow the cut scores."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.assessment import CALIBRATION, annual_scores, score_responses
from junheng.exceptions import ParameterError
from junheng.synth.responses import base_year, current_year, synth_tests

SHIFT = 0.5


@pytest.fixture(scope="module")
def year():
    test = synth_tests(11, subjects=("数学",))
    rng = np.random.default_rng(3)
    n = 3000
    pupils = pl.DataFrame({"student_id": [f"s{i}" for i in range(n)],
                           "school_code": rng.integers(0, 60, n).astype(str)})
    asg, raw = current_year(pupils, test, random_state=5, mean_shift={"数学": SHIFT}, integer_ids=True)
    asg = asg.with_row_index("person_id").with_columns(pl.col("person_id").cast(pl.Int64))
    _, base_raw = base_year(test, 3000, random_state=6, integer_ids=True)
    scored = score_responses(raw, test.bank, treatment=CALIBRATION)
    base_scored = score_responses(base_raw, test.bank, treatment=CALIBRATION)
    subjects = {"数学": test.params["item_id"].to_list()}
    anchors = test.params.filter(pl.col("anchor"))["item_id"].to_list()
    background = asg.select("person_id", pl.Series("sex", rng.integers(1, 3, asg.height)).cast(pl.String))
    fits = []
    result = annual_scores(scored, base_scored, subjects, anchors, background=background, conditioning=["sex"],
                           random_state=1, on_subject=fits.append)
    return result, fits, asg, (scored, base_scored, subjects, anchors)


def test_anchored_calibration_recovers_the_generated_shift(year):
    result, fits, asg, _ = year
    assert [f.subject for f in fits] == ["数学"] == [f.subject for f in result.fits]
    fit = fits[0]
    assert fit.converged and fit.base_converged
    # the latent mean of this year on the base scale: generated +0.5 (sample mean of theta_true)
    assert abs(fit.latent_mean - asg["theta_true"].mean()) < 0.1
    assert abs(fit.latent_sd - asg["theta_true"].std()) < 0.1


def test_scores_are_on_the_reporting_scale_and_levelled_by_the_cuts(year):
    result, _, asg, _ = year
    s = result.scores
    assert s.columns == ["person_id", "subject", "theta_eap", "theta_se", *[f"pv{k}" for k in range(1, 6)],
                         *[f"level_pv{k}" for k in range(1, 6)], "scale_score", "level"]
    assert s.height == asg.height and s["level"].dtype == pl.Int8
    # base year: mean 500, SD 100; this year +0.5 SD → about 550 (PV means are unbiased for the population)
    assert abs(s["pv1"].mean() - (500 + 100 * asg["theta_true"].mean())) < 12
    scale = result.scales["数学"]
    assert scale["mean"] == 500.0 and scale["sd"] == 100.0
    expected = np.digitize(s["scale_score"].to_numpy(), [400.0, 500.0, 600.0]) + 1
    assert (s["level"].to_numpy() == expected).all()
    assert (s["level_pv3"].to_numpy() == np.digitize(s["pv3"].to_numpy(), [400.0, 500.0, 600.0]) + 1).all()
    items = result.items
    assert set(items["subject"]) == {"数学"} and items.filter(pl.col("anchor")).height == 15


def test_the_planted_drifted_anchor_is_dropped_and_the_linking_error_kept(year):
    result, fits, _, _ = year
    test = synth_tests(11, subjects=("数学",))
    planted = test.params.filter(pl.col("drift") > 0)["item_id"].to_list()
    assert len(planted) == 1 and fits[0].anchors_dropped == tuple(planted)
    assert len(fits[0].anchors_retained) == 15 and planted[0] not in fits[0].anchors_retained
    assert result.drift["数学"].filter(pl.col("drift"))["item_id"].to_list() == planted
    # the SE of the mean anchor shift on the reporting scale: a few points, not zero
    assert 0.5 < result.linking_errors()["数学"] < 8


def test_missing_conditioning_columns_are_refused(year):
    result, _, _, (scored, base_scored, subjects, anchors) = year
    background = result.scores.select("person_id").with_columns(pl.lit("1").alias("sex"))
    with pytest.raises(ParameterError, match="conditioning"):
        annual_scores(scored, base_scored, subjects, anchors, background=background, conditioning=["location"])
    with pytest.raises(ParameterError, match="conditioning"):
        annual_scores(scored, base_scored, subjects, anchors, conditioning=["sex"])


def test_trend_by_hand():
    from junheng.assessment import trend

    cur = pl.DataFrame({"scope": ["county", "county"], "unit": ["410102", "410103"], "subject": ["数学", "语文"],
                        "estimate": [520.0, 505.0], "se": [6.0, 4.0], "df": [30.0, 12.0]})
    prev = cur.with_columns(pl.Series("estimate", [500.0, 503.0]), pl.Series("se", [8.0, 3.0]),
                            pl.Series("df", [28.0, 40.0]))
    t = trend(cur, prev, {"数学": 3.0, "语文": 2.0})
    # 数学: Δ = 20, SE = √(36 + 64 + 9) = 10.44, t = 1.916 < t(28; .975) = 2.048 → not significant
    r = t.row(0, named=True)
    assert r["difference"] == 20 and r["se_difference"] == pytest.approx(np.sqrt(109))
    assert r["df"] == 28 and not r["significant"]
    # the linking error is what makes it not significant: without it t = 2.0 … still < 2.048; with df = ∞
    # and no linking error it would be (20/10 = 2.0 > 1.96)
    no_le = trend(cur.drop("df"), prev.drop("df"), {})
    assert no_le.row(0, named=True)["significant"]
    assert t.row(1, named=True)["se_difference"] == pytest.approx(np.sqrt(16 + 9 + 4))
