"""The test-site pages of a cycle: the sites of the user's area (set up by counties and the
province admin), a site with its sessions, and the downloads with pupils' data — the site's pupil
list and a session's seating plan or login cards, masked unless a role that checks pupils in on
test day asks for names (audited either way)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from junheng.exceptions import JunhengError
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, require, restrict
from junheng_web.cycles.tables import TestSiteFilter, TestSiteTable
from junheng_web.registry.models import Cycle, Region
from junheng_web.registry.pages import scoped_cycle
from junheng_web.sampling.models import SampledSchool
from junheng_web.sampling.services import ACTIVE_SCHOOL
from junheng_web.tables import list_page
from junheng_web.testsites import services
from junheng_web.testsites.forms import SitesPerSchoolForm, TestSessionForm, TestSiteForm
from junheng_web.testsites.models import TestSite


@login_required
def site_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The sites of the user's area as a table (``?county=<code>`` or the 区县 filter narrows to one
    county; sorted, paged, exportable); counties and the province admin set sites up here."""
    cycle = scoped_cycle(request, pk)
    sites = (restrict(TestSite.objects.filter(cycle=cycle), request.user).order_by("county__code", "code")
             .select_related("county").prefetch_related("schools__school")
             .annotate(n_sessions=Count("sessions", distinct=True)))
    form = None
    if can(request.user, "site.manage") and request.user.role in ("county", "province_admin"):
        schools = (restrict(SampledSchool.objects.filter(cycle=cycle), request.user, "site.manage")
                   .filter(ACTIVE_SCHOOL).select_related("school"))
        form = TestSiteForm(request.POST or None, schools=schools)
        if request.method == "POST" and form.is_valid():
            county = request.user.region if request.user.role == "county" else None
            chosen = list(form.cleaned_data["schools"])
            county = county or (chosen[0].school.county if chosen else None)
            if county is None or any(s.school.county_id != county.id for s in chosen):
                form.add_error("schools", _("参测学校须属于同一区县"))
            else:
                try:
                    with transaction.atomic():
                        site = form.save(commit=False)
                        site.cycle, site.county = cycle, county
                        site.save()
                        form.save_m2m()
                except IntegrityError:
                    form.add_error("code", _("测试点编号已存在"))
                else:
                    return redirect("site_detail", pk=cycle.pk, site=site.pk)
    elif request.method == "POST":
        require(request.user, "site.manage")
    return list_page(request, TestSiteTable, sites, filterset=TestSiteFilter, title=_("测试点"),
                     crumbs=[(_("监测周期"), reverse("cycle_list")), (str(cycle), reverse("cycle_detail", args=[cycle.pk]))],
                     export=f"test-sites-{cycle.year}", template="cycles/sites.html",
                     context={"cycle": cycle, "nav": "cycles/_nav.html", "form": form,
                              "per_school": SitesPerSchoolForm() if form is not None else None})


@login_required
@require_POST
def sites_per_school(request: HttpRequest, pk: int) -> HttpResponse:
    """Each participating sampled school of the user's area becomes its own test site, with a
    session per subject at the given start (schools already serving a site are left alone)."""
    require(request.user, "site.manage")
    cycle = scoped_cycle(request, pk)
    form = SitesPerSchoolForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写开始时间和时长"))
        return redirect("site_list", pk=cycle.pk)
    counties = restrict(Region.objects.all(), request.user, "site.manage").filter(level=Region.Level.COUNTY)
    n = services.sites_per_school(cycle, form.cleaned_data["starts_at"], minutes=form.cleaned_data["minutes"],
                                  counties=counties)
    messages.success(request, _("已新建 %(n)d 个测试点") % {"n": n})
    return redirect("site_list", pk=cycle.pk)


def _site(request, cycle, site_pk, action="view") -> TestSite:
    return get_object_or_404(restrict(TestSite.objects.filter(cycle=cycle), request.user, action), pk=site_pk)


