"""Cycle workflow pages. Every object is fetched through ``restrict`` (out of scope → 404);
every role check is ``require`` (a role that may never do it → 403)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from junheng.exceptions import JunhengError
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, region_of, require, restrict
from junheng_web.cycles import services
from junheng_web.cycles.forms import CycleForm, SitesPerSchoolForm, TestSessionForm, TestSiteForm, UploadForm
from junheng_web.cycles.models import TestSite
from junheng_web.jobs.models import Job
from junheng_web.jobs.runner import enqueue
from junheng_web.registry.models import Cycle, Region
from junheng_web.sampling.models import SampledSchool


def scoped_cycle(request: HttpRequest, pk: int) -> Cycle:
    """The cycle ``pk`` if the user may see it, else 404 (every cycle page starts here)."""
    return get_object_or_404(restrict(Cycle.objects.all(), request.user), pk=pk)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What the signed-in user must do next, by role."""
    user = request.user
    cycle = restrict(Cycle.objects.all(), user).first()
    tasks: list[dict] = []
    if cycle is not None:
        schools = restrict(SampledSchool.objects.filter(cycle=cycle), user).filter(services.ACTIVE_SCHOOL)
        if can(user, "sample.run") and not SampledSchool.objects.filter(cycle=cycle).exists():
            tasks.append({"text": _("抽取样本"), "url": f"/cycles/{cycle.pk}/"})
        if can(user, "school.replace"):
            pending = schools.filter(status=SampledSchool.Status.PENDING).count()
            if pending:
                tasks.append({"text": _("确认抽中学校是否参加：%(n)d 所待确认") % {"n": pending},
                              "url": f"/cycles/{cycle.pk}/schools/"})
        if can(user, "site.manage") and user.role == "county":
            if not restrict(TestSite.objects.filter(cycle=cycle), user).exists():
                tasks.append({"text": _("设置测试点和测试场次"), "url": f"/cycles/{cycle.pk}/sites/"})
        if can(user, "roster.upload") and user.school_id:
            tasks.append({"text": _("上传本校六年级名册"), "url": f"/cycles/{cycle.pk}/upload/roster/"})
        if can(user, "fitness.upload") and user.school_id:
            tasks.append({"text": _("上传体质健康测试结果"), "url": f"/cycles/{cycle.pk}/upload/fitness/"})
        if can(user, "questionnaire.upload") and user.school_id:
            tasks.append({"text": _("上传问卷数据"), "url": f"/cycles/{cycle.pk}/upload/questionnaire/"})
        if can(user, "sitelist.download") and user.school_id:
            tasks.append({"text": _("下载测试点学生名单"), "url": f"/cycles/{cycle.pk}/sites/"})
        if can(user, "video.review"):
            from junheng_web.supervision.models import Flag

            n = restrict(Flag.objects.filter(status=Flag.Status.OPEN, session__site__cycle=cycle), user,
                         "video.review").count()
            if n:
                tasks.append({"text": _("审核视频标记：%(n)d 条待审核") % {"n": n}, "url": "/video/"})
        if can(user, "dashboard.view"):
            tasks.append({"text": _("查看采集进度"), "url": f"/cycles/{cycle.pk}/progress/"})
            tasks.append({"text": _("查看体质健康结果"), "url": f"/cycles/{cycle.pk}/dashboard/"})
            tasks.append({"text": _("查看学业质量结果"), "url": f"/cycles/{cycle.pk}/academic/"})
    jobs = restrict(Job.objects.filter(created_by=user), user, "job.view")[:5]
    return render(request, "cycles/home.html", {"cycle": cycle, "tasks": tasks, "jobs": jobs,
                                                "region": region_of(user)})


@login_required
def cycle_list(request: HttpRequest) -> HttpResponse:
    return render(request, "cycles/list.html", {"cycles": restrict(Cycle.objects.all(), request.user)})


@login_required
def cycle_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "cycle.create")
    form = CycleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        sampling = {k: d[k] for k in ("target_pupils", "pupils_per_school", "seed") if d.get(k) is not None}
        try:
            with transaction.atomic():
                cycle = Cycle.objects.create(year=d["year"], grade=d["grade"], subjects=d["subjects"],
                                             name=d["name"], design={"sampling": sampling})
        except IntegrityError:
            form.add_error("year", _("该年份和年级的监测周期已存在"))
        else:
            return redirect("cycle_detail", pk=cycle.pk)
    return render(request, "cycles/create.html", {"form": form})


@login_required
def cycle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cycle = scoped_cycle(request, pk)
    run = cycle.sample_runs.first()
    jobs = restrict(Job.objects.filter(cycle=cycle, kind="sample"), request.user, "job.view")[:5]
    return render(request, "cycles/detail.html", {"cycle": cycle, "run": run, "jobs": jobs,
                                                  "can_sample": can(request.user, "sample.run")})


