"""A job's page (polls) and its JSON status; the annotated workbook of a rejected upload."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from junheng.fitness import mask_personal
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, require, restrict
from junheng_web.jobs.models import Job
from junheng_web.jobs.runner import reap, settle
from junheng_web.tables import UNMASK_ACTION


def _job(request: HttpRequest, pk: int) -> Job:
    """The job, its lease checked first: a job whose worker died is shown as it now is (failed, or
    queued again), never as "running" for ever."""
    require(request.user, "job.view")
    job = get_object_or_404(restrict(Job.objects.all(), request.user, "job.view"), pk=pk)
    if job.status == Job.Status.RUNNING and reap(Job.objects.filter(pk=job.pk)):
        job.refresh_from_db()
    if job.status == Job.Status.RUNNING and job.children.exists():  # a fanned-out job: its parts' progress
        settle(job.pk)
        job.refresh_from_db()
    return job


# the pupil-id columns of uploads other than the fitness and roster files, masked as a 学籍号
ID_COLUMNS = {"person_id": "学籍号", "respondent_id": "学籍号"}


def _shown_issues(issues: list[dict], unmasked: bool) -> list[dict]:
    """The job's issues as the page shows them: a personal value (学籍号, name, birth date, address:
    the core's ``mask_personal`` rule, by the issue's column) masked unless ``unmasked``.  One
    ``mask_personal`` call a column, not one an issue: a rejected file lists every bad row."""
    if unmasked:
        return issues
    rows: dict[str, list[int]] = {}
    for n, i in enumerate(issues):
        column = str(i.get("column") or "").strip()
        if column and i.get("value") not in (None, ""):
            rows.setdefault(ID_COLUMNS.get(column, column), []).append(n)
    out = list(issues)
    for column, at in rows.items():
        masked = mask_personal(pl.DataFrame({column: [str(issues[n]["value"]) for n in at]})).to_series()
        for n, value in zip(at, masked, strict=True):
            out[n] = {**issues[n], "value": value}
    return out


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's page; a rejected upload's issues name pupils (a 学籍号, a name in the value column):
    shown whole to roles that may unmask pupils, masked to the others (a city user, a province
    analyst).  Audited either way."""
    job = _job(request, pk)
    if job.issues:  # the rejected rows show 学籍号 and values of pupils
        audit(request, "view", f"upload errors, job {job.pk}", rows=len(job.issues),
              region_code=job.county.code if job.county else "")
    children = job.children.order_by("id") if not job.parent_id else None
    unmasked = can(request.user, UNMASK_ACTION)
    return render(request, "jobs/detail.html", {"job": job, "children": children, "can_unmask": unmasked,
                                                "issues": _shown_issues(job.issues, unmasked)})


@login_required
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = _job(request, pk)
    return JsonResponse({"id": job.pk, "kind": job.kind, "status": job.status, "progress": job.progress,
                         "message": job.message, "status_label": str(job.get_status_display()),
                         "message_text": job.localized_message(), "finished": job.finished, "error": job.error,
                         "n_issues": len(job.issues)})


@login_required
def job_annotated(request: HttpRequest, pk: int) -> FileResponse:
    """The uploaded file with an 错误 column: every issue next to its row — every pupil's name and
    学籍号 as uploaded, unmasked: only to roles that may see pupils unmasked (``UNMASK_ACTION``, the
    roles that upload and check pupils in; a city user or a province analyst reaches the job's page,
    not the file).  Audited as an unmasked download."""
    require(request.user, UNMASK_ACTION)  # the role first (403), then the job in scope (404), as everywhere
    job = _job(request, pk)
    path = Path(job.annotated) if job.annotated else None
    roots = {Path(settings.MEDIA_ROOT).resolve(), Path(settings.JUNHENG_HOME).resolve()}
    if path is None or not path.is_file() or not roots & set(path.resolve().parents):
        raise Http404
    audit(request, "download-unmasked", f"annotated upload, job {job.pk}",
          region_code=job.county.code if job.county else "")
    stored = Path(job.params.get("path", "")).name
    name = path.name.replace(Path(stored).stem, Path(job.params.get("name", stored)).stem) if stored else path.name
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)
