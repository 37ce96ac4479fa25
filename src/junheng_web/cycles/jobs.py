"""The platform's job kinds: draw a sample, import a roster, import fitness results, import questionnaire data."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from pathlib import Path

from junheng.exceptions import InputError
from junheng_web.jobs.runner import kind


def _user(job):
    return job.created_by


@contextmanager
def _as_uploaded(job):
    """Report issues under the name the user uploaded, not the stored (uniquely prefixed) name."""
    stored, name = Path(job.params["path"]).name, job.params.get("name") or Path(job.params["path"]).name
    try:
        yield
    except InputError as exc:
        issues = [dataclasses.replace(i, file=name) if i.file == stored else i for i in exc.issues]
        renamed = InputError(issues, exc.summary.replace(stored, name))
        renamed.annotated_path = getattr(exc, "annotated_path", None)  # type: ignore[attr-defined]
        raise renamed from exc


@kind("sample")
def sample_job(job, progress) -> dict:
    from junheng_web.sampling.services import run_sample

    run = run_sample(job.cycle, job.params.get("sampling") or None, progress=progress)
    return {"run": run.pk, **{k: v for k, v in run.summary.items() if k in ("schools", "replacements", "pupils")}}


@kind("roster")
def roster_job(job, progress) -> dict:
    from junheng_web.cycles.services import import_roster

    progress(0.1, "检查名册 / checking the roster")
    path = Path(job.params["path"])
    with _as_uploaded(job):
        return import_roster(path, _user(job), file_name=job.params.get("name", path.name), progress=progress)


@kind("fitness")
def fitness_job(job, progress) -> dict:
    from junheng_web.cycles.services import import_fitness_file

    progress(0.1, "检查并评分 / checking and scoring")
    path = Path(job.params["path"])
    with _as_uploaded(job):
        return import_fitness_file(path, job.cycle, _user(job), file_name=job.params.get("name", path.name))


@kind("questionnaire")
def questionnaire_job(job, progress) -> dict:
    from junheng_web.questionnaires.models import Questionnaire
    from junheng_web.questionnaires.services import import_responses

    progress(0.05, "检查问卷数据 / checking the responses")
    path = Path(job.params["path"])
    questionnaire = Questionnaire.objects.get(pk=job.params["questionnaire"], cycle=job.cycle)
    with _as_uploaded(job):
        return import_responses(path, job.cycle, questionnaire, _user(job), file_name=job.params.get("name", path.name),
                                progress=progress)
