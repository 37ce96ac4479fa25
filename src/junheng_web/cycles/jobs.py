"""The platform's job kinds: draw a sample, import a roster, import fitness results."""

from __future__ import annotations

from pathlib import Path

from junheng_web.jobs.runner import kind


def _user(job):
    return job.created_by


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
    return import_roster(path, _user(job), file_name=job.params.get("name", path.name))


@kind("fitness")
def fitness_job(job, progress) -> dict:
    from junheng_web.cycles.services import import_fitness_file

    progress(0.1, "检查并评分 / checking and scoring")
    path = Path(job.params["path"])
    return import_fitness_file(path, job.cycle, _user(job), file_name=job.params.get("name", path.name))
