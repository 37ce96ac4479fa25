"""The upload page's job kinds: import a roster, fitness results, questionnaire responses."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from pathlib import Path

from junheng.exceptions import InputError
from junheng_web.cycles.dashboards import warm
from junheng_web.cycles.uploads import import_fitness_file, import_roster
from junheng_web.jobs.runner import enqueue, kind
from junheng_web.questionnaires.models import Questionnaire
from junheng_web.questionnaires.services import import_responses
from junheng_web.registry.regions import as_region


@contextmanager
def _as_uploaded(path: Path, name: str):
    """Report issues under the name the user uploaded, not the stored (uniquely prefixed) name."""
    stored = path.name
    try:
        yield
    except InputError as exc:
        issues = [dataclasses.replace(i, file=name) if i.file == stored else i for i in exc.issues]
        renamed = InputError(issues, exc.summary.replace(stored, name), annotated_path=exc.annotated_path)
        raise renamed from exc


def _upload(job) -> tuple[Path, str]:
    """The stored file of an upload job and the name the user gave it."""
    path = Path(job.params["path"])
    return path, job.params.get("name") or path.name


@kind("roster", idempotent=True)  # imports upsert by natural key: safe to run again
def roster_job(job, progress) -> dict:
    progress(0.1, "检查名册 / checking the roster")
    path, name = _upload(job)
    with _as_uploaded(path, name):
        return import_roster(path, job.created_by, file_name=name, progress=progress)


@kind("fitness", idempotent=True)
def fitness_job(job, progress) -> dict:
    progress(0.1, "检查并评分 / checking and scoring")
    path, name = _upload(job)
    with _as_uploaded(path, name):
        result = import_fitness_file(path, job.cycle, job.created_by, file_name=name)
    county = job.county or (job.school.county if job.school_id else None)
    chain = [None, *([county.parent.code] if county and county.parent_id else []), *([county.code] if county else [])]
    enqueue("dashboards", cycle=job.cycle, county=county, params={"regions": chain})  # the new figures, ready
    return result


@kind("dashboards", idempotent=True)
def dashboards_job(job, progress) -> dict:
    """Precompute a cycle's result pages (``params["regions"]``: codes, None for the province;
    absent: every region) into the shared cache, after an import changed them."""
    codes = job.params.get("regions")
    regions = None if codes is None else [as_region(c) if c else None for c in codes]
    return {"pages": warm(job.cycle, regions, progress)}


@kind("questionnaire", idempotent=True)
def questionnaire_job(job, progress) -> dict:
    progress(0.05, "检查问卷数据 / checking the responses")
    path, name = _upload(job)
    questionnaire = Questionnaire.objects.get(pk=job.params["questionnaire"], cycle=job.cycle)
    with _as_uploaded(path, name):
        return import_responses(path, job.cycle, questionnaire, job.created_by, file_name=name, progress=progress)


@kind("forensics", idempotent=True)  # replaces the session's open forensic flags: running it again is safe
def forensics_job(job, progress) -> dict:
    """Response forensics of one session from the platform's data (answers, their times, the
    seating plan) into the video reviewers' queue (``cycles.forensics``)."""
    from junheng_web.cycles.forensics import session_forensics
    from junheng_web.testsites.models import TestSession

    progress(0.05, "收集作答与座位 / gathering answers and seats")
    return session_forensics(TestSession.objects.select_related("site__cycle").get(pk=job.params["session"]))
