"""The progress and result pages of a cycle (and their JSON): collection progress per county,
city and province; fitness and academic results of a region and its parts.  Each needs the
``dashboard.view`` action and shows only the user's area."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import require, restrict
from junheng_web.cycles import dashboards
from junheng_web.cycles.progress import MEASURES, cached_progress, roll_up, school_status
from junheng_web.registry.freshness import freshness
from junheng_web.registry.models import Cycle, Region
from junheng_web.registry.pages import dashboard_region, name_parts, scoped_cycle


def _progress(request: HttpRequest, pk: int) -> tuple[Cycle, list, list]:
    """(cycle, county rows, city and province rows) of the progress page or its JSON."""
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    counties = restrict(Region.objects.all(), request.user).filter(level=Region.Level.COUNTY)
    rows = cached_progress(cycle, counties)
    regions = {c.code: c for c in counties.select_related("parent")}
    return cycle, rows, roll_up(rows, regions)


@login_required
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    cycle, rows, totals = _progress(request, pk)
    return render(request, "cycles/progress.html", {"cycle": cycle, "rows": rows, "totals": totals})


@login_required
def school_status_page(request: HttpRequest, pk: int) -> HttpResponse:
    """本校数据报送情况: a school operator's own school — what is submitted, what is missing, the
    errors of a failed upload.  Users of a region (who upload for many schools) get the progress page."""
    require(request.user, "roster.upload")
    cycle = scoped_cycle(request, pk)
    if not request.user.school_id:
        return redirect("progress", pk=cycle.pk)
    status = school_status(cycle, request.user.school)
    for u in status["uploads"]:
        if u["failed"] and u["job"].issues:  # the rejected rows show 学籍号 and values of pupils
            audit(request, "view", f"upload errors, job {u['job'].pk}", rows=len(u["job"].issues),
                  region_code=request.user.school.county.code)
    return render(request, "cycles/school_status.html", {"cycle": cycle, "school": request.user.school, **status})


@login_required
def progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    cycle, rows, totals = _progress(request, pk)
    fields = ("code", "name", "level", *MEASURES)
    return JsonResponse({"counties": [{f: getattr(r, f) for f in fields} for r in rows],
                         "totals": [{f: getattr(r, f) for f in fields} for r in totals]})


def _fragment_ttl() -> int:
    """How long a page's rendered figures are kept (their key is the figures' version, so they are
    never stale): a day, or 0 — rendered on every request — with JUNHENG_DASHBOARD_FRESHNESS=0."""
    return 86400 if freshness() > 0 else 0


def _dashboard_data(request: HttpRequest, pk: int, code: str | None, compute=dashboards.fitness_dashboard):
    """(cycle, region, figures with named parts) of a dashboard page or its JSON."""
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    region = dashboard_region(request, code)
    return cycle, region, name_parts(compute(cycle, region), region)


@login_required
def dashboard(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    """Fitness results of the province, a city or a county and of its parts."""
    cycle, region, data = _dashboard_data(request, pk, code)
    return render(request, "cycles/dashboard.html", {"cycle": cycle, "region": region, "data": data,
                                                      "drill": data["part_key"] != "school_code",
                                                      "fragment_ttl": _fragment_ttl()})


@login_required
def dashboard_json(request: HttpRequest, pk: int, code: str | None = None) -> JsonResponse:
    cycle, region, data = _dashboard_data(request, pk, code)
    data.pop("version", None)
    return JsonResponse({"region": region.code if region else None, **data})


def _academic_data(request: HttpRequest, pk: int, code: str | None):
    return _dashboard_data(request, pk, code, dashboards.academic_dashboard)


@login_required
def academic(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    """Academic results (mean scale score, shares at 水平Ⅰ–Ⅳ) per subject of the province, a city or
    a county and of its parts, with standard errors."""
    cycle, region, data = _academic_data(request, pk, code)
    subjects = [r["subject"] for r in data["overall"]]
    parts = {s: [p for p in data["parts"] if p["subject"] == s] for s in subjects}
    return render(request, "cycles/academic.html", {
        "cycle": cycle, "region": region, "data": data, "drill": data["part_key"] != "school_code",
        "subjects": [{"overall": r, "parts": parts[r["subject"]]} for r in data["overall"]],
        "fragment_ttl": _fragment_ttl()})


@login_required
def academic_json(request: HttpRequest, pk: int, code: str | None = None) -> JsonResponse:
    cycle, region, data = _academic_data(request, pk, code)
    data.pop("version", None)
    return JsonResponse({"region": region.code if region else None, **data})
