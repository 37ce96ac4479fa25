"""A questionnaire import stores its responses with bulk SQL, not one ORM save per response: the
number of queries stays the same when the file grows tenfold (200 → 2,000 responses × 32 items),
where a per-row path needs thousands more; a re-import changes nothing; the region summary counts
every response.  Not timed (speed is for benchmarks): ``benchmarks/questionnaire.py`` times checking
and scoring 170,000 responses, and the demo's 问卷 stage stores a province's (docs/guide/questionnaire.md)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from junheng.registry.codes import check_char

pytestmark = pytest.mark.django_db
SIZES = (200, 2_000)


def _province(n: int, start: int):
    """``n`` grade-6 pupils (ids from ``start``) spread over 30 schools of one county."""
    from junheng_web.registry import importers
    from junheng_web.registry.models import Pupil, Region, School

    if not Region.objects.exists():
        prov = Region.objects.create(code="410000", level="province", name="河南省")
        city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
        county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
        School.objects.bulk_create([School(code=f"41010{k:05d}", name=f"学校{k}", county=county, stage="小学",
                                           location="城区") for k in range(30)])
    school_ids = list(School.objects.order_by("code").values_list("id", flat=True))
    bodies = [f"4101022011{k:07d}" for k in range(start, start + n)]
    pupils = pl.DataFrame({"student_id": ["G" + b + check_char(b) for b in bodies], "name": "学生", "sex": 1,
                           "birth_date": dt.date(2011, 1, 1), "ethnicity": "", "grade": 6,
                           "school_id": [school_ids[k % 30] for k in range(n)]})
    importers.stage(Pupil._meta.db_table, pupils)
    importers.upsert_staged(Pupil._meta.db_table, ("student_id",), pupils.columns)
    importers.drop_stage()
    return pupils


def test_responses_store_in_a_fixed_number_of_queries_and_reimport_changes_nothing(tmp_path):
    from junheng.synth.questionnaire import student_questionnaire, synth_responses
    from junheng_web.questionnaires.models import QuestionnaireResponse
    from junheng_web.questionnaires.services import define, import_responses, region_summary
    from junheng_web.registry.models import Cycle, School

    queries, total, start = [], 0, 0
    for n in SIZES:
        pupils = _province(n, start)
        start += n
        cycle = Cycle.objects.create(year=2022 + len(queries), grade=6, subjects=[])
        q, _ = define(cycle, student_questionnaire().to_json())
        codes = dict(School.objects.values_list("id", "code"))
        answers = synth_responses(pupils.select("student_id", pl.col("school_id").replace_strict(codes)
                                                .alias("school_code")), random_state=1, missing_code=9)
        path = tmp_path / f"responses{n}.csv"
        path.write_bytes(answers.rename({"respondent_id": "学籍号", "school_code": "学校标识码"}).write_csv()
                         .encode("gb18030"))
        with CaptureQueriesContext(connection) as ctx:
            first = import_responses(path, cycle, q, None, file_name=path.name)
        queries.append(len(ctx.captured_queries))
        assert first["created"] == answers.height > 0.9 * n
        again = import_responses(path, cycle, q, None, file_name=path.name)
        assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, answers.height)
        total += answers.height
        assert QuestionnaireResponse.objects.count() == total
        assert region_summary(cycle, q, None)["n"] == answers.height
    # ten times the responses, the same queries (a per-row save would add ≥ 1,800)
    assert queries[1] == queries[0] and queries[0] < 100, queries
