"""A province's student questionnaires (170,000 responses × 32 items) store in well under a
minute, and a re-import changes nothing — bulk SQL, not one ORM save per response.  Slow: run
with ``pytest -m slow tests/web/questionnaires/test_scale.py``."""

from __future__ import annotations

import datetime as dt
import time

import polars as pl
import pytest

from junheng.registry.codes import check_char

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
N = 170_000


def test_170000_responses_store_in_well_under_a_minute(tmp_path):
    from junheng.synth.questionnaire import student_questionnaire, synth_responses
    from junheng_web.questionnaires.models import QuestionnaireResponse
    from junheng_web.questionnaires.services import define, import_responses, region_summary
    from junheng_web.registry import importers
    from junheng_web.registry.models import Cycle, Pupil, Region, School

    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    School.objects.bulk_create([School(code=f"41010{k:05d}", name=f"学校{k}", county=county, stage="小学",
                                       location="城区") for k in range(1000)])
    school_ids = list(School.objects.order_by("code").values_list("id", flat=True))
    bodies = [f"4101022011{k:07d}" for k in range(N)]
    pupils = pl.DataFrame({"student_id": ["G" + b + check_char(b) for b in bodies], "name": "学生", "sex": 1,
                           "birth_date": dt.date(2011, 1, 1), "ethnicity": "", "grade": 6,
                           "school_id": [school_ids[k % 1000] for k in range(N)]})
    importers.stage(Pupil._meta.db_table, pupils)
    importers.upsert_staged(Pupil._meta.db_table, ("student_id",), pupils.columns)
    importers.drop_stage()
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=[])
    q, _ = define(cycle, student_questionnaire().to_json())
    codes = dict(School.objects.values_list("id", "code"))
    answers = synth_responses(pupils.select("student_id", pl.col("school_id").replace_strict(codes).alias("school_code")),
                              random_state=1, missing_code=9)
    path = tmp_path / "responses.csv"
    path.write_bytes(answers.rename({"respondent_id": "学籍号", "school_code": "学校标识码"}).write_csv()
                     .encode("gb18030"))

    t = time.perf_counter()
    first = import_responses(path, cycle, q, None, file_name=path.name)
    took = time.perf_counter() - t
    print(f"\n{answers.height} responses stored in {took:.1f} s")
    assert first["created"] == answers.height > 160_000 and took < 60
    t = time.perf_counter()
    again = import_responses(path, cycle, q, None, file_name=path.name)
    print(f"re-import (unchanged) in {time.perf_counter() - t:.1f} s")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, answers.height)
    assert QuestionnaireResponse.objects.count() == answers.height
    t = time.perf_counter()
    summary = region_summary(cycle, q, None)
    print(f"province summary in {time.perf_counter() - t:.1f} s")
    assert summary["n"] == answers.height