@login_required
@require_POST
def cycle_sample(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the sample draw as a background job; the job page shows its progress."""
    require(request.user, "sample.run")
    cycle = scoped_cycle(request, pk)
    job = enqueue("sample", user=request.user, cycle=cycle)
    return redirect("job_detail", pk=job.pk)


@login_required
def sampled_schools(request: HttpRequest, pk: int) -> HttpResponse:
    """Sampled schools (and replacements) per county, with the replacement action."""
    cycle = scoped_cycle(request, pk)
    qs = (restrict(SampledSchool.objects.filter(cycle=cycle), request.user)
          .select_related("school", "school__county", "replaces__school").order_by("school__county__code",
                                                                                 "stratum", "sort_order", "role"))
    return render(request, "cycles/schools.html", {"cycle": cycle, "schools": qs,
                                                   "can_replace": can(request.user, "school.replace")})


@login_required
@require_POST
def school_replace(request: HttpRequest, pk: int, ss: int) -> HttpResponse:
    require(request.user, "school.replace")
    cycle = scoped_cycle(request, pk)
    sampled = get_object_or_404(restrict(SampledSchool.objects.filter(cycle=cycle), request.user, "school.replace"),
                                pk=ss)
    status = request.POST.get("status", SampledSchool.Status.REFUSED)
    if status not in (SampledSchool.Status.REFUSED, SampledSchool.Status.CLOSED):
        raise Http404
    from junheng_web.sampling.services import replace_school

    try:
        rep = replace_school(sampled, status)
    except JunhengError as exc:
        messages.error(request, str(exc))
    else:
        audit(request, "replace", f"school {sampled.school.code} → {rep.school.code}",
              region_code=sampled.school.county.code)
        messages.success(request, _("已由替补学校 %(s)s 替代") % {"s": rep.school.name})
    return redirect("sampled_schools", pk=cycle.pk)


@login_required
@require_POST
def school_confirm(request: HttpRequest, pk: int, ss: int) -> HttpResponse:
    require(request.user, "school.replace")
    cycle = scoped_cycle(request, pk)
    sampled = get_object_or_404(restrict(SampledSchool.objects.filter(cycle=cycle), request.user, "school.replace"),
                                pk=ss)
    SampledSchool.objects.filter(pk=sampled.pk).update(status=SampledSchool.Status.PARTICIPATING)
    return redirect("sampled_schools", pk=cycle.pk)


@login_required
def site_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The sites of the user's area, a page of 100 at a time (``?county=`` narrows to one county);
    counties and the province admin set sites up here."""
    from django.core.paginator import Paginator

    cycle = scoped_cycle(request, pk)
    sites = restrict(TestSite.objects.filter(cycle=cycle), request.user)
    if request.GET.get("county"):
        sites = sites.filter(county__code=request.GET["county"])
    page = Paginator(sites.order_by("county__code", "code"), 100).get_page(request.GET.get("page"))
    page.object_list = page.object_list.select_related("county").prefetch_related("schools__school", "sessions")
    form = None
    if can(request.user, "site.manage") and request.user.role in ("county", "province_admin"):
        schools = (restrict(SampledSchool.objects.filter(cycle=cycle), request.user, "site.manage")
                   .filter(services.ACTIVE_SCHOOL).select_related("school"))
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
    return render(request, "cycles/sites.html", {"cycle": cycle, "sites": page, "form": form,
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
    a role that may see them (as the site list). Room size from ``?rows=&cols=`` (default 6 × 8).
    Audited either way."""
    if kind not in services.MATERIALS:
        raise Http404
    cycle, obj, unmask = _download_site(request, pk, site)
    sess = get_object_or_404(obj.sessions.all(), pk=session)
    rows, cols = _grid_size(request, "rows", 6), _grid_size(request, "cols", 8)
    try:
        data, n = services.session_material(cycle, sess, kind, rows=rows, cols=cols, unmask=unmask)
    except JunhengError as exc:
        messages.error(request, str(exc))
        return redirect("site_detail", pk=cycle.pk, site=obj.pk)
    audit(request, "download-unmasked" if unmask else "download", f"{kind} {obj.code} session {sess.pk}", rows=n,
          region_code=obj.county.code)
    resp = HttpResponse(data, content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="{kind}-{obj.code}-{sess.pk}.pdf"'
    return resp


@login_required
def upload(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Upload a roster, fitness or questionnaire file; the import runs as a job, whose page shows every row
    error."""
    if kind not in ("roster", "fitness", "questionnaire"):
        raise Http404
    action = {"roster": "roster.upload", "fitness": "fitness.upload", "questionnaire": "questionnaire.upload"}[kind]
    require(request.user, action)
    cycle = scoped_cycle(request, pk)
    questionnaires = None
    if kind == "questionnaire":
        from junheng_web.questionnaires.models import Questionnaire

        questionnaires = restrict(Questionnaire.objects.filter(cycle=cycle), request.user, action)
    form = UploadForm(request.POST or None, request.FILES or None, questionnaires=questionnaires)
    if questionnaires is not None and not questionnaires.exists():
        form = None  # nothing to upload to yet: the page says so
    elif request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        folder = Path(settings.MEDIA_ROOT) / "uploads" / uuid.uuid4().hex
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(f.name).name
        dest = folder / f"{folder.name[:12]}_{name}"  # unique: annotated workbooks and source_file never collide
        with dest.open("wb") as out:
            for chunk in f.chunks():
                out.write(chunk)
        county = request.user.county if request.user.role in ("school", "county") else None
        params = {"path": str(dest), "name": name}
        if kind == "questionnaire":
            params["questionnaire"] = form.cleaned_data["questionnaire"].pk
        job = enqueue(kind, user=request.user, cycle=cycle, county=county, school=request.user.school, params=params)
        audit(request, "upload", f"{kind} {name}", region_code=county.code if county else "")
        return redirect("job_detail", pk=job.pk)
    recent = restrict(Job.objects.filter(cycle=cycle, kind=kind), request.user, "job.view")[:10]
    return render(request, "cycles/upload.html", {"cycle": cycle, "form": form, "kind": kind, "recent": recent})


def _progress(request: HttpRequest, cycle: Cycle) -> tuple[list, list]:
    counties = restrict(Region.objects.all(), request.user).filter(level=Region.Level.COUNTY)
    rows = services.collection_progress(cycle, counties)
    regions = {c.code: c for c in counties.select_related("parent")}
    return rows, services.roll_up(rows, regions)


@login_required
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    rows, totals = _progress(request, cycle)
    return render(request, "cycles/progress.html", {"cycle": cycle, "rows": rows, "totals": totals})


@login_required
def progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    require(request.user, "dashboard.view")
    cycle = scoped_cycle(request, pk)
    rows, totals = _progress(request, cycle)
    fields = ("code", "name", "level", *services.MEASURES)
    return JsonResponse({"counties": [{f: getattr(r, f) for f in fields} for r in rows],
                         "totals": [{f: getattr(r, f) for f in fields} for r in totals]})


def dashboard_region(request: HttpRequest, code: str | None) -> Region | None:
    """The region a dashboard shows: ``code`` (city first for 济源, both city and county), or the user's own."""
    if code is None:
        return region_of(request.user)
    region = (restrict(Region.objects.all(), request.user)
              .filter(code=code, level__in=[Region.Level.CITY, Region.Level.COUNTY]).order_by("level").first())
    if region is None:
        raise Http404
    return region


def name_parts(data: dict, region: Region | None) -> dict:
    """Give each part of a dashboard its ``code`` and ``name`` (schools of a county, else regions)."""
    if data["part_key"] == "school_code":
        from junheng_web.registry.models import School

        names = dict(School.objects.filter(county=region).values_list("code", "name"))
    else:
        level = Region.Level.CITY if data["part_key"] == "city_code" else Region.Level.COUNTY
        names = dict(Region.objects.filter(level=level).values_list("code", "name"))
    for p in data["parts"]:
        p["code"] = p.get(data["part_key"], p.get("code"))
        p["name"] = names.get(p["code"], p["code"])
    return data


def _dashboard_data(request: HttpRequest, pk: int, code: str | None, compute=services.fitness_dashboard):
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
                                                      "drill": data["part_key"] != "school_code"})


@login_required
def dashboard_json(request: HttpRequest, pk: int, code: str | None = None) -> JsonResponse:
    cycle, region, data = _dashboard_data(request, pk, code)
    return JsonResponse({"region": region.code if region else None, **data})


def _academic_data(request: HttpRequest, pk: int, code: str | None):
    return _dashboard_data(request, pk, code, services.academic_dashboard)


@login_required
def academic(request: HttpRequest, pk: int, code: str | None = None) -> HttpResponse:
    """Academic results (mean scale score, shares at 水平Ⅰ–Ⅳ) per subject of the province, a city or
    a county and of its parts, with standard errors."""
    cycle, region, data = _academic_data(request, pk, code)
    subjects = [r["subject"] for r in data["overall"]]
    parts = {s: [p for p in data["parts"] if p["subject"] == s] for s in subjects}
    return render(request, "cycles/academic.html", {
        "cycle": cycle, "region": region, "data": data, "drill": data["part_key"] != "school_code",
        "subjects": [{"overall": r, "parts": parts[r["subject"]]} for r in data["overall"]]})


@login_required
def academic_json(request: HttpRequest, pk: int, code: str | None = None) -> JsonResponse:
    cycle, region, data = _academic_data(request, pk, code)
    return JsonResponse({"region": region.code if region else None, **data})
