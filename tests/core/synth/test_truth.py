"""The synthetic truth: effects of the declared size, county means by hand, absent pupils."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.synth import truth


def _schools(k=300, s=10):
    return pl.DataFrame({"school_code": [f"{i:05d}" for i in range(k * s)],
                         "county_code": [f"41{i // s:04d}" for i in range(k * s)]})


def test_effects_have_the_declared_spread_and_are_reproducible():
    e = truth.area_effects(_schools(), 5)
    assert e.equals(truth.area_effects(_schools(), 5))
    m = e.filter(pl.col("domain") == "数学")
    county = m.unique("county_code")["county_effect"]
    assert county.std() == pytest.approx(np.hypot(*truth.COUNTY_SD), rel=0.12)
    assert m["school_effect"].std() == pytest.approx(np.hypot(*truth.SCHOOL_SD), rel=0.08)
    moved = m.unique("county_code")["change"]
    assert (moved != 0).mean() == pytest.approx(truth.CHANGE_SHARE, abs=0.06)
    assert moved.abs().filter(moved != 0).min() >= truth.CHANGE_RANGE[0]


def test_true_county_means_by_hand():
    effects = pl.DataFrame({"school_code": ["a", "b"], "county_code": ["410101", "410101"], "domain": ["数学"] * 2,
                            "county_effect": [0.2, 0.2], "school_effect": [0.1, -0.3], "change": [0.25, 0.25]})
    pupils = pl.DataFrame({"student_id": ["1", "2", "3"], "school_code": ["a", "a", "b"], "sex": [1, 2, 1],
                           "location": ["城区", "城区", "乡村"]})
    base = truth.true_county_means(pupils, effects, {"数学": 0.15}, next_year=False)
    # boys get +0.05 in 数学, the rural pupil −0.2: (0.2+0.1+0.05) + (0.2+0.1) + (0.2−0.3+0.05−0.2) = 0.4 → /3
    assert base["true_theta"][0] == pytest.approx((0.35 + 0.30 - 0.25) / 3)
    nxt = truth.true_county_means(pupils, effects, {"数学": 0.15}, next_year=True)
    assert nxt["true_theta"][0] - base["true_theta"][0] == pytest.approx(0.15 + 0.25)


def test_absent_pupils_are_about_three_percent_and_stable():
    ids = pl.Series([f"G{i:09d}" for i in range(100_000)])
    a = truth.absent(ids, random_state=1)
    assert a.mean() == pytest.approx(truth.ABSENT_RATE, abs=0.003)
    assert (a == truth.absent(ids, random_state=1)).all()
    assert truth.refusing_schools(pl.Series(["x"]), random_state=1) == ["x"]  # at least one refusal


def test_exemplary_counties_are_lifted_balanced_resourced_and_meet_the_checklist():
    from junheng import indicators as ind
    from junheng.synth import checklist, province

    best = truth.exemplary_counties(_schools()["county_code"], 5)
    assert len(best) == round(truth.EXEMPLARY_SHARE * 300)
    e = truth.area_effects(_schools(), 5).filter(pl.col("domain") == "数学")
    ex = e.filter(pl.col("county_code").is_in(best))
    assert ex["county_effect"].min() >= truth.EXEMPLARY_LIFT
    assert ex["school_effect"].std() < 0.6 * e.filter(~pl.col("county_code").is_in(best))["school_effect"].std()
    prov = province(0.02, 7)
    codes = prov.regions["county_code"]
    best = truth.exemplary_counties(codes, 7)
    res = ind.county_resource_verdict(*(lambda u: (u, ind.county_cv(u)))(ind.school_indicators(prov.schools)))
    assert res.filter(pl.col("county_code").is_in(best))["resource_pass"].all()
    ck = checklist(codes, year=2022, random_state=7).filter(pl.col("county_code").is_in(best) & (pl.col("year") == 2022))
    assert ck.select(pl.all_horizontal(pl.col("^G.*$"), pl.col("^Q[1-8]$"))).to_series().all()
    assert (ck["recognition"] >= 0.9).all() and not ck.select(pl.any_horizontal(pl.col("^V.*$"))).to_series().any()
