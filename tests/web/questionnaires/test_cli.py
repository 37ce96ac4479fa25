"""``junheng questionnaire define`` / ``import`` (the same service as the upload page), the
summary page against ``junheng questionnaire scales`` on the same file, and the demo stage
storing its responses in the platform."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner
from django.urls import reverse

from junheng_cli.main import cli

pytestmark = pytest.mark.django_db


def _run(*args):
    return CliRunner().invoke(cli, ["questionnaire", *map(str, args)])


def _definition(tmp_path, qf):
    path = tmp_path / "学生问卷.json"
    path.write_text(json.dumps(qf.STUDENT, ensure_ascii=False), encoding="utf-8")
    return path


def test_define_and_import_store_all_or_nothing_and_idempotently(world, tmp_path, qf):
    from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse

    definition = _definition(tmp_path, qf)
    r = _run("define", "--year", 2022, definition)
    assert r.exit_code == 0 and "S2022" in r.output, r.output
    assert Questionnaire.objects.get(cycle=world.cycle).respondent == "student"
    assert "未变 / unchanged" in _run("define", "--year", 2022, "--grade", 6, definition).output
    assert _run("define", "--year", 2030, definition).exit_code == 2

    bad = qf.write_csv(tmp_path / "bad.csv", qf.STUDENT_HEADERS,
                       qf.answers(world.pupils["A"], overrides={0: {"Q02": "0"}, 2: {"Q04": "99"}}))
    r = _run("import", "--year", 2022, "--questionnaire", "S2022", bad)
    assert r.exit_code == 2 and "第2行" in r.output and "第4行" in r.output and "annotated workbook" in r.output
    assert QuestionnaireResponse.objects.count() == 0

    good = qf.write_csv(tmp_path / "good.csv", qf.STUDENT_HEADERS, qf.answers(world.pupils["A"] + world.pupils["B"]))
    r = _run("import", "--year", 2022, "--questionnaire", "S2022", good)
    assert r.exit_code == 0 and "created 12" in r.output, r.output
    r = _run("import", "--year", 2022, "--questionnaire", "S2022", good)
    assert "created 0" in r.output and "unchanged 12" in r.output
    assert _run("import", "--year", 2022, "--questionnaire", "NOPE", good).exit_code == 2


def test_the_summary_page_equals_junheng_questionnaire_scales(client, world, tmp_path, qf):
    definition = _definition(tmp_path, qf)
    path = qf.write_csv(tmp_path / "a.csv", qf.STUDENT_HEADERS,
                        qf.answers(world.pupils["A"], overrides={1: {"Q02": "9", "Q03": ""}, 3: {"Q04": ""}}))
    assert _run("define", "--year", 2022, definition).exit_code == 0
    assert _run("import", "--year", 2022, "--questionnaire", "S2022", path).exit_code == 0
    r = _run("scales", definition, path, "-o", tmp_path / "scales.csv")
    assert r.exit_code == 0, r.output
    scales = pl.read_csv(tmp_path / "scales.csv")
    client.force_login(world.users["bob"])
    data = client.get(reverse("questionnaire_summary_region", kwargs={"pk": world.cycle.pk, "code": "S2022",
                                                                      "region": "410102"})).context["data"]
    assert not data["weighted"]
    belong, sleep = data["overall"]
    assert belong["estimate"] == pytest.approx(scales["BELONG"].mean())  # pupil 1 has no score (1 valid answer)
    assert belong["n"] == scales["BELONG"].count() == 5
    assert sleep["estimate"] == pytest.approx(scales["SLEEP10"].cast(pl.Float64).mean())
    assert f"均值 mean {scales['BELONG'].mean():.2f}" in r.output


def test_the_demo_stage_stores_the_responses_in_the_platform(world, tmp_path):
    from junheng_cli.demo import DemoContext
    from junheng_cli.demo.questionnaire import demo_stage
    from junheng_web.questionnaires.models import QuestionnaireResponse

    pupils = pl.DataFrame({"student_id": [p.student_id for k in "AB" for p in world.pupils[k]],
                           "school_code": [p.school.code for k in "AB" for p in world.pupils[k]]})
    pupils.write_parquet(tmp_path / "sample.parquet")
    ctx = DemoContext(out=tmp_path / "out", scale=0.01, seed=3, state={"sample": tmp_path / "sample.parquet"})
    demo_stage(ctx)
    stored = pl.read_parquet(ctx.state["questionnaire_responses"])
    assert QuestionnaireResponse.objects.filter(cycle=world.cycle, questionnaire__code="S2022").count() == \
        stored.height > 0
    demo_stage(ctx)  # a rerun changes nothing
    assert QuestionnaireResponse.objects.count() == stored.height
