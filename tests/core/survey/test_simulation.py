"""The whole chain against brute force: over many independent samples of one population, the
replicate variance estimates match the actual sampling variance of the estimate.

One call draws 120 independent samples at once — the population is copied 120 times, each copy
its own stratum — so the check stays fast."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.survey import NO_RULE, ReplicateDesign, mean
from junheng.survey.pipeline import draw_sample, final_weights
from junheng.survey.selection import SampleParams

COPIES = 120


def _population(seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame, float]:
    rng = np.random.default_rng(seed)
    n_schools = 200
    size = rng.integers(30, 90, n_schools)
    effect = rng.normal(0, 25, n_schools)
    sch = np.repeat(np.arange(n_schools), size)
    y = 500 + effect[sch] + rng.normal(0, 60, sch.size)
    schools = pl.DataFrame({"s": np.arange(n_schools), "enrol_g6": size,
                            "location": rng.choice(["城区", "镇区", "乡村"], n_schools)})
    pupils = pl.DataFrame({"s": sch, "i": np.arange(sch.size), "y": y, "sex": rng.integers(1, 3, sch.size)})
    return schools, pupils, float(y.mean())


def _copies() -> tuple[pl.DataFrame, pl.DataFrame, float]:
    schools, pupils, truth = _population()
    c = pl.DataFrame({"copy": np.arange(COPIES)})
    s = schools.join(c, how="cross").with_columns(
        (pl.lit("21") + pl.col("copy").cast(pl.String).str.zfill(4) + pl.col("s").cast(pl.String).str.zfill(4))
        .alias("school_code"),
        (pl.lit("41") + pl.col("copy").cast(pl.String).str.zfill(4)).alias("county_code"))
    p = pupils.join(c, how="cross").with_columns(
        (pl.lit("21") + pl.col("copy").cast(pl.String).str.zfill(4) + pl.col("s").cast(pl.String).str.zfill(4))
        .alias("school_code"),
        (pl.lit("G") + pl.col("copy").cast(pl.String).str.zfill(4) + pl.col("i").cast(pl.String).str.zfill(8))
        .alias("student_id"),
        pl.lit(6).alias("grade"))
    return s, p, truth


@pytest.fixture(scope="module")
def samples():
    schools, pupils, truth = _copies()
    smp = draw_sample(schools, pupils, SampleParams(schools=10, pupils_per_school=15, random_state=8))
    data = smp.pupils.join(pupils.select("student_id", "y"), on="student_id")
    return smp, data, truth


@pytest.mark.parametrize("method", ["jk2", "fay"])
def test_replicate_variance_matches_the_sampling_variance(samples, method):
    smp, data, truth = samples
    w = final_weights(smp.pupils, smp.schools, method=method, replicates=80, random_state=3)
    d = ReplicateDesign(data.select("student_id", "county_code", "school_code", "y").join(w.drop("school_code"),
                                                                                          on="student_id"),
                        "weight", "rep_*", method=method, rule=NO_RULE)
    r = mean(d, "y", by="county_code")  # one estimate per independent sample
    est = r["estimate"].to_numpy()
    assert r.height == COPIES
    empirical = est.var(ddof=1)
    estimated = float(np.mean(r["se"].to_numpy() ** 2))
    ratio = estimated / empirical
    # sampling variance known to ±13 % (120 samples).  A brute-force run of this design (3,000
    # samples drawn school by school in plain NumPy) gives 81.7 for systematic PPS and 78.9 for
    # PPS with replacement, which the replicate methods estimate: the ratio should be near 1.
    assert 0.75 < ratio < 1.45, ratio
    # and the estimator is unbiased for the population mean (Hájek ratio: bias negligible here)
    assert abs(est.mean() - truth) < 3 * np.sqrt(empirical / COPIES)
