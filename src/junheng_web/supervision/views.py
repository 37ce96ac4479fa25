"""Video supervision pages: a session's recordings and flags (with the upload), the reviewers'
queue of open flags, a flag with its stretch of video and the decision, and the video file
itself.  Every object is fetched through ``restrict`` (out of scope → 404), every role check is
``require`` (a role that may never do it → 403); watching video, opening a flag that names
pupils and deciding are audited."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from junheng.exceptions import InputError, JunhengError
from junheng_web.accounts.audit import audit
from junheng_web.accounts.scoping import can, require, restrict
from junheng_web.jobs.models import Job
from junheng_web.jobs.runner import enqueue
from junheng_web.registry.pages import error_messages, form_errors
from junheng_web.supervision import services
from junheng_web.supervision.forms import RecordingForm, ReviewForm
from junheng_web.supervision.models import Flag, Recording
from junheng_web.supervision.tables import FlagFilter, FlagTable
from junheng_web.tables import list_page
from junheng_web.testsites.models import TestSession


def _session(request: HttpRequest, pk: int, action: str = "view") -> TestSession:
    return get_object_or_404(restrict(TestSession.objects.select_related("site__cycle", "site__county"),
                                      request.user, action), pk=pk)


@login_required
def session_video(request: HttpRequest, session: int) -> HttpResponse:
    """A session's recordings, flags and validity; the upload form for those who may upload.  The
    reviewers' notes (审核意见, which may name pupils) only to those who review the session's flags —
    the reviewers of its region and the province's supervision office (``video.review``; the session
    is in their scope, as it was fetched through ``restrict``, whose scope is the session's whatever
    the action) — and showing them is audited as a view of pupil records; the county, school,
    proctor and analyst who may see the session see each flag's decision, not its note."""
    obj = _session(request, session)
    validity = services.session_validity(obj)
    flags = list(obj.video_flags.select_related("recording", "reviewer"))
    recordings = list(obj.recordings.all())
    can_review = can(request.user, "video.review")
    timelines = [tl for r in recordings
                 if (tl := services.timeline(r, [f for f in flags if f.recording_id == r.pk]))] if can_review else []
    if noted := can_review and sum(1 for f in flags if f.note):
        audit(request, "view", f"video session {obj.pk} notes {obj.site.code}", rows=noted,
              region_code=obj.site.county.code)
    return render(request, "supervision/session.html", {
        "session": obj, "cycle": obj.site.cycle, "recordings": recordings, "timelines": timelines,
        "flags": flags,
        "validity": validity, "validity_label": services.VALIDITY_LABELS[validity],
        "form": RecordingForm() if services.may_record(request.user, obj) else None,
        "can_review": can_review})


@login_required
@require_POST
def recording_upload(request: HttpRequest, session: int) -> HttpResponse:
    """Store an uploaded recording (the same file again changes nothing) and queue its analysis —
    for those who may write the session's recordings (``services.may_record``)."""
    require(request.user, "video.upload")
    obj = _session(request, session, "video.upload")
    try:
        services.check_may_record(request.user, obj)  # another proctor's session: refused before the file is kept
    except InputError as exc:
        error_messages(request, exc)
        return redirect("session_video", session=obj.pk)
    form = RecordingForm(request.POST, request.FILES)
    if not form.is_valid():
        form_errors(request, form)
        return redirect("session_video", session=obj.pk)
    upload = form.cleaned_data["file"]
    path = services.staging_path(upload.name)
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        rec, created = services.store_recording(obj, path, name=upload.name, move=True,
                                                started_at=form.cleaned_data.get("started_at"), user=request.user)
    except InputError as exc:
        path.unlink(missing_ok=True)
        error_messages(request, exc)
        return redirect("session_video", session=obj.pk)
    audit(request, "upload", f"video {obj.site.code} {rec.name}", region_code=obj.site.county.code)
    if not created:
        messages.info(request, _("该录像已上传过，未作改动"))
        return redirect("session_video", session=obj.pk)
    job = enqueue("video", user=request.user, cycle=obj.site.cycle, county=obj.site.county,
                  school=request.user.school, params={"recording": rec.pk, "session": obj.pk, "name": rec.name})
    return redirect("job_detail", pk=job.pk)


