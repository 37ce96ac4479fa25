"""The progress and result pages of a cycle (and their JSON): collection progress per county,
city and province; fitness and academic results of a region and its parts.  Each needs the
``dashboard.view`` action and shows only the user's area."""

from __future__ import annotations

import functools
import hashlib
import json

from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import ExtendsNode, IncludeNode
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from junheng_web.accounts.audit import audit
from junheng_web.accounts.models import User
from junheng_web.accounts.scoping import region_of, require, restrict
from junheng_web.cycles import dashboards
from junheng_web.cycles.progress import (
    LAG_MARGIN,
    MEASURES,
    cached_progress,
    lagging,
    progress_version,
    roll_up,
    school_status,
    with_submissions,
)
from junheng_web.cycles.tables import OverdueFilter, OverdueTable
from junheng_web.registry.freshness import freshness, once
from junheng_web.registry.models import Cycle, Region
from junheng_web.registry.pages import dashboard_region, name_parts, scoped_cycle
from junheng_web.sampling.models import SampledSchool
from junheng_web.sampling.services import ACTIVE_SCHOOL
from junheng_web.tables import list_page


def _progress(request: HttpRequest, pk: int, code: str | None = None):
    """(cycle, region, progress version) of the progress page or its JSON: ``region`` is ``code``
    (a city or county inside the user's scope) or else the user's own region."""
    require(request.user, "dashboard.view")
    return scoped_cycle(request, pk), dashboard_region(request, code)


def _progress_rows(request: HttpRequest, cycle: Cycle, region: Region | None, version: str | None):
    """(county rows, total rows, school rows, counties by code): the counties of ``region`` (else the
    user's whole area), the totals of that region (cities and 全省 for the province, the city for a
    city, none for a county — its county row is its total), and a county's schools."""
    counties = restrict(Region.objects.all(), request.user).filter(level=Region.Level.COUNTY)
    if region is not None:
        counties = counties.filter(id=region.id) if region.level == Region.Level.COUNTY else \
            counties.filter(parent=region)
    rows, schools = cached_progress(cycle, counties, version)
    regions = {c.code: c for c in counties.select_related("parent")}
    if region is None or region.level != Region.Level.COUNTY:
        schools = []
    return rows, roll_up(rows, regions, region), schools, regions


def _progress_key(cycle: Cycle, region: Region | None, top: Region | None, version: str | None) -> str | None:
    """The cache key of a progress body: the counts' version and what the body depends on besides —
    the region shown and the user's own (the counties they may see, the crumbs); None: no caching."""
    return version and f"{cycle.pk}:{region.pk if region else 'all'}:{top.pk if top else 'province'}:{version}"


# the templates the cached bodies are rendered from; what they include or extend is found in them
BODY_ROOTS = ("cycles/_progress_body.html", "cycles/_dashboard_body.html", "cycles/_academic_body.html")


def body_templates(roots=BODY_ROOTS) -> list[str]:
    """``roots`` and every template they include or extend, at any depth (from the parsed templates:
    an include added to a body is digested without a list to keep).  An include whose name is not
    written in the template (a variable) is refused: the digest could not follow it."""
    found, todo = [], list(roots)
    while todo:
        name = todo.pop(0)
        if name in found:
            continue
        found.append(name)
        nodelist = get_template(name).template.nodelist
        for node in [*nodelist.get_nodes_by_type(IncludeNode), *nodelist.get_nodes_by_type(ExtendsNode)]:
            target = (node.template if isinstance(node, IncludeNode) else node.parent_name).var
            if not isinstance(target, str):
                raise TypeError(f"{name}: a cached body includes a template named by a variable ({target}); "
                                "name it in the template so that the cache key can follow it")
            todo.append(target)
    return found


@functools.cache
def _templates_digest() -> str:
    """A digest of :func:`body_templates`' sources, part of every body's key: the cache outlives a
    process (on PostgreSQL it is a database table), and an upgrade that changes a template must not
    be served the previous release's HTML under the same figures' version."""
    h = hashlib.sha256()
    for name in body_templates():
        h.update(get_template(name).template.source.encode())
    return h.hexdigest()[:16]


def _templates_changed(setting: str, **_kwargs) -> None:
    if setting == "TEMPLATES":
        _templates_digest.cache_clear()


setting_changed.connect(_templates_changed)


