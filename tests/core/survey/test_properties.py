"""Properties every design must keep (hypothesis): invariances of the estimators and the selection."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from junheng.survey import NO_RULE, ReplicateDesign, TaylorDesign, mean, total
from junheng.survey.replicates import jk2_factors
from junheng.survey.selection import SampleParams, select_schools


def _data(seed: int, n_zones: int = 6) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(2 * n_zones), 5)
    w = rng.uniform(1, 9, school.size)
    reps = w[:, None] * jk2_factors(school // 2, school % 2, n_zones)
    df = pl.DataFrame({"school_code": school.astype(str), "stratum": (school // 2).astype(str), "w": w,
                       "y": rng.normal(50, 10, school.size), "g": rng.integers(0, 2, school.size)})
    return df.with_columns(pl.Series(f"rep_{r + 1}", reps[:, r]) for r in range(n_zones))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.floats(0.01, 1000))
def test_means_and_ses_do_not_depend_on_the_scale_of_the_weights(seed, c):
    df = _data(seed)
    scaled = df.with_columns(pl.col("w") * c, pl.col("^rep_.*$") * c)
    a = mean(ReplicateDesign(df, "w", "rep_*", rule=NO_RULE), "y", by="g")
    b = mean(ReplicateDesign(scaled, "w", "rep_*", rule=NO_RULE), "y", by="g")
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-10)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-8)
    ta = total(ReplicateDesign(df, "w", "rep_*", rule=NO_RULE), "y")
    tb = total(ReplicateDesign(scaled, "w", "rep_*", rule=NO_RULE), "y")
    np.testing.assert_allclose(tb["estimate"], c * ta["estimate"], rtol=1e-10)
    np.testing.assert_allclose(tb["se"], c * ta["se"], rtol=1e-8)
    tt = mean(TaylorDesign(df, "w", strata="stratum", rule=NO_RULE), "y")
    ts = mean(TaylorDesign(scaled, "w", strata="stratum", rule=NO_RULE), "y")
    np.testing.assert_allclose(tt["se"], ts["se"], rtol=1e-8)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-1e3, 1e3))
def test_shifting_the_variable_shifts_the_mean_and_keeps_its_se(seed, shift):
    df = _data(seed)
    d = ReplicateDesign(df, "w", "rep_*", rule=NO_RULE)
    a = mean(d, "y")
    b = mean(ReplicateDesign(df.with_columns(pl.col("y") + shift), "w", "rep_*", rule=NO_RULE), "y")
    np.testing.assert_allclose(b["estimate"], a["estimate"] + shift, rtol=1e-10)
    np.testing.assert_allclose(b["se"], a["se"], rtol=1e-6, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 500), min_size=2, max_size=25), n=st.integers(1, 30), seed=st.integers(0, 99))
def test_selection_draws_exactly_n_and_probabilities_sum_to_n(sizes, n, seed):
    frame = pl.DataFrame({"school_code": [f"{i:04d}" for i in range(len(sizes))], "county_code": ["1"] * len(sizes),
                          "location": ["城区"] * len(sizes), "mos": sizes})
    sel = select_schools(frame, SampleParams(schools=n, random_state=seed))
    k = min(n, len(sizes))
    assert int(sel["sampled"].sum()) == k
    assert abs(float(sel["pi"].sum()) - k) < 1e-9
    assert ((sel["pi"] > 0) & (sel["pi"] <= 1 + 1e-12)).all()
    assert sel.filter(pl.col("certainty"))["sampled"].all()
