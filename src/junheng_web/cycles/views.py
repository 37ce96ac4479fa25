"""The cycle pages: what to do next (home), the cycles, the sample draw, the sampled schools
(with replacement) and the upload page.  Every object is fetched through ``restrict`` (out of
scope → 404); every role check is ``require`` (a role that may never do it → 403).  The test-site
pages are in :mod:`site_views`, progress and dashboards in :mod:`dashboard_views`."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from junheng.exceptions import JunhengError
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, region_of, require, restrict
from junheng_web.cycles.forms import CycleForm, UploadForm
from junheng_web.cycles.redraw import consequences
from junheng_web.cycles.tables import (
    CycleTable,
    SampledSchoolFilter,
    SampledSchoolTable,
    UploadJobFilter,
    UploadJobTable,
)
from junheng_web.cycles.uploads import template_file
from junheng_web.jobs.models import Job
from junheng_web.jobs.runner import enqueue
from junheng_web.locale import in_language
from junheng_web.questionnaires.models import Questionnaire
from junheng_web.registry.models import Cycle
from junheng_web.registry.pages import scoped_cycle
from junheng_web.sampling.models import SampledSchool
from junheng_web.sampling.services import ACTIVE_SCHOOL, replace_school
from junheng_web.supervision.models import Flag
from junheng_web.tables import XLSX, list_page
from junheng_web.testsites.models import TestSite


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What the signed-in user must do next, by role."""
    user = request.user
    cycle = restrict(Cycle.objects.all(), user).first()
    tasks: list[dict] = []
    if cycle is not None:
        schools = restrict(SampledSchool.objects.filter(cycle=cycle), user).filter(ACTIVE_SCHOOL)
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
            tasks.append({"text": _("查看本校数据报送情况（已交、缺少、待改正的错误）"), "url": f"/cycles/{cycle.pk}/status/"})
            tasks.append({"text": _("上传本校六年级名册"), "url": f"/cycles/{cycle.pk}/upload/roster/"})
        if can(user, "fitness.upload") and user.school_id:
            tasks.append({"text": _("上传体质健康测试结果"), "url": f"/cycles/{cycle.pk}/upload/fitness/"})
        if can(user, "questionnaire.upload") and user.school_id:
            tasks.append({"text": _("上传问卷数据"), "url": f"/cycles/{cycle.pk}/upload/questionnaire/"})
        if can(user, "sitelist.download") and user.school_id:
            tasks.append({"text": _("下载测试点学生名单"), "url": f"/cycles/{cycle.pk}/sites/"})
        if can(user, "session.run") and user.school_id:  # test day: the sessions and their consoles
            tasks.append({"text": _("监考台：打开本校测试场次（签到、延时、暂停、解锁）"), "url": reverse("delivery_sessions")})
        if can(user, "video.review"):
            n = restrict(Flag.objects.filter(status=Flag.Status.OPEN, session__site__cycle=cycle), user,
                         "video.review").count()
            tasks.append({"text": _("审核视频标记：%(n)d 条待审核") % {"n": n} if n else _("视频巡查：暂无待审核的标记"),
                          "url": "/video/"})
        if can(user, "dashboard.view"):
            tasks.append({"text": _("查看采集进度"), "url": f"/cycles/{cycle.pk}/progress/"})
            tasks.append({"text": _("查看体质健康结果"), "url": f"/cycles/{cycle.pk}/dashboard/"})
            tasks.append({"text": _("查看学业质量结果"), "url": f"/cycles/{cycle.pk}/academic/"})
    jobs = restrict(Job.objects.filter(created_by=user), user, "job.view")[:5]
    return render(request, "cycles/home.html", {"cycle": cycle, "tasks": tasks, "jobs": jobs,
                                                "region": region_of(user)})