@login_required
def site_detail(request: HttpRequest, pk: int, site: int) -> HttpResponse:
    cycle = scoped_cycle(request, pk)
    obj = _site(request, cycle, site)
    form = None
    if can(request.user, "site.manage") and request.user.role in ("county", "province_admin"):
        form = TestSessionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                # the form sent twice (a double click, a resend) would add the same session twice — two
                # sets of login codes for one room's pupils: the site's row taken in turn, the same
                # subject, room and start refused
                TestSite.objects.select_for_update().filter(pk=obj.pk).first()
                data = form.cleaned_data
                if obj.sessions.filter(subject=data["subject"], room=data["room"],
                                       starts_at=data["starts_at"]).exists():
                    form.add_error(None, _("该场次已存在（同一科目、考场和开始时间）"))
                else:
                    s = form.save(commit=False)
                    s.site = obj
                    s.save()
                    return redirect("site_detail", pk=cycle.pk, site=obj.pk)
    elif request.method == "POST":
        require(request.user, "site.manage")
    return render(request, "cycles/site_detail.html", {"cycle": cycle, "site": obj, "form": form,
                                                       "can_download": can(request.user, "sitelist.download"),
                                                       "can_unmask": can(request.user, "sitelist.unmask")})


def _download_site(request: HttpRequest, pk: int, site: int) -> tuple[Cycle, TestSite, bool]:
    """The cycle and site of a download with pupils' data, and whether names are asked for
    (``?unmask=1``, only for roles that check pupils in on test day); 403/404 otherwise."""
    require(request.user, "sitelist.download")
    unmask = request.GET.get("unmask") == "1"
    if unmask:
        require(request.user, "sitelist.unmask")
    cycle = scoped_cycle(request, pk)
    return cycle, _site(request, cycle, site, "sitelist.unmask" if unmask else "sitelist.download"), unmask


@login_required
def site_pupils(request: HttpRequest, pk: int, site: int) -> HttpResponse:
    """The site's pupil list (CSV; names and 学籍号 masked unless ``?unmask=1`` by a role that checks
    pupils in on test day: county, school operator, proctor). Audited either way."""
    cycle, obj, unmask = _download_site(request, pk, site)
    try:
        data = services.site_pupil_list(cycle, obj, unmask=unmask)
    except JunhengError as exc:
        messages.error(request, str(exc))
        return redirect("site_detail", pk=cycle.pk, site=obj.pk)
    audit(request, "download-unmasked" if unmask else "download", f"site list {obj.code}",
          rows=max(data.count(b"\n") - 1, 0),
          region_code=obj.county.code)
    resp = HttpResponse(data, content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="site-{obj.code}.csv"'
    return resp


def _grid_size(request: HttpRequest, name: str, default: int) -> int:
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        raise Http404 from None
    if not 1 <= value <= 30:
        raise Http404
    return value


@login_required
def session_material(request: HttpRequest, pk: int, site: int, session: int, kind: str) -> HttpResponse:
    """A session's seating plan or login cards (PDF); names and 学籍号 masked unless ``?unmask=1`` by
    a role that may see them (as the site list); login codes only for those who may run the session
    (``testsites.services.may_run``: not a proctor of a session assigned to another proctor).  Room
    size from ``?rows=&cols=`` (default 6 × 8). Audited either way."""
    if kind not in services.MATERIALS:
        raise Http404
    cycle, obj, unmask = _download_site(request, pk, site)
    sess = get_object_or_404(obj.sessions.all(), pk=session)
    rows, cols = _grid_size(request, "rows", 6), _grid_size(request, "cols", 8)
    try:
        data, n = services.session_material(cycle, sess, kind, rows=rows, cols=cols, unmask=unmask,
                                            with_codes=services.may_run(request.user, sess))
    except JunhengError as exc:
        messages.error(request, str(exc))
        return redirect("site_detail", pk=cycle.pk, site=obj.pk)
    audit(request, "download-unmasked" if unmask else "download", f"{kind} {obj.code} session {sess.pk}", rows=n,
          region_code=obj.county.code)
    resp = HttpResponse(data, content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="{kind}-{obj.code}-{sess.pk}.pdf"'
    return resp
