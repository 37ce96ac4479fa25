"""OMR pages: a session's scanned answer sheets (upload, the reading's outcome, marking a batch
final), the manual-review queue, one entry with its crop and the decision, the crop itself.  Every
object is fetched through ``restrict`` (out of scope → 404), every role check is ``require`` (a
role that may never do it → 403); uploads, decisions and marking final are audited.  The choice on
a pupil with answers in the browser and on a sheet (a ``two_channels`` flag of the reviewers'
queue) is made here, where both channels' answers can be reached."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from junheng.exceptions import InputError, JunhengError
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, require, restrict
from junheng_web.jobs.runner import enqueue
from junheng_web.omr import pupil_ids, services
from junheng_web.omr.forms import ChannelForm, DecisionForm, PupilForm, ScanForm
from junheng_web.omr.models import Review, Sheet, Upload
from junheng_web.omr.tables import ReviewFilter, ReviewTable
from junheng_web.registry.pages import error_messages, form_errors
from junheng_web.supervision.models import CHANNEL_KIND, Flag
from junheng_web.supervision.templatetags.supervision import masked_id
from junheng_web.tables import list_page
from junheng_web.testsites.models import TestSession

# a 学籍号 (as read: well formed or not) in a batch's issue, its value or the text of its rule
_PUPIL_ID = re.compile(r"[GJL][0-9]{17}[0-9X]")


def _masked_issues(issues: list[dict]) -> list[dict]:
    """A batch's issues as its session's page lists them, to everyone who may see the session: every
    学籍号 masked as in every list (``masked_id``) — the value of an issue of the sheet's id field,
    any id-shaped value (a pupil not sitting the session, who may be another school's) and an id
    inside the rule's text (the same pupil twice).  The whole id is on the sheet's pupil page
    (reviewers, scoped and audited)."""
    def text(value) -> str:
        return _PUPIL_ID.sub(lambda m: masked_id(m.group()), str(value or ""))

    out = []
    for i in issues:
        value = i.get("value")
        if value not in (None, ""):
            value = masked_id(value) if str(i.get("column") or "") == "id" else text(value)
        out.append({**i, "value": value, "rule_zh": text(i.get("rule_zh")), "rule_en": text(i.get("rule_en")),
                    "message": text(i.get("message"))})
    return out


def _session(request: HttpRequest, pk: int, action: str = "view") -> TestSession:
    return get_object_or_404(restrict(TestSession.objects.select_related("site__cycle", "site__county"),
                                      request.user, action), pk=pk)


def _review(request: HttpRequest, pk: int) -> Review:
    require(request.user, "omr.review")
    return get_object_or_404(restrict(Review.objects.select_related("sheet__upload", "sheet__attempt",
                                                                    "session__site__county", "reviewer"),
                                      request.user, "omr.review"), pk=pk)


@login_required
def session_sheets(request: HttpRequest, session: int) -> HttpResponse:
    """A session's uploads of scanned sheets with what the reading gave, and the upload form."""
    obj = _session(request, session)
    uploads = list(obj.omr_uploads.select_related("job", "final_by"))
    # the sheets by status and the open entries of every upload: two grouped queries for the session,
    # not five an upload
    counts: dict[int, dict[str, int]] = {}
    for upload_id, status, n in (Sheet.objects.filter(upload__session=obj).values_list("upload_id", "status")
                                 .annotate(n=Count("pk")).order_by()):
        counts.setdefault(upload_id, {})[status] = n
    open_reviews = dict(Review.objects.filter(sheet__upload__session=obj, status=Review.Status.OPEN)
                        .values_list("sheet__upload_id").annotate(n=Count("pk")).order_by())
    for u in uploads:
        got = counts.get(u.pk, {})
        u.counts = {s: got.get(s, 0) for s in ("read", "held", "duplicate", "failed")}
        u.open_reviews = open_reviews.get(u.pk, 0)
        u.shown_issues = _masked_issues(u.issues or [])
    return render(request, "omr/session.html", {
        "session": obj, "cycle": obj.site.cycle, "uploads": uploads,
        "form": ScanForm() if can(request.user, "omr.upload") else None,
        "can_review": can(request.user, "omr.review")})


@login_required
@require_POST
def upload(request: HttpRequest, session: int) -> HttpResponse:
    """Keep an uploaded scan file (the same file again changes nothing) and queue its reading."""
    require(request.user, "omr.upload")
    obj = _session(request, session, "omr.upload")
    form = ScanForm(request.POST, request.FILES)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("omr_session", session=obj.pk)
    f = form.cleaned_data["file"]
    try:
        up, created = services.store_upload(obj, f.name, f.chunks(), user=request.user)
    except InputError as exc:
        error_messages(request, exc)
        return redirect("omr_session", session=obj.pk)
    if not created:
        messages.info(request, _("该文件已上传过（内容相同），未重复读取：%(name)s") % {"name": up.name})
        return redirect("omr_session", session=obj.pk)
    audit(request, "upload", f"omr {obj.site.code} {up.name}", region_code=obj.site.county.code)
    job = enqueue("omr", user=request.user, cycle=obj.site.cycle, county=obj.site.county,
                  school=request.user.school, params={"upload": up.pk, "session": obj.pk, "name": up.name})
    Upload.objects.filter(pk=up.pk).update(job=job)
    return redirect("job_detail", pk=job.pk)


@login_required
@require_POST
def mark_final(request: HttpRequest, upload: int) -> HttpResponse:
    require(request.user, "omr.upload")
    up = get_object_or_404(restrict(Upload.objects.select_related("session__site__county", "job"), request.user,
                                    "omr.upload"), pk=upload)
    try:
        services.mark_final(up, request.user)
    except JunhengError as exc:
        error_messages(request, exc)
        return redirect("omr_session", session=up.session_id)
    audit(request, "omr.final", f"omr {up.session.site.code} {up.name}", region_code=up.session.site.county.code)
    messages.success(request, _("已定稿：%(name)s") % {"name": up.name})
    return redirect("omr_session", session=up.session_id)


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    """Open entries in the reviewer's region, lowest confidence first (sortable, filtered)."""
    require(request.user, "omr.review")
    rows = (restrict(Review.objects.filter(status=Review.Status.OPEN), request.user, "omr.review")
            .select_related("session__site__county", "sheet").order_by("confidence", "id"))
    return list_page(request, ReviewTable, rows, filterset=ReviewFilter, title=_("答题卡人工核对"),
                     export="omr-review")


@login_required
def review_detail(request: HttpRequest, review: int) -> HttpResponse:
    """One entry: the crop with the read marks, each bubble's darkness and confidence, the decision
    form (POST: confirm or correct; audited with the answer before and after).  Showing an entry
    whose sheet names a pupil (the 学籍号 whole) is audited too."""
    obj = _review(request, review)
    if obj.kind == Review.Kind.PUPIL:
        return redirect("omr_pupil", sheet=obj.sheet_id)
    form = DecisionForm(request.POST or None, initial={"answer": obj.read})
    if request.method == "POST" and form.is_valid():
        try:
            before, after = services.decide(obj, request.user, form.cleaned_data["answer"], form.cleaned_data["note"])
        except JunhengError as exc:
            error_messages(request, exc)
            return redirect("omr_review", review=obj.pk)
        action = {"corrected": "omr.correct", "confirmed": "omr.confirm"}.get(obj.status, "omr.settle")
        audit(request, action, f"omr {obj.sheet.name} {obj.item_id}: {before or '∅'} → {after or '∅'}",
              region_code=obj.session.site.county.code)
        nxt = (restrict(Review.objects.filter(status=Review.Status.OPEN), request.user, "omr.review")
               .order_by("confidence", "id").first())
        return redirect("omr_review", review=nxt.pk) if nxt else redirect("omr_queue")
    if obj.sheet.person_id:  # the page shows the sheet's 学籍号 whole and the pupil's marks: a view of a pupil record
        audit(request, "view", f"omr review {obj.pk} {obj.sheet.name}", rows=1, region_code=obj.session.site.county.code)
    return render(request, "omr/review.html", {"review": obj, "session": obj.session, "form": form})


@login_required
def review_image(request: HttpRequest, review: int) -> HttpResponse:
    obj = _review(request, review)
    data = services.crop(obj)
    if data is None:
        raise Http404
    return HttpResponse(data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})


