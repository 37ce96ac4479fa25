"""整改建议: the unmet requirements found from hand-made indicator frames, each with its rule."""

from __future__ import annotations

import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.indicators import RESOURCE_INDICATORS, advice, recommendations, unmet_requirements

IDS = [i.id for i in RESOURCE_INDICATORS]


def _units(rows):
    """rows: (county, school, pass, [unmet indicator ids])."""
    data = []
    for county, school, ok, miss in rows:
        data.append({"county_code": county, "school_code": school, "school_pass": ok,
                     **{f"{i}_met": i not in miss for i in IDS}})
    return pl.DataFrame(data)


def _cv(rows):
    return pl.DataFrame(rows, schema={"county_code": pl.String, "level": pl.String, "indicator": pl.String,
                                      "cv": pl.Float64, "limit": pl.Float64, "cv_ok": pl.Boolean}, orient="row")


def test_it_lists_the_standards_missed_by_failing_schools_only_and_the_cvs_over_their_limit():
    units = _units([("A", "1", False, ["R4", "R7"]), ("A", "2", True, ["R1"]), ("A", "3", False, ["R4"]),
                    ("B", "4", True, [])])
    cvs = _cv([("A", "小学", "R4", 0.61, 0.5, False), ("A", "小学", "R1", 0.2, 0.5, True),
               ("B", "初中", "R5", 0.30, 0.45, True)])
    q = pl.DataFrame({"county_code": ["A", "B", "B"], "subject": ["语文", "语文", "数学"],
                      "level_verdict": ["未达到", "达到", "达到"], "diff_verdict": ["达到", "达到", "无法判定"],
                      "quality_verdict": ["未达到", "达到", "无法判定"]})
    out = unmet_requirements(units, cvs, q)
    a = out.filter(pl.col("county_code") == "A")
    assert a["id"].to_list() == ["R4", "R7", "CV", "Q9_level"]  # R1 is missed only by a passing school
    assert a.filter(pl.col("id") == "R4")["detail"][0].startswith("2 所")
    assert "0.61" in a.filter(pl.col("id") == "CV")["detail"][0] and "限值 0.5" in a.filter(pl.col("id") == "CV")["detail"][0]
    assert out.filter(pl.col("county_code") == "B")["id"].to_list() == ["Q9_undecided"]


def test_checklist_items_recognition_and_vetoes_and_a_county_without_monitoring():
    units = _units([("A", "1", True, [])])
    cl = pl.DataFrame({"county_code": ["A"], **{f"G{i}": [i != 5] for i in range(1, 16)},
                       **{f"Q{i}": [True] for i in range(1, 9)}, "recognition": [0.84],
                       **{f"V{i}": [i == 3] for i in range(1, 7)}})
    out = unmet_requirements(units, _cv([]), None, cl)
    assert out["id"].to_list() == ["Q9_missing", "G5", "RECOGNITION", "V3"]
    assert "84.0" in out.filter(pl.col("id") == "RECOGNITION")["detail"][0]


def test_every_requirement_id_has_a_recommendation_and_an_unknown_one_is_an_error():
    table = recommendations()
    ids = set(table["id"])
    assert set(IDS) <= ids and {"CV", "Q9_level", "Q9_spread", "Q9_undecided", "Q9_missing", "RECOGNITION",
                                 "RECOGNITION_missing"} <= ids
    assert {f"G{i}" for i in range(1, 16)} <= ids and {f"V{i}" for i in range(1, 7)} <= ids
    assert table["recommendation"].str.len_chars().min() > 20
    out = advice(pl.DataFrame({"county_code": ["A"], "id": ["R4"], "detail": ["x"]}))
    assert "改扩建" in out["recommendation"][0]
    with pytest.raises(ParameterError):
        advice(pl.DataFrame({"county_code": ["A"], "id": ["R9"], "detail": ["x"]}))
