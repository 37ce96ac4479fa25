"""The hostile-input corpus (issue 12) through the upload page, the roster and fitness jobs: every
file is refused on the job page with a located bilingual message (never a 500 or 内部错误) or
imported exactly like its clean twin, and a refused file writes nothing."""

from __future__ import annotations

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from junheng.fitness import national_upload
from junheng.synth.fitness import fitness_results

pytestmark = pytest.mark.django_db

PUPIL_HEADERS = ["学籍号", "姓名", "性别", "出生日期", "民族", "学校标识码", "年级", "班级编号", "班级名称"]


def _post(client, world, kind, name, data):
    return client.post(reverse("upload", kwargs={"pk": world.cycle.pk, "kind": kind}),
                       {"file": SimpleUploadedFile(name, data)})


def _run_corpus(client, world, kind, folder, cases, count):
    """Upload every case; return {name: job} for the accepted uploads. Refusals are checked here."""
    from junheng_web.jobs.models import Job

    done = {}
    for case in cases:
        before = count()
        jobs_before = Job.objects.count()
        resp = _post(client, world, kind, case.name, case.path(folder).read_bytes())
        assert resp.status_code in (200, 302), (case.name, resp.status_code)
        if resp.status_code == 200:  # the form refused it (type, empty file): no job, nothing written
            assert resp.context["form"].errors and Job.objects.count() == jobs_before, case.name
            assert count() == before, case.name
            continue
        page = client.get(resp["Location"])
        assert page.status_code == 200, case.name
        job = page.context["job"]
        assert "内部错误" not in (job.error or "") and "traceback" not in (job.result or {}), (case.name, job.error)
        if case.expect == "refuse":
            assert job.status == "failed", (case.name, job.status, job.result)
            assert job.issues, case.name
            first = job.issues[0]
            assert first["file"] == case.name.replace("\n", " ") or first["file"] == case.name, (case.name, first)
            assert case.rule in " ".join(i["message"] for i in job.issues), (case.name, job.issues[:2])
            assert count() == before, case.name  # nothing written
        else:
            assert job.status == "done", (case.name, job.error, job.issues[:3])
            done[case.name] = job
    return done


@pytest.fixture
def roster_rows(world):
    from junheng.registry.codes import check_char

    rows = []
    for k in range(6):
        body = f"41010220110301{100 + k:03d}"
        rows.append(["G" + body + check_char(body), f"新生{k}", str(1 + k % 2), "2011-03-01", "01",
                     world.schools["A"].code, "6", "601", "六(1)班"])
    return rows


def test_roster_uploads(client, world, tmp_path, eager_jobs, hostile, roster_rows):
    from junheng_web.registry.models import Pupil

    cases = hostile.build(tmp_path, PUPIL_HEADERS, roster_rows)
    client.force_login(world.users["dave"])
    done = _run_corpus(client, world, "roster", tmp_path, cases, Pupil.objects.count)
    assert Pupil.objects.count() == 12 + 6
    assert {c.name for c in cases if c.expect == "accept" and c.name.endswith((".xlsx", ".csv"))} == set(done)
    clean = {p.student_id: (p.name, p.sex, p.birth_date, p.school_class.code)
             for p in Pupil.objects.filter(student_id__in=[r[0] for r in roster_rows]).select_related("school_class")}
    assert len(clean) == 6 and clean[roster_rows[1][0]][0] == "新生1"
    formula = Pupil.objects.get(student_id=roster_rows[0][0])
    assert formula.name in ("新生0", roster_rows[0][1]) or formula.name.startswith("=HYPERLINK(")


def test_fitness_uploads(client, world, tmp_path, eager_jobs, hostile):
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.fitness.services import fitness_frame

    pupils = world.pupils["A"]
    roster = pl.DataFrame({"student_id": [p.student_id for p in pupils], "name": [p.name for p in pupils],
                           "sex": [p.sex for p in pupils], "grade": [6] * len(pupils)})
    table = national_upload(fitness_results(roster, 7), mask=False).with_columns(pl.all().cast(pl.String))
    headers = table.columns
    rows = [["" if v is None else v for v in r] for r in table.iter_rows()]
    cases = hostile.build(tmp_path, headers, rows, formula_column=headers.index("姓名"))
    client.force_login(world.users["dave"])
    reference = None
    for case in cases:
        done = _run_corpus(client, world, "fitness", tmp_path, [case], FitnessRecord.objects.count)
        if done:  # every accepted file stores exactly what the clean one stored
            frame = fitness_frame(world.cycle).sort("student_id")
            reference = frame if reference is None else reference
            assert frame.equals(reference), case.name
    assert FitnessRecord.objects.count() == 6


@pytest.mark.parametrize("name", ["../../../etc/passwd.csv", "..\\..\\windows\\win.ini.csv", "名" * 120 + ".csv",
                                  "a" * 250 + ".csv", "<script>alert(1)</script>.csv"])
def test_absurd_upload_names_are_stored_safely(client, world, tmp_path, eager_jobs, hostile, roster_rows, name,
                                               settings):
    from pathlib import Path

    cases = hostile.build(tmp_path, PUPIL_HEADERS, roster_rows)
    data = next(c for c in cases if c.name == "utf8-bom.csv").path(tmp_path).read_bytes()
    client.force_login(world.users["dave"])
    resp = _post(client, world, "roster", name, data)
    assert resp.status_code == 302
    job = client.get(resp["Location"]).context["job"]
    assert job.status == "done", (job.error, job.issues[:2])
    stored = Path(job.params["path"]).resolve()
    uploads = (Path(settings.MEDIA_ROOT) / "uploads").resolve()
    assert uploads in stored.parents and len(stored.name.encode()) <= 255