@login_required
def cycle_list(request: HttpRequest) -> HttpResponse:
    return list_page(request, CycleTable, restrict(Cycle.objects.all(), request.user), title=_("监测周期"),
                     template="cycles/list.html", export="cycles")


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
    """Queue the sample draw as a background job; the job page shows its progress.

    Re-drawing a sample that already has weights, schools' decisions, test sites or collected data
    first shows what would be lost (``cycles.redraw``) and goes ahead only when confirmed with a
    reason; the decision goes to the audit log and to the new sample (issue 12.9)."""
    require(request.user, "sample.run")
    cycle = scoped_cycle(request, pk)
    # pressed twice (or by two staff): the second draw, run after the first, would replace the sample
    # just drawn without the confirmation a re-draw needs (nothing was lost yet when it was pressed)
    if (pending := Job.under_way("sample", cycle=cycle)) is not None:
        messages.info(request, _("本周期的抽样已在进行（后台任务 %(id)s），完成后可再次提交。") % {"id": pending.pk})
        return redirect("job_detail", pk=pending.pk)
    params = {}
    if cycle.sample_runs.exists():
        counts, lines = consequences(cycle)
        reason = request.POST.get("reason", "").strip()[:500]
        if counts and (request.POST.get("confirm") != "1" or not reason):
            return render(request, "cycles/confirm_redraw.html", {
                "cycle": cycle, "lines": lines, "asked": request.POST.get("confirm") == "1", "reason": reason})
        if counts:
            params["decision"] = {"by": request.user.get_username(), "at": timezone.now().isoformat(),
                                  "reason": reason, "confirmed": counts}
            audit(request, "sample.redraw", f"cycle {cycle.pk}: {reason}", rows=counts.get("weighted_pupils"))
    job = enqueue("sample", user=request.user, cycle=cycle, params=params)
    return redirect("job_detail", pk=job.pk)


@login_required
def sampled_schools(request: HttpRequest, pk: int) -> HttpResponse:
    """Sampled schools (and replacements) of the user's area as a table (paged, sortable, filtered by
    county, role, status or a school's name or code, exportable), with the replacement action."""
    cycle = scoped_cycle(request, pk)
    qs = (restrict(SampledSchool.objects.filter(cycle=cycle), request.user)
          .select_related("school", "school__county", "replaces__school").order_by("school__county__code",
                                                                                 "stratum", "sort_order", "role"))
    return list_page(request, SampledSchoolTable, qs, filterset=SampledSchoolFilter, title=_("抽中学校"),
                     crumbs=[(_("监测周期"), reverse("cycle_list")), (str(cycle), reverse("cycle_detail", args=[cycle.pk]))],
                     export=f"sampled-schools-{cycle.year}",
                     table_kwargs={"can_replace": can(request.user, "school.replace"), "cycle": cycle},
                     context={"cycle": cycle, "nav": "cycles/_nav.html",
                              "intro": "" if qs.exists() else _("尚未抽样。")})


def _sampled_school(request: HttpRequest, pk: int, ss: int) -> tuple[Cycle, SampledSchool]:
    """The cycle and the sampled school ``ss`` a replacement or confirmation acts on (403/404 otherwise)."""
    require(request.user, "school.replace")
    cycle = scoped_cycle(request, pk)
    return cycle, get_object_or_404(restrict(SampledSchool.objects.filter(cycle=cycle), request.user,
                                             "school.replace"), pk=ss)


@login_required
@require_POST
def school_replace(request: HttpRequest, pk: int, ss: int) -> HttpResponse:
    cycle, sampled = _sampled_school(request, pk, ss)
    status = request.POST.get("status", SampledSchool.Status.REFUSED)
    if status not in (SampledSchool.Status.REFUSED, SampledSchool.Status.CLOSED):
        raise Http404
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
    """A pending sampled school takes part.  Only a pending one (the button's condition, checked
    again here and in the write): a school already refused or closed and replaced, confirmed by a
    resent form, would count beside its replacement.  Audited."""
    cycle, sampled = _sampled_school(request, pk, ss)
    done = SampledSchool.objects.filter(pk=sampled.pk, role=SampledSchool.Role.SAMPLED,
                                        status=SampledSchool.Status.PENDING).update(
                                            status=SampledSchool.Status.PARTICIPATING)
    if done:
        audit(request, "school.confirm", f"school {sampled.school.code}", region_code=sampled.school.county.code)
    else:
        sampled.refresh_from_db()
        # the status's label in the page's language (the model's labels are Chinese; its value is the English name)
        status = in_language(f"{sampled.get_status_display()} / {sampled.status}")
        messages.error(request, _("%(s)s 的状态为“%(status)s”，只能确认待确认的抽中学校") % {
            "s": sampled.school.name, "status": status})
    return redirect("sampled_schools", pk=cycle.pk)


