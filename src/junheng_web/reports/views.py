"""The written reports, served to whoever may read them (``services.report_file`` decides)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest

from junheng_web.reports.services import report_file

_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


@login_required
def annual(request: HttpRequest, fmt: str) -> FileResponse:
    path = report_file(request.user, settings.REPORTS_DIR, "annual", None, fmt)
    return FileResponse(open(path, "rb"), content_type=_TYPES[fmt])


@login_required
def county(request: HttpRequest, code: str, fmt: str) -> FileResponse:
    path = report_file(request.user, settings.REPORTS_DIR, "county", code, fmt)
    return FileResponse(open(path, "rb"), content_type=_TYPES[fmt])