@login_required
@require_POST
def session_analyse(request: HttpRequest, session: int) -> HttpResponse:
    """Analyse every recording of the session again: one background job per recording, any free
    worker takes each; the parent job's page shows them all.  For those who may write the session's
    recordings (``services.may_record``)."""
    require(request.user, "video.upload")
    obj = _session(request, session, "video.upload")
    try:
        services.check_may_record(request.user, obj)
        job = services.queue_session_analysis(obj, user=request.user, school=request.user.school)
    except InputError as exc:
        error_messages(request, exc)
        return redirect("session_video", session=obj.pk)
    return redirect("job_detail", pk=job.pk)


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    """Open flags in the reviewer's region as a table, oldest session first (sortable, filtered by
    county, kind and severity; 学籍号 masked)."""
    require(request.user, "video.review")
    flags = (restrict(Flag.objects.filter(status=Flag.Status.OPEN), request.user, "video.review")
             .select_related("session__site__county", "recording")
             .order_by("session__starts_at", "session_id", "start_s", "id"))
    return list_page(request, FlagTable, flags, filterset=FlagFilter, title=_("视频巡查：待审核的标记"),
                     export="video-flags")


@login_required
def flag_detail(request: HttpRequest, flag: int) -> HttpResponse:
    require(request.user, "video.review")
    obj = get_object_or_404(restrict(Flag.objects.select_related("session__site__cycle", "session__site__county",
                                                                 "recording", "reviewer"),
                                     request.user, "video.review"), pk=flag)
    tl = None
    if obj.recording_id:
        tl = services.timeline(obj.recording, list(obj.recording.flags.all()), highlight=obj)
    near = [th for th in (tl["thumbs"] if tl else []) if obj.start_s - 10 <= th["t"] <= obj.end_s + 10]
    # a forensic flag names pupils (学籍号, their answers and times), a reviewer's note may (as on the
    # session page): a view of pupil records
    if obj.person_id or obj.note:
        audit(request, "view", f"video flag {obj.pk} {obj.kind} {obj.session.site.code}",
              rows=2 if obj.other_id else 1, region_code=obj.session.site.county.code)
    return render(request, "supervision/flag.html", {
        "flag": obj, "session": obj.session, "cycle": obj.session.site.cycle, "timeline": tl, "near": near,
        "form": ReviewForm(initial={"note": obj.note}),
        # the player starts a few seconds early so the reviewer sees what came before
        "play_from": max(0.0, obj.start_s - 5), "play_to": obj.end_s + 5})


def _consequence(flag: Flag) -> str:
    """What confirming the serious ``flag`` does to the data, in words for the second confirmation."""
    if flag.person_id:
        ids = flag.person_id + (f"、{flag.other_id}" if flag.other_id and flag.kind in services.PAIR_KINDS else "")
        return _("学籍号 %(ids)s 的学生本次的数据将不计入估计（按未作答处理）。") % {"ids": ids}
    return _("本场次（%(site)s %(subject)s 考场 %(room)s）将判为无效：参加本场次的 %(n)d 名学生的数据将不计入估计"
             "（按未作答处理）。") % {"site": flag.session.site.name, "subject": flag.session.subject,
                                   "room": flag.session.room, "n": services.session_pupils(flag.session).count()}


@login_required
@require_POST
def flag_review(request: HttpRequest, flag: int) -> HttpResponse:
    """Record a decision.  Dismissing needs a note; confirming a serious flag first shows what it
    does to the data and needs a second confirmation (``acknowledged``) before anything is saved."""
    require(request.user, "video.review")
    obj = get_object_or_404(restrict(Flag.objects.select_related("session__site__cycle", "session__site__county",
                                                                 "recording"), request.user,
                                     "video.review"), pk=flag)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择审核结论"))
        return redirect("flag_detail", flag=obj.pk)
    decision, note = form.cleaned_data["decision"], form.cleaned_data["note"].strip()
    if decision == "dismiss" and not note:
        messages.error(request, _("排除标记须填写审核意见（为什么没有问题）"))
        return redirect("flag_detail", flag=obj.pk)
    acknowledged = form.cleaned_data["acknowledged"]
    if decision == "confirm" and services.voids_data(obj) and not acknowledged:
        return render(request, "supervision/confirm.html", {
            "flag": obj, "session": obj.session, "cycle": obj.session.site.cycle, "note": note,
            "consequence": _consequence(obj)})
    try:
        services.review_flag(obj, decision, request.user, note, acknowledged=acknowledged)
    except JunhengError as exc:
        error_messages(request, exc)
        return redirect("flag_detail", flag=obj.pk)
    audit(request, decision, f"video flag {obj.pk} {obj.kind} {obj.session.site.code}",
          region_code=obj.session.site.county.code)
    messages.success(request, _("已保存审核结论"))
    return redirect("review_queue")


