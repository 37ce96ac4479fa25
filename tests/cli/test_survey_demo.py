"""The sampling and weighting demo stages on a toy registry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng_cli.demo import DemoContext
from junheng_cli.demo.sample import sample_stage, weights_stage

TESTS = Path(__file__).resolve().parents[1]


def _toy():
    sys.path.insert(0, str(TESTS / "core" / "survey"))
    try:
        from conftest import toy_registry
    finally:
        sys.path.pop(0)
    return toy_registry()


@pytest.mark.django_db
def test_sample_then_weights_stage(tmp_path):
    schools, pupils = _toy()
    schools.write_parquet(tmp_path / "schools.parquet")
    pupils.write_parquet(tmp_path / "pupils.parquet")
    ctx = DemoContext(out=tmp_path / "out", scale=600 / 168_000, seed=3)
    ctx.state.update(schools=tmp_path / "schools.parquet", pupils=tmp_path / "pupils.parquet")
    sample_stage(ctx)
    sample = pl.read_parquet(ctx.state["sample"])
    # the target (600) plus the schools each county needs for the reporting minimum (issue 13.6)
    assert 400 < sample.height < 1500
    alloc = pl.read_csv(tmp_path / "out" / "sample" / "allocation.csv")
    assert {"county_code", "n_schools", "reportable", "reason"} <= set(alloc.columns)
    n = sample.group_by("county_code", "subject").len()
    ok = alloc.filter(pl.col("reportable"))["county_code"].cast(pl.String)
    assert n.filter(pl.col("county_code").cast(pl.String).is_in(ok.implode()))["len"].min() >= 66
    assert (ctx.out / "sample" / "sites").is_dir()
    # a stand-in for the fitness stage: ratings for 90 % of the sample
    rng = np.random.default_rng(1)
    keep = sample.filter(pl.Series(rng.random(sample.height) < 0.9))
    scored = keep.select("student_id").with_columns(
        pl.Series("rating", rng.choice(["优秀", "良好", "及格", "不及格"], keep.height)),
        pl.Series("total_score", rng.normal(75, 10, keep.height)))
    scored.write_parquet(tmp_path / "scored.parquet")
    ctx.state["fitness_scored"] = tmp_path / "scored.parquet"
    weights_stage(ctx)
    w = pl.read_parquet(ctx.state["replicates"])
    assert w.height == sample.height and "rep_80" in w.columns
    assert (w.filter(~pl.col("student_id").is_in(keep["student_id"].implode()))["weight"] == 0).all()
    # post-stratified: each county's weights add up to its grade enrolment in the frame
    frame = pl.read_parquet(ctx.state["sample_schools"]).group_by("county_code").agg(pl.col("mos").sum())
    per = sample.select("county_code").with_columns(w["weight"]).group_by("county_code").agg(pl.col("weight").sum())
    both = per.join(frame, on="county_code")
    np.testing.assert_allclose(both["weight"], both["mos"], rtol=1e-9)
    est = pl.read_csv(ctx.out / "sample" / "fitness_estimates.csv", encoding="utf8-lossy")
    prov = est.filter((pl.col("level") == "province") & (pl.col("statistic") == "pass_rate")).row(0, named=True)
    # the province pass rate is the weighted share of 优秀/良好/及格 among pupils with a rating
    both = scored.join(w.select("student_id", "weight"), on="student_id")
    expected = both.filter(pl.col("rating") != "不及格")["weight"].sum() / both["weight"].sum()
    assert prov["estimate"] == pytest.approx(expected, rel=1e-12)
    assert prov["se"] > 0 and prov["n_pupils"] == keep.height