UPLOAD_ACTIONS = {"roster": "roster.upload", "fitness": "fitness.upload", "questionnaire": "questionnaire.upload"}


@login_required
def upload_template(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The empty template of an upload page (``?questionnaire=<id>`` for a questionnaire's entry workbook)."""
    if kind not in UPLOAD_ACTIONS:
        raise Http404
    require(request.user, UPLOAD_ACTIONS[kind])
    cycle = scoped_cycle(request, pk)
    questionnaire = None
    if kind == "questionnaire":
        qid = request.GET.get("questionnaire", "")
        questionnaire = get_object_or_404(restrict(Questionnaire.objects.filter(cycle=cycle), request.user,
                                                   UPLOAD_ACTIONS[kind]), pk=int(qid) if qid.isdigit() else 0)
    data, name = template_file(kind, cycle, questionnaire)
    out = HttpResponse(data, content_type=XLSX)
    out["Content-Disposition"] = f"attachment; filename=\"template.xlsx\"; filename*=UTF-8''{quote(name)}"
    return out


@login_required
def upload(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Upload a roster, fitness or questionnaire file; the import runs as a job, whose page shows every row
    error."""
    if kind not in UPLOAD_ACTIONS:
        raise Http404
    action = UPLOAD_ACTIONS[kind]
    require(request.user, action)
    cycle = scoped_cycle(request, pk)
    questionnaires = None
    if kind == "questionnaire":
        questionnaires = restrict(Questionnaire.objects.filter(cycle=cycle), request.user, action)
    form = UploadForm(request.POST or None, request.FILES or None, questionnaires=questionnaires)
    if questionnaires is not None and not questionnaires.exists():
        form = None  # nothing to upload to yet: the page says so
    elif request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        folder = Path(settings.MEDIA_ROOT) / "uploads" / uuid.uuid4().hex
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(f.name.replace("\\", "/")).name[-200:] or "upload"
        # stored under a name of our own (the person's name can be any length, any characters);
        # messages name the file as uploaded (cycles.jobs)
        dest = folder / f"{folder.name[:12]}{Path(name).suffix.lower()[:8]}"
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
    recent = _upload_jobs(request, cycle, kind)[:RECENT_UPLOADS]
    return render(request, "cycles/upload.html", {"cycle": cycle, "form": form, "kind": kind, "recent": recent,
                                                  "questionnaires": questionnaires})


RECENT_UPLOADS = 10  # the upload page's excerpt of its 上传记录
UPLOAD_TITLES = {"roster": gettext_lazy("学生名册上传记录"), "fitness": gettext_lazy("体质健康数据上传记录"),
                 "questionnaire": gettext_lazy("问卷数据上传记录")}


def _upload_jobs(request: HttpRequest, cycle: Cycle, kind: str):
    """The cycle's upload jobs of ``kind`` the user may see (``restrict`` with ``job.view``), newest first."""
    return (restrict(Job.objects.filter(cycle=cycle, kind=kind), request.user, "job.view")
            .select_related("county", "school", "created_by").order_by("-created_at", "-id"))


@login_required
def upload_jobs(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """上传记录: every upload of ``kind`` in the cycle within the user's area as a table (paged, sorted,
    filtered by county, status, the file's or school's name, exportable)."""
    if kind not in UPLOAD_ACTIONS:
        raise Http404
    require(request.user, UPLOAD_ACTIONS[kind])
    cycle = scoped_cycle(request, pk)
    return list_page(request, UploadJobTable, _upload_jobs(request, cycle, kind), filterset=UploadJobFilter,
                     title=UPLOAD_TITLES[kind],
                     crumbs=[(_("监测周期"), reverse("cycle_list")), (str(cycle), reverse("cycle_detail", args=[cycle.pk])),
                             (_("上传"), reverse("upload", args=[cycle.pk, kind]))],
                     export=f"uploads-{kind}-{cycle.year}", context={"cycle": cycle, "nav": "cycles/_nav.html"})
