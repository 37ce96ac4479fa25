"""Issue 17.5: every problem of an uploaded file in one round, each on its own column with its row —
format errors, a school outside the uploader's county (on 学校标识码, not 学籍号), a 学籍号 registered
at another school, a pupil not in the registry or outside the uploader's area — from real files
(xlsx and GB18030 CSV) through the upload page and the job; the annotated workbook names the
file as uploaded, never the stored copy's name."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from junheng.fitness import national_upload
from junheng.registry.codes import check_char
from junheng.synth.fitness import fitness_results

pytestmark = pytest.mark.django_db

PUPIL_HEADERS = ["学籍号", "姓名", "性别", "出生日期", "民族", "学校标识码", "年级"]


def _sid(k: int, county="410102") -> str:
    body = f"{county}20110301{k:03d}"
    return "G" + body + check_char(body)


def _xlsx(headers, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "名册"
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _gb18030_csv(headers, rows) -> bytes:
    lines = [",".join(headers)] + [",".join(str(v) for v in r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("gb18030")


def _upload(client, world, kind, name, data):
    """POST the file on the upload page, run the job (eager), return the job."""
    resp = client.post(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": kind}),
                       {"file": SimpleUploadedFile(name, data)})
    assert resp.status_code == 302, resp.content[:500]
    page = client.get(resp["Location"])
    assert page.status_code == 200
    return page.context["job"]


def _roster_rows(world):
    b_school = world.schools["B"].code  # county B: outside bob's county
    theirs = world.pupils["B"][0].student_id  # registered at 乙小学 (county B)
    return [
        [_sid(900), "新生甲", "1", "2011-03-01", "01", "4101020001", "6"],  # row 2: clean
        [_sid(901)[:-1] + "0" if _sid(901)[-1] != "0" else _sid(901)[:-1] + "1", "新生乙", "1", "2011-03-01", "01",
         "4101020001", "6"],  # row 3: 学籍号 check character wrong
        [_sid(902), "新生丙", "男性", "2011-03-01", "01", "4101020001", "6"],  # row 4: 性别
        [_sid(903), "新生丁", "2", "2011-03-01", "01", b_school, "6"],  # row 5: school of county B
        [theirs, "新生戊", "1", "2011-03-01", "01", "4101020001", "6"],  # row 6: 学籍号 registered elsewhere
        [_sid(905), "新生己", "1", "2011-13-45", "01", "4101029999", "6"],  # row 7: date and unknown school
    ]


def _by_row_column(job) -> dict:
    out: dict = {}
    for i in job.issues:
        if i["severity"] == "error":
            out.setdefault((i["row"], i["column"]), []).append(i)
    return out


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_roster_reports_every_problem_in_one_round(client, world, eager_jobs, fmt):
    from junheng_web.registry.models import Pupil

    rows = _roster_rows(world)
    name, data = (("名册 2022.xlsx", _xlsx(PUPIL_HEADERS, rows)) if fmt == "xlsx"
                  else ("名册 2022.csv", _gb18030_csv(PUPIL_HEADERS, rows)))
    before = Pupil.objects.count()
    client.force_login(world.users["bob"])  # county A
    job = _upload(client, world, "roster", name, data)
    assert job.status == "failed"
    got = _by_row_column(job)
    assert set(got) == {(3, "学籍号"), (4, "性别"), (5, "学校标识码"), (6, "学籍号"), (7, "出生日期"), (7, "学校标识码")}
    assert "不在您的管辖范围内" in got[(5, "学校标识码")][0]["rule_zh"]
    assert "outside your area" in got[(5, "学校标识码")][0]["rule_en"]
    assert got[(5, "学校标识码")][0]["value"] == world.schools["B"].code
    assert "已在您的管辖范围以外的其他学校登记" in got[(6, "学籍号")][0]["rule_zh"]
    for issues in got.values():
        for i in issues:
            assert i["file"] == name and i["row"] and i["rule_zh"] and i["rule_en"]
            if fmt == "xlsx":
                assert i["sheet"] == "名册"
    assert Pupil.objects.count() == before  # nothing written
    _assert_annotation_names_the_upload(client, job, name)


def _assert_annotation_names_the_upload(client, job, name):
    """The annotated workbook's comments and issue list name the uploaded file, not the stored copy."""
    stored = Path(job.params["path"]).name
    resp = client.get(reverse("job_annotated", kwargs={"pk": job.pk}))
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(resp.streaming_content)))
    texts = [str(c.comment.text) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    texts += [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    blob = "\n".join(texts)
    assert name in blob
    assert stored not in blob and Path(stored).stem not in blob
    assert "uploads/" not in blob and "media" not in blob.lower()
    assert all(not ws.title.isascii() for ws in wb.worksheets), wb.sheetnames  # sheets named in Chinese


def _fitness_table(pupils) -> pl.DataFrame:
    roster = pl.DataFrame({"student_id": [p.student_id for p in pupils], "name": [p.name for p in pupils],
                           "sex": [p.sex for p in pupils], "grade": [6] * len(pupils)})
    return national_upload(fitness_results(roster, 3), mask=False).with_columns(pl.all().cast(pl.String))


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_fitness_file_reports_format_registry_and_scope_problems_in_one_round(client, world, eager_jobs, fmt):
    from junheng_web.fitness.models import FitnessRecord

    pupils = world.pupils["A"][:4] + [world.pupils["B"][0]]
    table = _fitness_table(pupils)
    rows = [["" if v is None else v for v in r] for r in table.iter_rows()]
    headers = table.columns
    sex, grade, sid = headers.index("性别"), headers.index("年级编号"), headers.index("学籍号")
    rows[1][sex] = "男性"  # row 3: 性别
    rows[2][grade] = "99"  # row 4: 年级编号
    rows[3][sid] = _sid(950)  # row 5: well formed, not in the registry
    # row 6: 乙小学's pupil (county B), outside dave's school
    name, data = (("体测 2022.xlsx", _xlsx(headers, rows)) if fmt == "xlsx"
                  else ("体测 2022.csv", _gb18030_csv(headers, rows)))
    client.force_login(world.users["dave"])
    job = _upload(client, world, "fitness", name, data)
    assert job.status == "failed"
    got = _by_row_column(job)
    assert set(got) == {(3, "性别"), (4, "年级编号"), (5, "学籍号"), (6, "学籍号")}
    assert "不在本系统名册中" in got[(5, "学籍号")][0]["rule_zh"]
    assert "不属于您的学校或区县" in got[(6, "学籍号")][0]["rule_zh"]
    assert all(i["file"] == name for issues in got.values() for i in issues)
    assert FitnessRecord.objects.count() == 0
    _assert_annotation_names_the_upload(client, job, name)


@pytest.mark.parametrize("kind", ["roster", "fitness", "questionnaire"])
def test_every_upload_page_offers_its_template(client, world, kind):
    from junheng_web.questionnaires.services import define

    q, _ = define(world.cycle, {"code": "S2022", "title": "学生问卷", "respondent": "student", "items": [
        {"id": "Q01", "text": "我喜欢我的学校", "type": "choice", "options": {"1": "不同意", "2": "同意"}}]})
    client.force_login(world.users["dave"])
    page = client.get(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": kind})).content.decode()
    link = reverse("upload_template", kwargs={"pk": world.cycle.pk, "kind": kind})
    assert f'href="{link}' in page
    resp = client.get(link, {"questionnaire": q.pk} if kind == "questionnaire" else {})
    assert resp.status_code == 200 and "filename*=UTF-8''" in resp["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.content))
    headers = [str(c.value) for row in wb.worksheets[0].iter_rows(max_row=2) for c in row if c.value is not None]
    expected = {"roster": "学校标识码", "fitness": "50米跑", "questionnaire": "Q01"}[kind]
    assert any(expected in h for h in headers), headers
    assert "学籍号" in headers or kind == "questionnaire"


def test_a_template_of_another_cycle_questionnaire_or_a_role_without_upload_is_refused(client, world):
    client.force_login(world.users["frank"])  # a city user uploads nothing
    assert client.get(reverse("upload_template", kwargs={"pk": world.cycle.pk, "kind": "roster"})).status_code == 403
    client.force_login(world.users["dave"])
    assert client.get(reverse("upload_template", kwargs={"pk": world.cycle.pk, "kind": "questionnaire"}),
                      {"questionnaire": "999"}).status_code == 404
    assert client.get(reverse("upload_template", kwargs={"pk": world.cycle.pk, "kind": "other"})).status_code == 404
