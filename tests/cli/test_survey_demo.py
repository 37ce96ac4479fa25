"""The sampling and weighting demo stages on a toy registry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng.fitness import fitness_estimates
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


def test_fitness_estimates_columns():
    pupils = pl.DataFrame({"student_id": ["a", "b"], "school_code": ["1", "2"], "county_code": ["410102"] * 2,
                           "city_code": ["410100"] * 2, "sex": [1, 2]})
    w = pl.DataFrame({"student_id": ["a", "b"], "weight": [1.0, 1.0], "rep_1": [2.0, 0.0], "rep_2": [0.0, 2.0]})
    scored = pl.DataFrame({"student_id": ["a", "b"], "rating": ["优秀", "不及格"], "total_score": [91.0, 50.0]})
    t = fitness_estimates(scored, w, pupils)
    assert t.columns == ["level", "city_code", "county_code", "statistic", "estimate", "se", "n_pupils", "n_schools",
                         "flag"]
    assert t["flag"].is_not_null().all()  # two pupils: below every reporting minimum


@pytest.mark.django_db
def test_refusing_schools_are_replaced_by_their_first_replacement(tmp_path):
    import datetime as dt

    from junheng_web.registry.models import Pupil, Region, School
    from junheng_web.sampling.models import SampledSchool
    from junheng_web.sampling.services import registry_schools

    rng = np.random.default_rng(5)
    city = Region.objects.create(code="410100", level="city", name="郑州市")
    rows, k = [], 0
    for c, cname in (("410102", "中原区"), ("410103", "二七区")):
        county = Region.objects.create(code=c, level="county", name=cname, parent=city)
        for j in range(14):
            k += 1
            size = int(rng.integers(20, 60))
            school = School.objects.create(code=f"2141{k:06d}", name=f"第{k}小学", county=county, stage="小学",
                                           location=["城区", "镇区", "乡村"][j % 3], enrol_g6=size)
            rows += [Pupil(student_id=f"G41{k:04d}{i:012d}", name=f"王小{i}", sex=1 + i % 2,
                           birth_date=dt.date(2013, 1, 1), school=school, grade=6) for i in range(size)]
    Pupil.objects.bulk_create(rows)
    schools = registry_schools(6).drop("school_pk").with_columns(pl.lit("410100").alias("city_code"))
    roster = pl.DataFrame(list(Pupil.objects.values_list("student_id", "sex", "school__code", "grade")),
                          schema=["student_id", "sex", "school_code", "grade"], orient="row")
    schools.write_parquet(tmp_path / "schools.parquet")
    roster.write_parquet(tmp_path / "pupils.parquet")
    ctx = DemoContext(out=tmp_path / "out", scale=300 / 168_000, seed=3)
    ctx.state.update(schools=tmp_path / "schools.parquet", pupils=tmp_path / "pupils.parquet")
    sample_stage(ctx)
    refused = list(SampledSchool.objects.filter(status=SampledSchool.Status.REFUSED)
                   .values_list("school__code", flat=True))
    replacing = list(SampledSchool.objects.filter(role__startswith="replacement",
                                                  status=SampledSchool.Status.PARTICIPATING)
                     .values_list("school__code", flat=True))
    assert len(refused) >= 1 and len(replacing) == len(refused)
    # the previous cycle (2021, the base year) has the same sample, refusals included
    from junheng_web.sampling.services import demo_cycle, pupil_sample

    base = pupil_sample(demo_cycle(2021))
    assert base.height == pupil_sample(demo_cycle(2022)).height and not base["school_code"].is_in(refused).any()
    # the files the later stages read follow the platform: the replacement's pupils, not the refuser's
    sample = pl.read_parquet(ctx.state["sample"])
    assert not sample["school_code"].is_in(refused).any() and sample["school_code"].is_in(replacing).any()
    sch = pl.read_parquet(ctx.state["sample_schools"])
    assert sch.filter(pl.col("school_code").is_in(replacing))["sampled"].all()
    assert not sch.filter(pl.col("school_code").is_in(refused))["sampled"].any()
    sample.select("student_id").with_columns(pl.lit("良好").alias("rating")).write_parquet(tmp_path / "scored.parquet")
    ctx.state["fitness_scored"] = tmp_path / "scored.parquet"
    weights_stage(ctx)  # the replacement's pupils are weighted like the others
    w = pl.read_parquet(ctx.state["replicates"])
    assert w.height == sample.height and (w["weight"] > 0).all()
