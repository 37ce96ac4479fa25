"""The synthetic province: coverage, totals, identifiers, schools and rosters.

Oracles: the registry's division list read here with the csv module, GB 11643-1999's worked
example and its rules (parity of the sequence code, embedded birth date), the 学校标识码 rules
(学校类别码 + 41), and ``junheng.registry.codes.valid_student_ids`` (written independently).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from importlib.resources import files

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from junheng.exceptions import ParameterError
from junheng.registry.codes import valid_student_ids
from junheng.registry.schemas import LOCATIONS, PUPILS, SCHOOLS, STAGES
from junheng.synth import province
from junheng.synth.pupils import _digits_sum


def _county_codes() -> set[str]:
    text = (files("junheng.registry") / "data" / "divisions_henan.csv").read_text(encoding="utf-8")
    return {r["code"] for r in csv.DictReader(text.splitlines()) if r["level"] == "county"}


def test_same_seed_same_province_other_seed_other_province():
    a, b, c = province(0.01, random_state=5), province(0.01, random_state=5), province(0.01, random_state=6)
    assert_frame_equal(a.schools, b.schools)
    assert_frame_equal(a.pupils, b.pupils)
    assert_frame_equal(a.regions, b.regions)
    assert not a.pupils["student_id"].equals(c.pupils["student_id"])


def test_frames_carry_exactly_the_schema_fields(small):
    assert small.schools.columns == [c.field for c in SCHOOLS.columns]
    assert small.pupils.columns == [c.field for c in PUPILS.columns]
    assert small.pupils.schema["sex"] == pl.Int8 and small.pupils.schema["birth_date"] == pl.Date
    assert small.schools.schema["is_teaching_point"] == pl.Boolean


def test_every_county_is_present_with_grade6_pupils(small):
    expected = _county_codes()
    assert len(expected) == 157
    assert set(small.regions["county_code"]) == expected
    assert set(small.schools["county_code"]) == expected
    with_pupils = small.pupils.join(small.schools.select("school_code", "county_code"), on="school_code")
    assert set(with_pupils["county_code"]) == expected
    assert small.regions.filter(pl.col("county_code") == "419001").height == 1  # 济源 once


@pytest.mark.parametrize("fixture, scale, tol", [("small", 0.02, 0.10), ("tenth", 0.1, 0.05), ("full", 1.0, 0.03)])
def test_cohort_is_about_1_5_million_times_scale(request, fixture, scale, tol):
    prov = request.getfixturevalue(fixture)
    target = 1_500_000 * scale
    assert abs(prov.pupils.height - target) / target < tol
    # the roster is the grade-6 enrolment of the school list
    assert prov.pupils.height == prov.schools["enrol_g6"].sum()
    per_school = prov.pupils.group_by("school_code").len()
    g6 = prov.schools.filter(pl.col("enrol_g6") > 0).select("school_code", pl.col("enrol_g6").cast(pl.UInt32))
    assert per_school.join(g6, on="school_code").filter(pl.col("len") != pl.col("enrol_g6")).is_empty()
    assert per_school.height == g6.height


def test_full_scale_school_counts_are_plausible(full):
    s = full.schools
    assert 20_000 < s.height < 40_000
    assert s.filter(pl.col("stage") == "小学").height > 0.6 * s.height
    assert 2_000 < s.filter(pl.col("stage").is_in(["初中", "完全中学"])).height < 8_000


def test_county_sizes_are_skewed(full):
    per_county = full.pupils.join(full.schools.select("school_code", "county_code"), on="school_code") \
        .group_by("county_code").len()
    sizes = per_county["len"].to_numpy()
    assert sizes.max() > 2 * np.median(sizes) and sizes.min() < np.median(sizes) / 2
    size = dict(per_county.iter_rows())
    assert size["410105"] > size["410106"] * 3  # 金水区 vs 上街区
    assert size["411525"] > np.median(sizes) * 1.5  # 固始县


def test_student_ids_valid_unique_and_consistent(tenth):
    p = tenth.pupils
    sid = p["student_id"]
    assert valid_student_ids(sid).all()
    assert sid.n_unique() == p.height
    kinds = sid.str.slice(0, 1).value_counts(normalize=True)
    share = dict(zip(kinds["student_id"], kinds["proportion"]))
    assert 0.94 < share["G"] < 0.98 and 0.02 < share["J"] < 0.05 and 0 < share["L"] < 0.01
    gj = p.filter(pl.col("student_id").str.slice(0, 1).is_in(["G", "J"]))
    # GB 11643: the birth date is embedded; the sequence code's parity gives the sex (odd = male)
    assert (gj["student_id"].str.slice(7, 8) == gj["birth_date"].dt.strftime("%Y%m%d")).all()
    parity = gj["student_id"].str.slice(17, 1).cast(pl.Int64) % 2
    assert ((parity == 1) == (gj["sex"] == 1)).all()
    # J and L numbers carry the school's county; most G numbers too
    county = p.join(tenth.schools.select("school_code", "county_code"), on="school_code", how="left",
                    maintain_order="left")
    local = county["student_id"].str.slice(1, 6) == county["county_code"]
    assert local.filter(~county["student_id"].str.starts_with("G")).all()
    assert 0.80 < local.filter(county["student_id"].str.starts_with("G")).mean() < 0.92
    el = p.filter(pl.col("student_id").str.starts_with("L"))
    assert (el["student_id"].str.slice(7, 8) == el["birth_date"].dt.strftime("%Y%m%d")).all()


def test_check_digit_arithmetic_matches_the_standards_example():
    # GB 11643-1999's example 11010519491231002X: the 17-digit body must give the check 'X'
    from junheng.registry.codes import CHECK_CHARS, WEIGHTS
    s = (_digits_sum(np.array([110105]), 6, WEIGHTS[:6]) + _digits_sum(np.array([19491231]), 8, WEIGHTS[6:14])
         + _digits_sum(np.array([2]), 3, WEIGHTS[14:]))
    assert CHECK_CHARS[int(s[0]) % 11] == "X"


def test_pupil_attributes_are_plausible(tenth):
    p = tenth.pupils
    assert 0.50 < (p["sex"] == 1).mean() < 0.54
    in_window = p["birth_date"].is_between(pl.date(2010, 9, 1), pl.date(2011, 8, 31))
    assert 0.88 < in_window.mean() < 0.96
    assert p["birth_date"].min() >= pl.select(pl.date(2009, 9, 1)).item()
    eth = p["ethnicity"]
    assert 0.97 < (eth == "01").mean() < 0.995 and (eth == "03").sum() > 0
    names = p["name"]
    assert names.str.len_chars().is_between(2, 4).all()
    assert names.str.contains(r"^[\u4e00-\u9fff]+$").all()
    assert names.n_unique() > 0.3 * p.height
    assert (p["grade"] == 6).all()
    assert p["class_name"].str.contains(r"^六\(\d+\)班$").all()


def test_school_codes_follow_the_category_rules(tenth):
    s = tenth.schools
    codes = s["school_code"]
    assert codes.str.contains(r"^\d{10}$").all() and codes.n_unique() == s.height
    prefix = s.select(pl.col("stage"), pl.col("school_code").str.slice(0, 4).alias("p"))
    special = prefix.filter(pl.col("p") == "5141")
    assert special.height >= 1
    rest = prefix.filter(pl.col("p") != "5141")
    allowed = {"小学": {"2141"}, "初中": {"3141"}, "九年一贯制": {"3141"}, "完全中学": {"3441"}}
    assert all(p in allowed[st] for st, p in rest.iter_rows())


def test_stages_locations_and_grades(tenth):
    s = tenth.schools
    assert set(s["stage"]) <= set(STAGES) and set(s["location"]) <= set(LOCATIONS)
    assert set(s["stage"]) == set(STAGES) and set(s["location"]) == set(LOCATIONS)
    lower = pl.sum_horizontal([f"enrol_g{g}" for g in range(1, 7)])
    upper = pl.sum_horizontal([f"enrol_g{g}" for g in range(7, 10)])
    assert s.filter((pl.col("stage") == "小学") & (upper > 0)).is_empty()
    assert s.filter(pl.col("stage").is_in(["初中", "完全中学"]) & (lower > 0)).is_empty()
    nine = s.filter(pl.col("stage") == "九年一贯制")
    assert (nine.select(pl.all_horizontal([pl.col(f"enrol_g{g}") > 0 for g in (1, 6, 7, 9)])).to_series()).all()
    for g in range(1, 10):  # classes exist exactly where pupils do
        assert ((s[f"enrol_g{g}"] > 0) == (s[f"classes_g{g}"] > 0)).all()


def test_school_sizes_have_a_realistic_skew(tenth):
    s = tenth.schools.with_columns(pl.sum_horizontal([f"enrol_g{g}" for g in range(1, 10)]).alias("total"))
    urban = s.filter((pl.col("stage") == "小学") & (pl.col("location") == "城区"))
    assert urban.filter(pl.col("total").is_between(1000, 2800)).height > 0.5 * urban.height
    assert urban["classes_g6"].max() >= 8
    tp = s.filter(pl.col("is_teaching_point"))
    assert tp.height > 0 and (tp["location"] == "乡村").all()
    assert tp.filter(pl.col("total") < 50).height > 0.5 * tp.height
    rural = s.filter((pl.col("stage") == "小学") & (pl.col("location") == "乡村") & ~pl.col("is_teaching_point"))
    assert rural["total"].median() < 300


def test_class_sizes_mostly_at_most_45_some_oversized(tenth):
    s = tenth.schools
    g = s.filter(pl.col("enrol_g6") > 0).select((pl.col("enrol_g6") / pl.col("classes_g6")).alias("size"))["size"]
    assert (g <= 45).mean() > 0.85
    assert (g > 45).sum() > 0


def test_scale_and_seed_are_checked():
    with pytest.raises(ParameterError, match="scale"):
        province(scale=0)
    with pytest.raises(ParameterError, match="random_state"):
        province(scale=0.01, random_state=-1)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_seed_gives_valid_unique_ids_and_codes(seed):
    p = province(scale=0.005, random_state=seed)
    assert valid_student_ids(p.pupils["student_id"]).all()
    assert p.pupils["student_id"].n_unique() == p.pupils.height
    assert p.schools["school_code"].n_unique() == p.schools.height
    assert set(p.schools["county_code"]) == _county_codes()


def test_school_names_are_chinese_and_unique_within_a_county(full):
    s = full.schools
    assert s["name"].str.contains(r"^[\u4e00-\u9fff]+$").all()
    assert not s.select(pl.struct("county_code", "name").is_duplicated()).to_series().any()
    assert (s["name"].str.starts_with(s.join(full.regions, on="county_code", how="left", maintain_order="left")["county_name"])).all()


@pytest.mark.integration
def test_same_seed_same_province_in_another_process():
    code = ("from junheng.synth import province; p = province(0.01, random_state=3); "
            "print(p.schools.hash_rows().sum(), p.pupils.hash_rows().sum())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    p = province(0.01, random_state=3)
    assert other == [str(p.schools.hash_rows().sum()), str(p.pupils.hash_rows().sum())]
