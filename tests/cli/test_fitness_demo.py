"""The fitness demo stage: synthetic results → national template → import → score → store → summary."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from junheng.registry.codes import check_char
from junheng.synth import truth
from junheng_cli.demo import DemoContext

pytestmark = pytest.mark.django_db


def test_demo_stage_imports_scores_and_summarises(tmp_path):
    from junheng_cli.demo.fitness import demo_stage
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.registry.models import Pupil, Region, School

    city = Region.objects.create(code="410100", level="city", name="郑州市")
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    school = School.objects.create(code="2141000001", name="测试小学", county=county, stage="小学", location="城区")
    rows = []
    for k in range(300):
        body = f"41010220100101{k:03d}"
        sid = "G" + body + check_char(body)
        Pupil.objects.create(student_id=sid, name=f"学生{k}", sex=1 + k % 2, birth_date=dt.date(2010, 1, 1),
                             school=school, grade=6)
        rows.append({"student_id": sid, "name": f"学生{k}", "sex": 1 + k % 2, "birth_date": dt.date(2010, 1, 1),
                     "ethnicity": "01", "school_code": "2141000001", "grade": 6, "class_code": "01",
                     "class_name": "一班", "county_code": "410102", "city_code": "410100", "base_weight": 10.0})
    pupils = tmp_path / "pupils.parquet"
    pl.DataFrame(rows).write_parquet(pupils)
    ctx = DemoContext(out=tmp_path, scale=0.01, seed=7, state={"sample": pupils})
    demo_stage(ctx)
    # the synthetic truth's absent pupils (about 3 %) have no record
    present = int((~truth.absent(pl.Series([r["student_id"] for r in rows]), 7)).sum())
    assert 280 <= present < 300
    assert FitnessRecord.objects.count() == present
    scored = pl.read_parquet(ctx.state["fitness_scored"])
    assert scored.height == present and scored["weight"].to_list() == [10.0] * present
    assert (tmp_path / "fitness" / "summary.xlsx").exists()
    assert scored["exempt"].sum() < 15


def test_demo_stage_scores_without_storing_when_the_registry_lacks_the_pupils(tmp_path):
    from junheng_cli.demo.fitness import demo_stage

    rows = []
    for k in range(50):
        body = f"41010220100101{k:03d}"
        rows.append({"student_id": "G" + body + check_char(body), "sex": 1 + k % 2, "county_code": "410102",
                     "city_code": "410100", "school_code": "2141000001"})
    sample = tmp_path / "sample.parquet"
    pl.DataFrame(rows).write_parquet(sample)
    ctx = DemoContext(out=tmp_path, scale=0.01, seed=3, state={"sample": sample})
    demo_stage(ctx)
    scored = pl.read_parquet(ctx.state["fitness_scored"])
    present = int((~truth.absent(pl.Series([r["student_id"] for r in rows]), 3)).sum())
    assert scored.height == present and set(scored["grade"].to_list()) == {6}
