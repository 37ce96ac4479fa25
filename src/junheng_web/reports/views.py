"""The written reports, served to whoever may read them (``services.report_file`` decides), the
报告 page listing them (``services.reports_for``), and the operator's county boundary file (``maps``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from junheng.exceptions import InputError
from junheng.registry import MAX_BOUNDARY_BYTES
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, require, restrict
from junheng_web.registry.models import Cycle
from junheng_web.reports.maps import boundaries_path, store_boundaries
from junheng_web.reports.services import county_reports, report_file, reports_for, school_sheets
from junheng_web.reports.tables import (
    CountyReportFilter,
    CountyReportTable,
    SchoolSheetFilter,
    SchoolSheetTable,
)
from junheng_web.tables import list_page

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
    cycles = restrict(Cycle.objects.all(), request.user).order_by("-year", "-grade") if can(request.user, "dashboard.view") \
        else Cycle.objects.none()
    return render(request, "reports/list.html", {**reports_for(request.user, settings.REPORTS_DIR), "cycles": cycles,
                                                 "shown": SHOWN})


SHOWN = 10  # rows of each list on the 报告 page; the rest on its list page


# the 报告 page's two lists: the rows (a service of the page's rules), the table, its filter, title, export name
_LISTS = {"counties": (county_reports, CountyReportTable, CountyReportFilter, gettext_lazy("县级报告"), "county-reports"),
          "schools": (school_sheets, SchoolSheetTable, SchoolSheetFilter, gettext_lazy("学校简表"), "school-sheets")}


@login_required
def report_rows(request: HttpRequest, kind: str) -> HttpResponse:
    """县级报告 (``services.county_reports``) or 学校简表 (``services.school_sheets``) as a list."""
    require(request.user, "view")
    rows_of, table, filterset, title, export = _LISTS[kind]
    rows, written = rows_of(request.user, settings.REPORTS_DIR)
    return list_page(request, table, rows, filterset=filterset, title=title, export=export,
                     crumbs=[(_("报告"), reverse("report_list"))], table_kwargs={"formats": written})


@login_required
def map_boundaries(request: HttpRequest) -> HttpResponse:
    """The operator's boundary file (GeoJSON) for the choropleth maps; an empty FeatureCollection
    while none is stored (the maps then draw the county dots)."""
    require(request.user, "dashboard.view")
    path = boundaries_path()
    if not path.is_file():
        return HttpResponse('{"type":"FeatureCollection","features":[]}', content_type="application/geo+json")
    return FileResponse(open(path, "rb"), content_type="application/geo+json")


@login_required
def map_upload(request: HttpRequest) -> HttpResponse:
    """Upload an approved county boundary file (province administrators): checked, then stored."""
    require(request.user, "map.upload")
    errors = None
    if request.method == "POST":
        f = request.FILES.get("file")
        if f is None:
            errors = [_("请选择文件。")]
        elif f.size > MAX_BOUNDARY_BYTES:
            errors = [_("文件超过 %(n)d MB。") % {"n": MAX_BOUNDARY_BYTES // 1024 // 1024}]
        else:
            try:
                n = store_boundaries(f.read(), f.name)
            except InputError as e:
                errors = [f"{i.location_zh()}：{i.rule_zh}" + (f"（{i.value}）" if i.value is not None else "")
                          for i in e.issues] or [str(e)]
            else:
                audit(request, "upload", f"county boundary file {f.name}", rows=n)
                messages.success(request, _("边界文件已保存，共 %(n)d 个县。") % {"n": n})
                return redirect("map_upload")
    return render(request, "reports/map_upload.html", {"errors": errors, "stored": boundaries_path().is_file()})
