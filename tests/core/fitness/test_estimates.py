"""Fitness rates with replicate SEs (``junheng.fitness.fitness_estimates``) against a hand-worked
JK2 example: four pupils in two schools, two replicates."""

from __future__ import annotations

import math

import polars as pl
import pytest

from junheng.fitness import fitness_estimates
from junheng.survey import NO_RULE

PUPILS = pl.DataFrame({"student_id": ["a", "b", "c", "d"], "school_code": ["1", "1", "2", "2"],
                       "county_code": ["410102", "410102", "410103", "410103"], "city_code": ["410100"] * 4,
                       "sex": [1, 2, 1, 2]})
WEIGHTS = pl.DataFrame({"student_id": ["a", "b", "c", "d"], "weight": [1.0, 3.0, 2.0, 2.0],
                        "rep_1": [2.0, 6.0, 2.0, 2.0], "rep_2": [1.0, 3.0, 4.0, 0.0]})
SCORED = pl.DataFrame({"student_id": ["a", "b", "c", "d"], "rating": ["优秀", "不及格", "良好", "及格"],
                       "total_score": [92.0, 55.0, 84.0, 70.0]})


def _row(t: pl.DataFrame, level: str, statistic: str) -> dict:
    return t.filter((pl.col("level") == level) & (pl.col("statistic") == statistic)).row(0, named=True)


def test_columns_and_the_reporting_rule():
    t = fitness_estimates(SCORED, WEIGHTS, PUPILS)
    assert t.columns == ["level", "city_code", "county_code", "statistic", "estimate", "se", "n_pupils", "n_schools",
                         "flag"]
    assert t["flag"].is_not_null().all()  # four pupils: below every reporting minimum
    assert set(t["level"]) == {"province", "city", "county"}


def test_province_pass_rate_and_mean_by_hand():
    t = fitness_estimates(SCORED, WEIGHTS, PUPILS, rule=NO_RULE)  # four pupils: no minimum, nothing hidden
    # pass (优秀/良好/及格): a, c, d. Full sample (1 + 2 + 2) / 8; replicates (2 + 2 + 2) / 12 and (1 + 4 + 0) / 8
    p0, p1, p2 = 5 / 8, 6 / 12, 5 / 8
    r = _row(t, "province", "pass_rate")
    assert r["estimate"] == pytest.approx(p0)
    assert r["se"] == pytest.approx(math.sqrt((p1 - p0) ** 2 + (p2 - p0) ** 2))  # JK2: c = 1
    m0 = (92 * 1 + 55 * 3 + 84 * 2 + 70 * 2) / 8
    m1 = (92 * 2 + 55 * 6 + 84 * 2 + 70 * 2) / 12
    m2 = (92 * 1 + 55 * 3 + 84 * 4 + 70 * 0) / 8
    r = _row(t, "province", "total_score_mean")
    assert r["estimate"] == pytest.approx(m0)
    assert r["se"] == pytest.approx(math.sqrt((m1 - m0) ** 2 + (m2 - m0) ** 2))
    assert _row(t, "province", "excellent_rate")["estimate"] == pytest.approx(1 / 8)
