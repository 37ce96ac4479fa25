"""Resource indicators against the standard's worked example and hand-built counties."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import InputError, ParameterError
from junheng.indicators import (
    RESOURCE_INDICATORS,
    county_cv,
    county_resource_verdict,
    school_indicators,
    weighted_cv,
)

# standards (小学, 初中) per 100 pupils or per pupil, 教督〔2017〕6号 第九条
STD = {"R1": (4.2, 5.3), "R2": (1.0, 1.0), "R3": (0.9, 0.9), "R4": (4.5, 5.8), "R5": (7.5, 10.2),
       "R6": (2000.0, 2500.0), "R7": (2.3, 2.4)}
FIELD = {"R1": "teachers_above_qualification", "R2": "key_teachers", "R3": "pe_arts_teachers",
         "R4": "teaching_area_m2", "R5": "sports_area_m2", "R6": "equipment_value_yuan", "R7": "multimedia_classrooms"}


def test_worked_example_cv_is_052():
    # 生均图书册数 worked example: pupils 45/37/89/76/55, books 279/137/935/160/402 → CV 0.52
    pupils = np.array([45, 37, 89, 76, 55])
    books = np.array([279, 137, 935, 160, 402])
    cv = weighted_cv(books / pupils, pupils)
    assert round(cv, 2) == 0.52
    assert cv == pytest.approx(0.5153, abs=5e-5)
    # hand-worked intermediate figures of the example: X̄ = 6.33, S = 3.26
    x = books / pupils
    mean = books.sum() / pupils.sum()
    assert round(mean, 2) == 6.33
    assert round(float(np.sqrt(np.sum(pupils / pupils.sum() * (x - mean) ** 2))), 2) == 3.26
    # unweighted CV differs (0.4888): the weighting matters
    assert round(float(x.std() / x.mean()), 4) == 0.4888


def test_registry_has_the_seven_indicators_with_the_standards():
    assert [i.id for i in RESOURCE_INDICATORS] == list(STD)
    for ind in RESOURCE_INDICATORS:
        assert (ind.thresholds["小学"], ind.thresholds["初中"]) == STD[ind.id]


def school(code, county, stage, enrol_pri=0, enrol_jun=0, ratios=None, teaching_point=False):
    """A school whose indicator i is ratios[i] × its standard (per level, so pure 小学/初中)."""
    ratios = ratios or [1.0] * 7
    level = "小学" if enrol_pri else "初中"
    total = enrol_pri + enrol_jun
    row = {"school_code": code, "county_code": county, "stage": stage, "is_teaching_point": teaching_point}
    for g in range(1, 10):
        row[f"enrol_g{g}"] = (enrol_pri // 6 if g <= 6 else enrol_jun // 3)
    total = sum(row[f"enrol_g{g}"] for g in range(1, 10))
    for (rid, (sp, sj)), r in zip(STD.items(), ratios):
        std = sp if level == "小学" else sj
        per = 100.0 if rid in ("R1", "R2", "R3", "R7") else 1.0
        row[FIELD[rid]] = r * std * total / per
    return row


def frame(rows):
    return pl.DataFrame(rows)


def test_school_verdict_six_of_seven_and_85_percent_floor():
    rows = [
        school("A", "410101", "小学", 600, ratios=[1.2] * 7),                       # all met
        school("B", "410101", "小学", 600, ratios=[1.2] * 6 + [0.86]),              # 6 met, 7th ≥ 85 %
        school("C", "410101", "小学", 600, ratios=[1.2] * 6 + [0.84]),              # 7th < 85 %
        school("D", "410101", "小学", 600, ratios=[1.2] * 5 + [0.9, 0.9]),          # only 5 met
        school("E", "410101", "小学", 600, ratios=[1.0] * 6 + [0.85]),              # exactly on the lines
    ]
    out = school_indicators(frame(rows)).sort("school_code")
    assert out["n_met"].to_list() == [7, 6, 6, 5, 6]
    assert out["school_pass"].to_list() == [True, True, False, False, True]


def test_junior_standards_apply_to_junior_units_and_nine_year_schools_split():
    # a 九年一贯制 school: 600 小学 + 300 初中 pupils; with 小学-level resources its 初中部 fails R1
    row = school("N", "410101", "九年一贯制", 600, 300, ratios=[1.0] * 7)
    out = school_indicators(frame([row])).sort("level")
    assert out["level"].to_list() == ["初中", "小学"]
    assert out["enrolment"].to_list() == [300, 600]
    # per-pupil values are the school's, each part judged by its level's standard
    junior = out.filter(pl.col("level") == "初中")
    assert junior["R1"][0] == pytest.approx(out.filter(pl.col("level") == "小学")["R1"][0])
    assert not junior["R1_met"][0]  # 4.2 < 5.3
    assert junior["R2_met"][0]      # same standard at both levels


def test_exclusions_special_schools_and_small_teaching_points():
    rows = [
        school("5141000001", "410101", "小学", 600),            # special school (类别码 51)
        school("2141000002", "410101", "小学", 42, teaching_point=True),
        school("2141000003", "410101", "小学", 60, teaching_point=True),
        school("2141000004", "410101", "完全中学", 0, 300),
    ]
    out = school_indicators(frame(rows))
    assert sorted(out["school_code"].to_list()) == ["2141000003", "2141000004"]
    assert out.filter(pl.col("school_code") == "2141000004")["level"][0] == "初中"


def test_county_cv_matches_brute_force_and_verdict_limits():
    rng = np.random.default_rng(3)
    rows = []
    for i in range(6):
        rows.append(school(f"P{i}", "410101", "小学", int(rng.integers(100, 900)),
                           ratios=list(rng.uniform(1.0, 1.6, 7))))
    for i in range(4):
        rows.append(school(f"J{i}", "410101", "初中", 0, int(rng.integers(100, 900)),
                           ratios=list(rng.uniform(1.0, 1.6, 7))))
    units = school_indicators(frame(rows))
    cvs = county_cv(units)
    for level in ("小学", "初中"):
        u = units.filter(pl.col("level") == level)
        for rid in STD:
            want = weighted_cv(u[rid].to_numpy(), u["enrolment"].to_numpy())
            got = cvs.filter((pl.col("level") == level) & (pl.col("indicator") == rid))["cv"][0]
            assert got == pytest.approx(want, rel=1e-9)
    v = county_resource_verdict(units, cvs)
    assert v["resource_pass"][0] == bool((cvs["cv"] <= cvs["limit"]).all())


def _two_school_county(cv_target, level):
    """Two equal-size schools with values m(1 ± c): weighted CV = c exactly."""
    enrol = (600, 0) if level == "小学" else (0, 300)
    hi = [2.0 * (1 + cv_target)] * 7
    lo = [2.0 * (1 - cv_target)] * 7
    stage = level
    return [school("H", "410101", stage, *enrol, ratios=hi), school("L", "410101", stage, *enrol, ratios=lo)]


@pytest.mark.parametrize(("level", "cv", "ok"), [("小学", 0.49, True), ("小学", 0.50, True), ("小学", 0.51, False),
                                                 ("初中", 0.44, True), ("初中", 0.45, True), ("初中", 0.46, False)])
def test_county_cv_limit_050_primary_045_junior(level, cv, ok):
    units = school_indicators(frame(_two_school_county(cv, level)))
    cvs = county_cv(units)
    assert cvs["cv"].to_list() == pytest.approx([cv] * 7, abs=1e-6)
    v = county_resource_verdict(units, cvs)
    # exactly on the limit passes (≤); the schools themselves all meet ≥ 85 %
    assert v["cv_pass"][0] is (ok if cv != {"小学": 0.50, "初中": 0.45}[level] else True)


def test_bad_stage_reported_by_row():
    rows = [school("A", "410101", "小学", 600), school("B", "410101", "高中", 600)]
    with pytest.raises(InputError) as e:
        school_indicators(frame(rows))
    assert e.value.issues[0].row == 3


def test_weighted_cv_rejects_bad_input():
    with pytest.raises(ParameterError):
        weighted_cv([1.0], [-1.0])