def _sheet(request: HttpRequest, pk: int) -> Sheet:
    require(request.user, "omr.review")
    return get_object_or_404(restrict(Sheet.objects.select_related("upload", "attempt", "session__site__county",
                                                                   "session__site__cycle"),
                                      request.user, "omr.review"), pk=pk)


@login_required
def sheet_pupil(request: HttpRequest, sheet: int) -> HttpResponse:
    """A sheet's pupil: the crop of its id field, why it is in doubt, the session's roster in the
    reviewer's scope (masked; every showing audited), the choice with a confirmation step, the
    sheet's corrections with an undo.  POST ``action=correct`` without ``confirm`` shows the
    confirmation; with ``confirm=1`` applies it; ``action=undo`` (confirmed) reverts the last change."""
    obj = _sheet(request, sheet)
    form = PupilForm(request.POST or None)
    region = obj.session.site.county.code
    confirm = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == "undo":
                # the form names the correction it undoes (0 when it does not: refused, as a stale one)
                row = pupil_ids.undo(obj, request.user, data["note"], last_id=data["last"] or 0)
                audit(request, "omr.pupil_undo", f"omr {obj.name}: {row.old_id or '∅'} → {row.new_id or '∅'} (undo)",
                      region_code=region)
                messages.success(request, _("已撤销：%(old)s → %(new)s") % {
                    "old": row.old_id or "—", "new": row.new_id or "—"})
                return redirect("omr_pupil", sheet=obj.pk)
            pid = pupil_ids.pupil_of(obj, request.user, data["pupil"])
            if data["confirm"] == "1":
                row = pupil_ids.correct(obj, pid, request.user, data["note"])
                audit(request, "omr.pupil", f"omr {obj.name}: {row.old_id or '∅'} → {row.new_id}", region_code=region)
                messages.success(request, _("已更正学籍号"))
                nxt = (restrict(Review.objects.filter(status=Review.Status.OPEN, kind=Review.Kind.PUPIL), request.user,
                                "omr.review").order_by("id").first())
                return redirect("omr_pupil", sheet=nxt.sheet_id) if nxt else redirect("omr_queue")
            confirm = {"pupil": data["pupil"], "note": data["note"], "new": masked_id(pid),
                       "old": masked_id(obj.person_id) if obj.person_id else "—"}
        except JunhengError as exc:
            error_messages(request, exc)
            return redirect("omr_pupil", sheet=obj.pk)
    rows = pupil_ids.roster(obj, request.user) if obj.status in services.KEPT else []
    audit(request, "omr.roster", f"omr {obj.session.site.code} {obj.name}: roster", rows=len(rows), region_code=region)
    return render(request, "omr/pupil.html", {
        "sheet": obj, "session": obj.session, "roster": rows, "form": PupilForm(), "confirm": confirm, "pattern": pupil_ids.id_pattern(obj),
        "reviews": obj.reviews.filter(kind=Review.Kind.PUPIL).order_by("pk"),
        "corrections": obj.corrections.select_related("reviewer").order_by("pk")})