_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def _ranged(path: Path, header: str, content_type: str) -> HttpResponse:
    """The byte range ``header`` of ``path`` (206), so the browser's player can seek to ``#t=``."""
    size = path.stat().st_size
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        resp = HttpResponse(status=416)
        resp["Content-Range"] = f"bytes */{size}"
        return resp
    if m.group(1):
        start, end = int(m.group(1)), min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
    else:  # the last N bytes
        start, end = max(0, size - int(m.group(2))), size - 1
    if start > end or start >= size:
        resp = HttpResponse(status=416)
        resp["Content-Range"] = f"bytes */{size}"
        return resp

    def chunks(f=path, a=start, b=end):
        with f.open("rb") as fh:
            fh.seek(a)
            left = b - a + 1
            while left > 0:
                block = fh.read(min(1 << 16, left))
                if not block:
                    break
                left -= len(block)
                yield block

    resp = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    resp["Content-Range"] = f"bytes {start}-{end}/{size}"
    resp["Content-Length"] = str(end - start + 1)
    resp["Accept-Ranges"] = "bytes"
    return resp


@login_required
def recording_file(request: HttpRequest, recording: int) -> HttpResponse:
    """The video file, only to users who may review its session; each request for the start of
    the file (a new viewing) is audited."""
    require(request.user, "video.review")
    rec = get_object_or_404(restrict(Recording.objects.select_related("session__site__county"), request.user,
                                     "video.review"), pk=recording)
    path = services.recording_path(rec)
    if not path.is_file():
        raise Http404
    content_type = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime",
                    ".avi": "video/x-msvideo", ".mkv": "video/x-matroska"}.get(path.suffix, "application/octet-stream")
    header = request.headers.get("Range", "")
    if not header or header.startswith("bytes=0-"):
        audit(request, "view", f"video {rec.session.site.code} {rec.name}", region_code=rec.session.site.county.code)
    if header:
        return _ranged(path, header, content_type)
    resp = FileResponse(path.open("rb"), content_type=content_type)
    resp["Accept-Ranges"] = "bytes"
    return resp


@login_required
def recording_thumb(request: HttpRequest, recording: int, name: str) -> HttpResponse:
    """A picture of the recording's timeline, to users who may review its session."""
    require(request.user, "video.review")
    rec = get_object_or_404(restrict(Recording.objects.select_related("session__site__county"), request.user,
                                     "video.review"), pk=recording)
    path = services.thumb_file(rec, name)
    if path is None:
        raise Http404
    resp = FileResponse(path.open("rb"), content_type="image/jpeg")
    resp["Cache-Control"] = "private, max-age=3600"
    return resp


@login_required
@require_POST
def session_forensics(request: HttpRequest, session: int) -> HttpResponse:
    """Queue the response forensics of a session (answers, their times and the seating plan from
    the platform) as a job; its flags join the reviewers' queue."""
    require(request.user, "video.review")
    obj = _session(request, session, "video.review")
    # the button pressed twice (or by two reviewers): the job queued or running is the one to wait for
    if (pending := Job.under_way("forensics", session=obj.pk)) is not None:
        messages.info(request, _("本场次的作答数据甄别已在进行（后台任务 %(id)s），完成后可再次提交。") % {"id": pending.pk})
        return redirect("session_video", session=obj.pk)
    job = enqueue("forensics", user=request.user, cycle=obj.site.cycle, county=obj.site.county,
                  school=request.user.school, params={"session": obj.pk})
    audit(request, "forensics.run", f"forensics {obj.site.code} {obj.subject}", region_code=obj.site.county.code)
    messages.info(request, _("作答数据甄别已提交（后台任务 %(id)s）；结果进入审核队列。") % {"id": job.pk})
    return redirect("session_video", session=obj.pk)
