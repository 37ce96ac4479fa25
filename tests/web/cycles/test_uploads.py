"""Upload pages: a rejected file lists every row error on the job page and as an annotated
workbook, writes nothing; the fixed file is stored; the progress moves; everything is audited."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from django.urls import reverse

from junheng.fitness import national_upload, write_table
from junheng.synth.fitness import fitness_results

pytestmark = pytest.mark.django_db


def fitness_file(tmp_path: Path, pupils, *, bad_rows: dict[int, tuple[str, str]] | None = None, name="体测.csv"):
    roster = pl.DataFrame({"student_id": [p.student_id for p in pupils], "name": [p.name for p in pupils],
                           "sex": [p.sex for p in pupils], "grade": [6] * len(pupils)})
    table = national_upload(fitness_results(roster, 7), mask=False).with_columns(pl.all().cast(pl.String))
    for i, (col, value) in (bad_rows or {}).items():
        table = table.with_columns(pl.when(pl.int_range(pl.len()) == i).then(pl.lit(value)).otherwise(pl.col(col))
                                   .alias(col))
    path = tmp_path / name
    write_table(table, path)
    return path


def _upload(client, world, path):
    with path.open("rb") as fh:
        return client.post(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": "fitness"}), {"file": fh})


def test_it_shows_every_row_error_then_accepts_the_fixed_file(client, world, tmp_path, eager_jobs):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.fitness.models import FitnessRecord

    client.force_login(world.users["dave"])
    bad = fitness_file(tmp_path, world.pupils["A"], bad_rows={1: ("性别", "男性"), 3: ("身高", "abc")})
    resp = _upload(client, world, bad)
    assert resp.status_code == 302
    page = client.get(resp["Location"])
    body = page.content.decode()
    assert page.context["job"].status == "failed"
    rows = {(i["row"], i["column"]) for i in page.context["job"].issues}
    assert (3, "性别") in rows and (5, "身高") in rows  # header is row 1: data row i is spreadsheet row i + 2
    assert "男性" in body and "abc" in body
    assert FitnessRecord.objects.count() == 0
    annotated = client.get(reverse("job_annotated", kwargs={"pk": page.context["job"].pk}))
    assert annotated.status_code == 200
    import io

    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(b"".join(annotated.streaming_content))).active
    values = list(ws.values)
    col = values[0].index("错误")
    assert sum(1 for r in values[1:] if r[col]) == 2

    good = fitness_file(tmp_path, world.pupils["A"], name="体测-改.csv")
    resp = _upload(client, world, good)
    job = client.get(resp["Location"]).context["job"]
    assert job.status == "done" and job.result["created"] == 6
    assert FitnessRecord.objects.filter(cycle=world.cycle).count() == 6
    actions = list(AuditLog.objects.filter(username="dave").values_list("action", flat=True))
    assert actions.count("upload") == 2 and "download-unmasked" in actions


def test_the_annotated_file_goes_only_to_roles_that_may_see_pupils_unmasked(client, world, tmp_path, eager_jobs):
    """The annotated workbook is the uploaded file — every pupil's name and 学籍号 — with an 错误 column.
    The city user and the province analyst reach the job's page (job.view) but may not unmask pupils
    anywhere: 403 for the file (they downloaded it); the school that uploaded it and its county get it."""
    client.force_login(world.users["dave"])
    resp = _upload(client, world, fitness_file(tmp_path, world.pupils["A"], bad_rows={1: ("性别", "男性")}))
    url = reverse("job_annotated", kwargs={"pk": int(resp["Location"].rstrip("/").split("/")[-1])})
    page = url.replace("annotated/", "")
    for who, status in (("frank", 403), ("anna", 403), ("dave", 200), ("bob", 200), ("alice", 200)):
        client.force_login(world.users[who])
        assert client.get(url).status_code == status, who
        assert (url in client.get(page).content.decode()) == (status == 200), who  # the link only where it works


def test_it_moves_the_county_progress(client, world, tmp_path, eager_jobs):
    client.force_login(world.users["bob"])
    url = reverse("progress_json", kwargs={"pk": world.cycle.pk})
    before = {r["code"]: r for r in client.get(url).json()["counties"]}["410102"]
    assert (before["pupils"], before["pupils_fitness"]) == (6, 0)
    client.force_login(world.users["dave"])
    _upload(client, world, fitness_file(tmp_path, world.pupils["A"][:4]))
    client.force_login(world.users["bob"])
    after = {r["code"]: r for r in client.get(url).json()["counties"]}["410102"]
    assert (after["pupils"], after["pupils_fitness"]) == (6, 4)


def test_it_refuses_rows_of_another_school_and_writes_nothing(client, world, tmp_path, eager_jobs):
    from junheng_web.fitness.models import FitnessRecord

    client.force_login(world.users["dave"])
    path = fitness_file(tmp_path, [*world.pupils["A"][:2], world.pupils["B"][0]])
    job = client.get(_upload(client, world, path)["Location"]).context["job"]
    assert job.status == "failed"
    assert [i["value"] for i in job.issues] == [world.pupils["B"][0].student_id]
    assert [(i["row"], i["column"]) for i in job.issues] == [(4, "学籍号")]  # third data row, header is row 1
    assert FitnessRecord.objects.count() == 0


def test_it_rejects_a_file_that_is_not_a_spreadsheet(client, world, tmp_path, eager_jobs):
    client.force_login(world.users["dave"])
    path = tmp_path / "x.exe"
    path.write_bytes(b"MZ")
    resp = _upload(client, world, path)
    assert resp.status_code == 200 and "只接受" in resp.content.decode()


def test_it_queues_the_job_when_not_eager(client, world, tmp_path, transactional_db):
    """(transactional: the worker, as in production, closes and reopens its database connection)"""
    from junheng_web.jobs.models import Job
    from junheng_web.jobs.runner import work

    client.force_login(world.users["dave"])
    resp = _upload(client, world, fitness_file(tmp_path, world.pupils["A"]))
    job = Job.objects.get(pk=int(resp["Location"].rstrip("/").split("/")[-1]))
    assert job.status == "queued"
    status = client.get(reverse("job_status", kwargs={"pk": job.pk})).json()
    assert status["finished"] is False
    assert work(once=True) == 2  # the upload, and the precomputation of the dashboards it queues
    status = client.get(reverse("job_status", kwargs={"pk": job.pk})).json()
    assert (status["status"], status["progress"], status["finished"]) == ("done", 100, True)


def test_it_keeps_same_named_uploads_of_two_schools_apart(client, world, tmp_path, eager_jobs):
    """Two schools upload a wrong 体测.csv: each sees only its own rows, under the name it uploaded."""
    jobs = {}
    for who, key in (("dave", "A"), ("erin", "B")):
        folder = tmp_path / who
        folder.mkdir()
        client.force_login(world.users[who])
        path = fitness_file(folder, world.pupils[key], bad_rows={0: ("性别", "男性")}, name="体测.csv")
        jobs[who] = client.get(_upload(client, world, path)["Location"]).context["job"]
    assert jobs["dave"].annotated != jobs["erin"].annotated
    for who, key in (("dave", "A"), ("erin", "B")):
        job = jobs[who]
        assert {i["file"] for i in job.issues} == {"体测.csv"}
        from openpyxl import load_workbook

        cells = {str(v) for row in load_workbook(job.annotated).active.values for v in row}
        assert world.pupils[key][0].student_id in cells
        assert world.pupils["B" if key == "A" else "A"][0].student_id not in cells
        client.force_login(world.users[who])
        resp = client.get(reverse("job_annotated", kwargs={"pk": job.pk}))
        assert "体测-errors.xlsx" in resp["Content-Disposition"] or "%E4%BD%93%E6%B5%8B-errors.xlsx" in resp[
            "Content-Disposition"]


def test_a_rejected_uploads_pupil_ids_are_masked_for_roles_that_may_not_unmask(client, world, tmp_path, eager_jobs):
    """The job page lists every bad row with its value: a wrong 学籍号 is a pupil's id.  The school that
    uploaded it and its county see it whole (to fix it); the city user and the province analyst, who
    may not unmask pupils anywhere, see it masked (they saw it whole)."""
    wrong = world.pupils["A"][1].student_id[:-1] + "Q"  # a real pupil's id with a bad check character
    client.force_login(world.users["dave"])
    resp = _upload(client, world, fitness_file(tmp_path, world.pupils["A"], bad_rows={1: ("学籍号", wrong)}))
    page = resp["Location"]
    for who, whole in (("frank", False), ("anna", False), ("dave", True), ("bob", True)):
        client.force_login(world.users[who])
        got = client.get(page)
        body = got.content.decode()
        assert any(i["column"] == "学籍号" for i in got.context["job"].issues), who
        masked = wrong[:7] + "**********" + wrong[-2:]  # the masking rule (docs: type, region and the last 2 kept)
        assert (wrong in body) == whole and (masked in body) == (not whole), who
