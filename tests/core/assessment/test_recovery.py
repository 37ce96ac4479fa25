"""The demo's chain at a small scale recovers the synthetic truth: a synthetic province with county
and school effects → the survey sample and its JK2 weights (absent pupils out) → two cycles of
responses (anchors, a drifted anchor, real changes) → the annual pipeline (drift check, fixed-anchor
link, PVs conditioned on county, sex, location and the school mean) → county means with replicate SEs,
against the population's true county means on the reporting scale."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.assessment import CALIBRATION, annual_scores, score_responses
from junheng.assessment.annual import year_estimates
from junheng.survey.frame import FrameRules
from junheng.survey.pipeline import draw_sample, final_weights
from junheng.survey.selection import SampleParams
from junheng.synth import province, truth
from junheng.synth.responses import MEAN_SHIFT, current_year, synth_tests

SEED = 31


@pytest.fixture(scope="module")
def chain():
    prov = province(0.1, SEED)
    # five cities' counties (about 50), so that most counties have several sampled schools, as at scale 1
    cities = prov.regions["city_code"].unique().sort().head(5)
    counties = prov.regions.filter(pl.col("city_code").is_in(cities.implode()))["county_code"]
    prov_schools = prov.schools.filter(pl.col("county_code").is_in(counties.implode()))
    prov_pupils = prov.pupils.join(prov_schools.select("school_code"), on="school_code")
    schools = prov_schools.join(prov.regions.select("county_code", "city_code"), on="county_code", how="left")
    sample = draw_sample(schools, prov_pupils, SampleParams(target_pupils=12000, pupils_per_school=40, random_state=SEED),
                         FrameRules(grade=6))
    pupils = sample.pupils.with_columns(pl.lit("数学").alias("subject"))  # one subject: every pupil tests 数学
    present = ~pl.Series(truth.absent(pupils["student_id"], SEED)).to_numpy()
    totals = (sample.schools.filter(pl.col("sampled")).group_by("county_code")
              .agg(pl.col("mos").sum().cast(pl.Float64).alias("total")))
    totals = (schools.group_by("county_code").agg(pl.col("enrol_g6").sum().cast(pl.Float64).alias("total"))
              .join(totals.select("county_code"), on="county_code"))
    weights = final_weights(pupils, sample.schools, present, method="jk2", replicates=80, margins=[totals], random_state=SEED)
    effects = truth.area_effects(prov_schools, SEED)
    test = synth_tests(SEED, subjects=("数学",))
    took = pupils.filter(pl.Series(present))
    asg, raw = current_year(took, test, SEED, effects=effects, integer_ids=True)
    base_asg, base_raw = current_year(took, test, SEED + 7, effects=effects, integer_ids=True, base=True)
    bg = lambda a: a.with_row_index("person_id").with_columns(pl.col("person_id").cast(pl.Int64)).select(  # noqa: E731
        "person_id", "student_id").join(took.select("student_id", "county_code", pl.col("sex").cast(pl.String),
                                                    "location", "school_code"), on="student_id", how="left")
    background, base_background = bg(asg), bg(base_asg)
    result = annual_scores(score_responses(raw, test.bank, treatment=CALIBRATION),
                           score_responses(base_raw, test.bank, treatment=CALIBRATION),
                           {"数学": test.params["item_id"].to_list()}, test.params.filter(pl.col("anchor"))["item_id"],
                           background=background.drop("student_id"), conditioning=["county_code", "sex", "location"],
                           school="school_code", base_background=base_background.drop("student_id"),
                           random_state=SEED)
    scores = result.scores.join(background.select("person_id", "student_id"), on="person_id")
    est = year_estimates(scores, pupils, weights).filter(pl.col("scope") == "county")  # the published ones
    population = prov_pupils.join(prov_schools.select("school_code", "location"), on="school_code")
    true = truth.on_reporting_scale(truth.true_county_means(population, effects, MEAN_SHIFT, next_year=True),
                                    result.scales, base_asg.select("subject", "theta_true"))
    j = est.rename({"unit": "county_code"}).join(true, on=["county_code", "subject"]).drop_nulls("estimate")
    return j, result


def test_county_means_recover_the_truth(chain):
    j, _ = chain
    assert j.height >= 30 and j["n_schools"].min() >= 5  # published: ≥ 62 pupils and ≥ 5 schools
    x, y, se = j["true_mean"].to_numpy(), j["estimate"].to_numpy(), j["se"].to_numpy()
    # at least 90 % of the ±2 SE intervals cover the truth
    assert np.mean(np.abs(y - x) <= 2 * se) >= 0.90
    # the slope of the published means on the true ones is 1 within its sampling error: with ~35
    # counties and 6–14 schools each its SE is ~0.05 (the 0.97–1.03 window needs the 157 counties of
    # the demo at scale 1; the conditioning model itself is held to 0.97–1.03 in
    # tests/core/irt/test_conditioning.py). PVs conditioned on sex and location only give ~0.6–0.8.
    (slope, _), cov = np.polyfit(x, y, 1, cov=True)
    assert np.sqrt(cov[0, 0]) < 0.07 and abs(slope - 1) < 2.5 * np.sqrt(cov[0, 0])


def test_the_drifted_anchor_is_dropped(chain):
    _, result = chain
    fit = result.fits[0]
    assert set(synth_tests(SEED, subjects=("数学",)).params.filter(pl.col("drift") > 0)["item_id"]) <= set(
        fit.anchors_dropped)
    assert fit.linking_error > 0