def _body(kind: str, version: str | None, render_body) -> str:
    """The rendered body of a page (the part every user who may see it sees alike: no user, no
    CSRF token, no path-dependent navigation), kept in the shared cache under ``version`` (the
    figures' version and anything else the body depends on), the language and the templates'
    digest — rendered by one request while the others wait for it (registry.freshness.once: the
    operators who open a page at once after its figures changed do not each render it); rendered
    on every request with JUNHENG_DASHBOARD_FRESHNESS=0 (``version`` None)."""
    if version is None or _fragment_ttl() <= 0:
        return render_body()
    key = "junheng:page:" + hashlib.sha256(f"{kind}:{version}:{get_language()}:{_templates_digest()}".encode()
                                           ).hexdigest()[:40]
    return once(key, render_body, _fragment_ttl())


@login_required
def progress(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    """采集进度 of the user's area or of one city or county in it: the parts (cities, counties or
    schools) with their 上报率, sortable and filterable, laggards marked, each a link one level down."""
    cycle, region = _progress(request, pk, code)
    top = region_of(request.user)
    version = progress_version(cycle)

    def render_body() -> str:
        rows, totals, schools, regions = _progress_rows(request, cycle, region, version)
        whole = totals[-1] if totals else (rows[0] if rows else None)
        lagging(rows, whole)
        cities = [t for t in totals if t.level == "city"] if region is None else []
        lagging(cities, whole)
        lagging(schools, whole)
        crumbs = []
        if region is not None and region != top:
            crumbs.append((top.name if top is not None else "全省", reverse("progress", args=[cycle.pk])))
            if region.level == Region.Level.COUNTY and region.parent_id and region.parent_id != getattr(top, "id", None):
                crumbs.append((region.parent.name, reverse("progress_region", args=[cycle.pk, region.parent.code])))
        _with_city(rows, regions)
        ranked = sorted(rows, key=lambda r: (r.report_rate is None, r.report_rate if r.report_rate is not None else 0,
                                             r.code))
        return render_to_string("cycles/_progress_body.html", {
            "cycle": cycle, "region": region, "rows": ranked, "totals": totals, "whole": whole, "cities": cities,
            "schools": schools, "crumbs": crumbs, "lag_margin": LAG_MARGIN,
            "city_names": sorted({r.city for r in rows if r.city}),
        })

    body = _body("progress", _progress_key(cycle, region, top, version), render_body)
    return render(request, "cycles/progress.html", {"cycle": cycle, "region": region,
                                                     "own_crumbs": region is not None and region != top,
                                                     "body": mark_safe(body)})  # noqa: S308 (our own template's output)


def _with_city(rows: list, regions: dict[str, Region]) -> list:
    """Give each county row its city's name (``.city``), for the filter and the ranked table."""
    for r in rows:
        c = regions.get(r.code)
        r.city = c.parent.name if c is not None and c.parent_id else ""
    return rows


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
def progress_json(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    cycle, region = _progress(request, pk, code)
    top = region_of(request.user)
    version = progress_version(cycle)

    def render_body() -> str:
        rows, totals, schools, _regions = _progress_rows(request, cycle, region, version)
        fields = ("code", "name", "level", *MEASURES, "report_rate")
        return json.dumps({
            "counties": [{f: getattr(r, f) for f in fields} for r in rows],
            "totals": [{f: getattr(r, f) for f in fields} for r in totals],
            # the county's schools (its drill-down)
            "schools": [{"code": s.code, "name": s.name, "level": "school", "report_rate": s.report_rate,
                         "missing": s.missing, "pupils": s.pupils, "pupils_fitness": s.pupils_fitness,
                         "pupils_questionnaire": s.pupils_questionnaire} for s in schools]})

    return HttpResponse(_body("progress-json", _progress_key(cycle, region, top, version), render_body),
                        content_type="application/json")


def _fragment_ttl() -> int:
    """How long a page's rendered figures are kept (their key is the figures' version, so they are
    never stale): a day, or 0 — rendered on every request — with JUNHENG_DASHBOARD_FRESHNESS=0."""
    return 86400 if freshness() > 0 else 0


def _dashboard_data(cycle: Cycle, region: Region | None, compute=dashboards.fitness_dashboard) -> dict:
    """The figures of a dashboard page or its JSON, with named parts."""
    return name_parts(compute(cycle, region), region)


def _dashboard_page(request: HttpRequest, pk: int, code: str | None, page: str, template: str, context) -> HttpResponse:
    """A result page: the user's navigation around the page's body, which is rendered once per
    version of its figures (and of the trend's earlier cycles) and language — the shared cache —
    from ``context(cycle, region)``."""
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    region = dashboard_region(request, code)
    version = dashboards.page_version(page, cycle, region) if _fragment_ttl() > 0 else None
    body = _body(page, version, lambda: render_to_string(f"cycles/_{template}_body.html", {
        "cycle": cycle, "region": region, **context(cycle, region)}))
    return render(request, f"cycles/{template}.html", {"cycle": cycle, "region": region,
                                                       "body": mark_safe(body)})  # noqa: S308 (our own template's output)


def _dashboard_json(request: HttpRequest, pk: int, code: str | None, page: str, compute) -> HttpResponse:
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    region = dashboard_region(request, code)

    def render_body() -> str:
        data = _dashboard_data(cycle, region, compute)
        return json.dumps({"region": region.code if region else None, **data}, cls=DjangoJSONEncoder)

    version = dashboards.version(page, cycle, region) if _fragment_ttl() > 0 else None
    return HttpResponse(_body(f"{page}-json", version, render_body), content_type="application/json")


def _fitness_context(cycle: Cycle, region: Region | None) -> dict:
    data = _dashboard_data(cycle, region)
    return {"data": data, "drill": data["part_key"] != "school_code", "trend": dashboards.fitness_trend(cycle, region)}


@login_required
def dashboard(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    """Fitness results of the province, a city or a county and of its parts."""
    return _dashboard_page(request, pk, code, "fitness", "dashboard", _fitness_context)


@login_required
def dashboard_json(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    return _dashboard_json(request, pk, code, "fitness", dashboards.fitness_dashboard)


def _academic_context(cycle: Cycle, region: Region | None) -> dict:
    data = _dashboard_data(cycle, region, dashboards.academic_dashboard)
    subjects = [r["subject"] for r in data["overall"]]
    parts = {s: [p for p in data["parts"] if p["subject"] == s] for s in subjects}
    # parts withheld by the minimum reporting rule go behind one note, not a wall of "样本不足 —"
    return {"data": data, "drill": data["part_key"] != "school_code", "trend": dashboards.academic_trend(cycle, region),
            "subjects": [{"overall": r, "parts": [p for p in parts[r["subject"]] if p.get("mean") is not None],
                          "withheld": [p for p in parts[r["subject"]] if p.get("mean") is None]}
                         for r in data["overall"]]}


@login_required
def academic(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    """Academic results (mean scale score, shares at 水平Ⅰ–Ⅳ) per subject of the province, a city or
    a county and of its parts, with standard errors."""
    return _dashboard_page(request, pk, code, "academic", "academic", _academic_context)


@login_required
def academic_json(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    return _dashboard_json(request, pk, code, "academic", dashboards.academic_dashboard)


@login_required
def overdue(request: HttpRequest, pk: int) -> HttpResponse:
    """催报名单: the active sampled schools of the user's area that still owe their roster, fitness
    data or student questionnaires, with what each owes and the school operators' accounts to
    contact (the registry holds no telephone numbers); sortable, filterable, exported to Excel."""
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    sampled = restrict(SampledSchool.objects.filter(ACTIVE_SCHOOL, cycle=cycle), request.user)
    qs = with_submissions(cycle, sampled.select_related("school__county")).filter(n_missing__gt=0)
    contacts: dict[str, list[str]] = {}
    for code, username, name, email in (User.objects.filter(role=User.Role.SCHOOL, is_active=True,
                                                            school__in=sampled.values("school_id"))
                                        .values_list("school__code", "username", "first_name", "email")):
        contacts.setdefault(code, []).append(" ".join(x for x in (name or username, email) if x))
    top = region_of(request.user)
    return list_page(request, OverdueTable, qs, filterset=OverdueFilter, title=_("催报名单"),
                     crumbs=[(str(cycle), reverse("cycle_detail", args=[cycle.pk])),
                             (_("采集进度"), reverse("progress", args=[cycle.pk]))],
                     export=f"催报名单-{cycle.year}", region_code=top.code if top else "",
                     context={"nav": "cycles/_nav.html", "cycle": cycle,
                              "intro": _("尚未完成上报的抽中学校：缺六年级名册，或有样本学生缺体测数据、学生问卷。"
                                         "联系人为学校操作员账号（名册中没有学校电话）。")},
                     table_kwargs={"contacts": {k: "、".join(v) for k, v in contacts.items()}})
