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


def test_true_between_shares_by_hand():
    """Two schools of two pupils in 数学 (boys +0.05): μ = 0.35, 0.30 in school a and −0.05, −0.10
    in b.  School means 0.325 and −0.075, county mean 0.125: σ_b² = 0.2² = 0.04; within the
    schools (μ − m)² = 0.025² each, so σ_w² = 0.000625 + RESIDUAL_SD²; share = σ_b² / (σ_b² + σ_w²).
    The pooled row (全部) is the mean over the subjects (here the one subject)."""
    effects = pl.DataFrame({"school_code": ["a", "b"], "county_code": ["410101"] * 2, "domain": ["数学"] * 2,
                            "county_effect": [0.2, 0.2], "school_effect": [0.1, -0.3], "change": [0.0, 0.0]})
    pupils = pl.DataFrame({"student_id": ["1", "2", "3", "4"], "school_code": ["a", "a", "b", "b"],
                           "sex": [1, 2, 1, 2], "location": ["城区"] * 4})
    got = truth.true_between_shares(pupils, effects, {}, next_year=False)
    assert got["subject"].to_list() == ["全部", "数学"]
    sw = 0.025**2 + truth.RESIDUAL_SD**2
    for r in got.iter_rows(named=True):
        assert r["sigma2_between"] == pytest.approx(0.04)
        assert r["sigma2_within"] == pytest.approx(sw)
        assert r["true_between_share"] == pytest.approx(0.04 / (0.04 + sw))
        assert r["schools"] == 2 and r["pupils"] == 4


def test_exemplary_counties_have_small_between_school_shares():
    """The exemplary counties' population between-school share (pooled over the subjects) is far
    below the 0.15 threshold, the others' spread around it (issue 13.10: counties that genuinely
    meet the rule)."""
    schools = _schools(k=200, s=12)
    effects = truth.area_effects(schools, 3)
    rng = np.random.default_rng(0)
    pupils = schools.select("school_code").join(pl.DataFrame({"_i": np.arange(20)}), how="cross").with_columns(
        student_id=pl.concat_str("school_code", pl.col("_i").cast(pl.String)),
        sex=pl.Series(rng.integers(1, 3, schools.height * 20)), location=pl.lit("城区")).drop("_i")
    everything = truth.true_between_shares(pupils, effects, {}, next_year=True)
    # the same to the last digit whatever the order of the pupils (a file others compare)
    assert truth.true_between_shares(pupils.sample(fraction=1.0, shuffle=True, seed=1), effects, {},
                                     next_year=True).equals(everything)
    shares = everything.filter(pl.col("subject") == "全部")
    best = truth.exemplary_counties(schools["county_code"], 3)
    ex = shares.filter(pl.col("county_code").is_in(best))["true_between_share"]
    rest = shares.filter(~pl.col("county_code").is_in(best))["true_between_share"]
    assert ex.len() == len(best) and ex.max() < 0.05
    assert 0.08 < rest.median() < 0.16 and rest.quantile(0.9) > 0.15