@login_required
def sheet_id_image(request: HttpRequest, sheet: int) -> HttpResponse:
    obj = _sheet(request, sheet)
    data = services.crop_image(obj.image, pupil_ids.id_box(obj) if obj.status in services.KEPT else [])
    if data is None:
        raise Http404
    return HttpResponse(data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})


@login_required
@require_POST
def channel_choice(request: HttpRequest, flag: int) -> HttpResponse:
    """A reviewer of the video/evidence queue chooses, for a pupil with answers in the browser and
    on a paper sheet, which channel's answers count (a note required); the choice is applied to
    the pupil's answers and audited."""
    require(request.user, "video.review")
    obj = get_object_or_404(restrict(Flag.objects.filter(kind=CHANNEL_KIND).select_related(
        "session__site__cycle", "session__site__county"), request.user, "video.review"), pk=flag)
    form = ChannelForm(request.POST)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("flag_detail", flag=obj.pk)
    choice = form.cleaned_data["choice"]
    try:
        services.choose_channel(obj, choice, request.user, form.cleaned_data["note"])
    except JunhengError as exc:
        error_messages(request, exc)
        return redirect("flag_detail", flag=obj.pk)
    audit(request, "omr.channel", f"two channels {obj.person_id} {obj.session.site.code} {obj.session.subject}: "
          f"→ {choice}", region_code=obj.session.site.county.code)
    messages.success(request, _("已保存：以%(which)s为准") % {"which": obj.get_choice_display()})
    return redirect("review_queue")
