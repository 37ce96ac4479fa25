"""The written reports, served to whoever may read them (``services.report_file`` decides), and the
报告 page listing them (``services.reports_for``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render

from junheng_web.accounts.scoping import require
from junheng_web.reports.services import report_file, reports_for

_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@login_required
def annual(request: HttpRequest, fmt: str) -> FileResponse:
    path = report_file(request.user, settings.REPORTS_DIR, "annual", None, fmt)
    return FileResponse(open(path, "rb"), content_type=_TYPES[fmt])


@login_required
def county(request: HttpRequest, code: str, fmt: str) -> FileResponse:
    path = report_file(request.user, settings.REPORTS_DIR, "county", code, fmt)
    return FileResponse(open(path, "rb"), content_type=_TYPES[fmt])


@login_required
def school(request: HttpRequest, code: str, fmt: str) -> FileResponse:
    path = report_file(request.user, settings.REPORTS_DIR, "school", code, fmt)
    return FileResponse(open(path, "rb"), content_type=_TYPES[fmt])


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """报告: the reports the user may read, per role."""
    require(request.user, "view")
    return render(request, "reports/list.html", reports_for(request.user, settings.REPORTS_DIR))
