"""Replicate weights (Hadamard, JK2, Fay) and weight adjustments, against hand-worked results."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ConvergenceError, EstimationError, ParameterError
from junheng.survey import NO_RULE, ReplicateDesign, total
from junheng.survey.pipeline import draw_sample, final_weights
from junheng.survey.replicates import fay_factors, hadamard, jk2_factors
from junheng.survey.selection import SampleParams
from junheng.survey.weights import adjust_nonresponse, poststratify, rake, trim


@pytest.mark.parametrize("order", [1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48, 60, 64, 72, 80, 84, 160])
def test_hadamard_is_orthogonal(order):
    h = hadamard(order).astype(int)
    assert set(np.unique(h)) <= {-1, 1}
    assert np.array_equal(h @ h.T, order * np.eye(order, dtype=int))


def test_hadamard_refuses_impossible_orders():
    with pytest.raises(ParameterError, match="Hadamard"):
        hadamard(6)


def _paired_sample(n_zones: int = 10, seed: int = 1):
    rng = np.random.default_rng(seed)
    zone = np.repeat(np.arange(n_zones), 8)
    member = np.tile(np.repeat([0, 1], 4), n_zones)
    w = rng.uniform(1, 5, zone.size)
    y = rng.normal(10, 3, zone.size)
    return zone, member, w, y


def _classic_variance_of_total(zone, member, w, y):
    """Two PSUs per stratum, with replacement: V(t) = Σ_h (t_h1 − t_h2)²  (Wolter 2007 §3.3)."""
    t = np.zeros((zone.max() + 1, 2))
    np.add.at(t, (zone, member), w * y)
    return float(np.sum((t[:, 0] - t[:, 1]) ** 2))


def _design(w, factors, y, method, k=0.5):
    reps = w[:, None] * factors
    df = pl.DataFrame({"w": w, "y": y}).with_columns(pl.Series(f"r{i}", reps[:, i]) for i in range(reps.shape[1]))
    return ReplicateDesign(df, "w", "r*", method=method, fay_k=k, school=None, rule=NO_RULE)


def test_jk2_variance_of_a_total_is_the_paired_formula():
    zone, member, w, y = _paired_sample()
    d = _design(w, jk2_factors(zone, member, 10), y, "jk2")
    se = total(d, "y")["se"][0]
    assert se**2 == pytest.approx(_classic_variance_of_total(zone, member, w, y), rel=1e-12)


@pytest.mark.parametrize("k", [0.0, 0.3, 0.5])
def test_fay_variance_of_a_total_is_the_paired_formula_under_full_balance(k):
    zone, member, w, y = _paired_sample()
    d = _design(w, fay_factors(zone, member, 12, k), y, "fay" if k else "brr", k)
    se = total(d, "y")["se"][0]
    assert se**2 == pytest.approx(_classic_variance_of_total(zone, member, w, y), rel=1e-12)


def test_replicates_keep_the_full_sample_total_in_expectation():
    zone, member, w, _ = _paired_sample()
    f = fay_factors(zone, member, 16, 0.5)
    assert np.allclose(f.mean(axis=1), 1.0)  # each unit's factors average 1 over a balanced set


def test_nonresponse_adjustment_by_hand():
    # cell A: weights 2, 3 (responded), 5 (not) → factor 10/5 = 2; cell B: 4 (resp), 4 (not) → 2
    w = np.array([2.0, 3.0, 5.0, 4.0, 4.0])
    resp = np.array([True, True, False, True, False])
    cells = np.array([0, 0, 0, 1, 1])
    np.testing.assert_allclose(adjust_nonresponse(w, resp, [cells]), [4.0, 6.0, 0.0, 8.0, 0.0])


def test_nonresponse_cells_without_respondents_collapse_to_the_coarser_cell():
    # school 0: girls cell has no respondent → the whole school is one cell: 10 / 4 = 2.5
    w = np.array([1.0, 3.0, 2.0, 4.0, 1.0, 1.0])
    resp = np.array([True, True, False, False, True, False])
    fine = np.array([0, 0, 1, 1, 2, 2])      # school × sex
    coarse = np.array([0, 0, 0, 0, 1, 1])    # school
    np.testing.assert_allclose(adjust_nonresponse(w, resp, [fine, coarse]), [2.5, 7.5, 0, 0, 2.0, 0])
    with pytest.raises(EstimationError):
        adjust_nonresponse(w, np.zeros(6, dtype=bool), [fine, coarse])


def test_trimming_caps_and_keeps_cell_totals():
    w = np.array([1.0, 1.0, 1.0, 1.0, 20.0])
    out = trim(w, cap=3.0)
    assert out.sum() == pytest.approx(w.sum())
    assert out[4] == pytest.approx(3.0)  # 3 × median (1)
    np.testing.assert_allclose(out[:4], 1.0 + 17.0 / 4)


def test_poststratification_and_raking_meet_their_totals():
    rng = np.random.default_rng(3)
    w = rng.uniform(1, 3, (200, 5))
    a = rng.integers(0, 2, 200)
    b = rng.integers(0, 3, 200)
    ps = poststratify(w, a, np.array([1000.0, 1500.0]))
    np.testing.assert_allclose([ps[a == 0].sum(axis=0), ps[a == 1].sum(axis=0)], [[1000.0] * 5, [1500.0] * 5])
    rk = rake(w, [(a, np.array([1000.0, 1500.0])), (b, np.array([800.0, 900.0, 800.0]))])
    for ids, tot in ((a, [1000, 1500]), (b, [800, 900, 800])):
        for c, t in enumerate(tot):
            np.testing.assert_allclose(rk[ids == c].sum(axis=0), t, rtol=1e-9)
    # a 2 × 2 table with a known raked solution: margins already met → unchanged
    w2 = np.array([1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(rake(w2, [(np.array([0, 0, 1, 1]), np.array([2.0, 2.0])),
                                         (np.array([0, 1, 0, 1]), np.array([2.0, 2.0]))]), w2)
    with pytest.raises(ConvergenceError):
        # incompatible margins (totals 10 vs 20) never converge
        rake(w2, [(np.array([0, 0, 1, 1]), np.array([5.0, 5.0])), (np.array([0, 1, 0, 1]), np.array([10.0, 10.0]))],
             max_iter=20)


def test_final_weights_keep_stratum_totals_and_zero_non_respondents(registry):
    schools, pupils = registry
    s = draw_sample(schools, pupils, SampleParams(schools=6, pupils_per_school=20, random_state=4))
    rng = np.random.default_rng(0)
    resp = rng.random(s.pupils.height) > 0.15
    for method in ("jk2", "fay"):
        w = final_weights(s.pupils, s.schools, resp, method=method, replicates=16)
        assert w.height == s.pupils.height
        assert [c for c in w.columns if c.startswith("rep_")] == [f"rep_{r}" for r in range(1, 17)]
        assert (w.filter(~pl.col("responded"))["weight"] == 0).all()
        # with all schools participating, school-level totals of base weights are kept exactly
        both = s.pupils.select("school_code", "base_weight").with_columns(w["weight"])
        per = both.group_by("school_code").agg(pl.col("base_weight").sum(), pl.col("weight").sum())
        np.testing.assert_allclose(per["weight"], per["base_weight"], rtol=1e-12)
        reps = w.select(pl.col("^rep_.*$")).to_numpy()
        assert (reps >= 0).all() and np.isfinite(reps).all()


def test_school_nonresponse_moves_weight_within_the_stratum(registry):
    schools, pupils = registry
    s = draw_sample(schools, pupils, SampleParams(schools=6, pupils_per_school=20, random_state=4))
    refusing = s.pupils["school_code"].unique().sort()[1]
    resp = (s.pupils["school_code"] != refusing).to_numpy()
    w = final_weights(s.pupils, s.schools, resp, replicates=16)
    per = s.pupils.select("stratum", "base_weight").with_columns(w["weight"]).group_by("stratum").agg(
        pl.col("base_weight").sum(), pl.col("weight").sum())
    np.testing.assert_allclose(per["weight"], per["base_weight"], rtol=1e-12)
    assert (w.filter(pl.col("school_code") == refusing)["weight"] == 0).all()


def test_final_weights_calibrate_to_known_totals(registry):
    schools, pupils = registry
    s = draw_sample(schools, pupils, SampleParams(schools=6, pupils_per_school=20, random_state=4))
    county = pl.DataFrame({"county_code": ["410102", "410103", "410104"], "total": [1700.0, 1600.0, 1900.0]})
    sex = pl.DataFrame({"sex": [1, 2], "total": [2700.0, 2500.0]})
    resp = np.random.default_rng(2).random(s.pupils.height) > 0.1
    w = final_weights(s.pupils, s.schools, resp, replicates=16, margins=[county])
    per = s.pupils.select("county_code").with_columns(w.select(pl.col("weight"), pl.col("rep_3")))
    got = per.group_by("county_code").agg(pl.col("weight").sum(), pl.col("rep_3").sum()).sort("county_code")
    np.testing.assert_allclose(got["weight"], county["total"], rtol=1e-12)
    np.testing.assert_allclose(got["rep_3"], county["total"], rtol=1e-12)  # every replicate calibrated too
    raked = final_weights(s.pupils, s.schools, resp, replicates=16, margins=[county, sex])
    both = s.pupils.select("sex").with_columns(raked["weight"]).group_by("sex").agg(pl.col("weight").sum()).sort("sex")
    np.testing.assert_allclose(both["weight"], sex["total"], rtol=1e-9)
    with pytest.raises(ParameterError, match="missing from the margin"):
        final_weights(s.pupils, s.schools, resp, replicates=16, margins=[county.head(2)])


def test_school_nonresponse_cells_can_be_finer_than_the_stratum(registry):
    schools, pupils = registry
    s = draw_sample(schools, pupils, SampleParams(schools=6, pupils_per_school=20, random_state=4))
    refusing = s.pupils["school_code"].unique().sort()[1]
    resp = (s.pupils["school_code"] != refusing).to_numpy()
    w = final_weights(s.pupils, s.schools, resp, replicates=16, school_cells=("stratum", "location"))
    cells = s.pupils.select("stratum", "location", "base_weight").with_columns(w["weight"])
    per = cells.group_by("stratum", "location").agg(pl.col("base_weight").sum(), pl.col("weight").sum())
    per_stratum = cells.group_by("stratum").agg(pl.col("base_weight").sum(), pl.col("weight").sum())
    # totals kept in every (stratum, location) cell that has a participating school, and in every stratum
    np.testing.assert_allclose(per_stratum["weight"], per_stratum["base_weight"], rtol=1e-12)
    ok = per.filter(pl.col("weight") > 0)
    assert ok.height >= per.height - 1
    with pytest.raises(ParameterError, match="school_cells"):
        final_weights(s.pupils, s.schools, resp, replicates=16, school_cells=("nope",))
