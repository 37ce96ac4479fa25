"""The proctor's console (issue 15.4), on the central platform and on a test-site node alike.

Every action is a ``ProctorEvent`` (the proctor's log); the pupil's window is computed from the
events by the core (``junheng.site.control.pupil_window``) and enforced by ``delivery.services``:
a paused or terminated pupil's answers are refused, extra time and pauses move the end, a
terminated pupil cannot sign in.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from junheng.exceptions import ParameterError
from junheng.site import ROOM_ACTIONS, Window, pupil_window
from junheng_web.delivery.models import Attempt, ProctorEvent
from junheng_web.registry.admin import mask_name
from junheng_web.registry.models import mask_student_id
from junheng_web.testsites.services import session_pupils

STATES = ("absent", "checked_in", "started", "paused", "terminated", "time_up", "submitted")
MAX_EXTRA = 240  # minutes of extra time in one grant
MAX_NOTE = 2000
LATE_ARRIVAL = dt.timedelta(seconds=60)  # an answer arriving this long after its stamp is shown as late


def _events(session, student_id: str | None = None):
    qs = ProctorEvent.objects.filter(session=session)
    if student_id is not None:
        qs = qs.filter(student_id__in=["", student_id])
    return list(qs.values_list("at", "action", "student_id", "minutes"))


def window(session, student_id: str, now: dt.datetime | None = None, events=None) -> Window:
    """The pupil's window in ``session`` now (end, stops, extra time, state)."""
    return pupil_window(_events(session, student_id) if events is None else events, student_id=student_id,
                        starts_at=session.starts_at, ends_at=session.ends_at, now=now or timezone.now())


def _by_pupil(events) -> tuple[list, dict[str, list]]:
    """The session's events split once: the room's (no pupil) and each pupil's own, each in the
    events' order.  ``room + own[sid]`` is what :func:`window` needs of the pupil (``pupil_window``
    keeps the room's and the pupil's apart, so their interleaving does not matter)."""
    room, own = [], {}
    for e in events:
        if e[2]:
            own.setdefault(e[2], []).append(e)
        else:
            room.append(e)
    return room, own


def windows(session, student_ids, now: dt.datetime | None = None) -> dict[str, Window]:
    """:func:`window` of each of ``student_ids``, the session's events read once and split once."""
    room, own = _by_pupil(_events(session))
    return {sid: window(session, sid, now, room + own.get(sid, [])) for sid in student_ids}


def act(session, action: str, *, student_id: str = "", minutes: int | None = None, note: str = "", by: str = "",
        now: dt.datetime | None = None, seen: int | None = None, key: uuid.UUID | None = None) -> ProctorEvent:
    """Record one console action; ``ParameterError`` (bilingual) for one that makes no sense now.

    A console form carries what it was rendered against, so that a double click or a form sent
    again is not applied twice (two 延长 15 would give 30 minutes): ``key``, a fresh id drawn for
    the form and recorded as the event's id (the same form twice: the second refused), and
    ``seen``, how many actions on its target (the pupil, or the room) other than incident reports
    there were (another proctor acted meanwhile: refused, the page shows what is now).  Both are
    checked with the session's row locked, in the transaction that records the event, so two
    requests at once cannot both pass.  Without them (``None``, as in the services' own calls)
    nothing is checked but the state."""
    now = now or timezone.now()
    labels = dict(ProctorEvent.ACTIONS)
    if action not in labels:
        raise ParameterError(f"未知操作 / unknown action: {action!r}")
    student_id = (student_id or "").strip()
    if not student_id and action not in ROOM_ACTIONS:
        raise ParameterError(f"“{labels[action]}”需要选择一名学生 / {action} needs a pupil")
    if student_id and action == "start":
        raise ParameterError("“开始”针对整个考场 / start is for the whole room")
    if student_id and student_id not in set(session_pupils(session.site.cycle, session)["student_id"].to_list()):
        raise ParameterError(f"学生 {mask_student_id(student_id)} 不在本场次 / pupil not in this session")
    if action == "extend" and not (minutes and 1 <= minutes <= MAX_EXTRA):
        raise ParameterError(f"延长时间应为 1–{MAX_EXTRA} 分钟 / extra time must be 1–{MAX_EXTRA} minutes")
    if action == "incident" and not note.strip():
        raise ParameterError("请填写异常情况说明 / describe the incident")
    if len(note) > MAX_NOTE:
        raise ParameterError(f"说明最多 {MAX_NOTE} 字 / at most {MAX_NOTE} characters")
    with transaction.atomic():
        # the session's row locked: one action of the session at a time
        list(type(session).objects.select_for_update().filter(pk=session.pk).values_list("pk", flat=True))
        _not_done_yet(session, action, student_id, seen, key)
        return _record(session, action, student_id=student_id, minutes=minutes, note=note, by=by, now=now, key=key)


def _not_done_yet(session, action: str, student_id: str, seen: int | None, key: uuid.UUID | None) -> None:
    """Refuse a form already applied (its ``key`` recorded) or rendered before another action on its
    target (``seen`` no longer the count), naming what was done, by whom and when."""
    done = ProctorEvent.objects.filter(pk=key).first() if key is not None else None
    if done is None and seen is not None and action != "incident":
        mine = ProctorEvent.objects.filter(session=session, student_id=student_id).exclude(action="incident")
        if mine.count() != seen:
            done = mine.order_by("-at").first()
            if done is None:
                raise ParameterError("页面已过时，请刷新后再操作 / the page is out of date: reload it and act again")
    if done is not None:
        what = dict(ProctorEvent.ACTIONS)[done.action] + (f" +{done.minutes}′" if done.minutes else "")
        who = done.by or "—"
        raise ParameterError(f"已由他人或重复提交处理 / already done: {what}（{who}，"
                             f"{timezone.localtime(done.at):%H:%M:%S}），请看当前状态后再操作 / see the current state "
                             f"before acting again")


def _record(session, action: str, *, student_id: str, minutes: int | None, note: str, by: str, now: dt.datetime,
            key: uuid.UUID | None) -> ProctorEvent:
    """The state checks and the event, in ``act``'s transaction."""
    state = window(session, student_id, now).state if student_id else _room_state(session, now)
    own = _own_state(session, student_id, now) if student_id else state
    refusals = {
        ("pause", "paused"): "已经暂停 / already paused",
        ("resume", ""): "没有暂停 / not paused",
        ("resume", "terminated"): "已终止，请用“恢复” / terminated: use reactivate",
        ("terminate", "terminated"): "已经终止 / already terminated",
        ("reactivate", ""): "没有被终止 / not terminated",
        ("reactivate", "paused"): "没有被终止 / not terminated",
    }
    rule = (action, own if action in ("pause", "resume") else state)
    if rule in refusals:
        raise ParameterError(refusals[rule])
    if action == "start" and ProctorEvent.objects.filter(session=session, student_id="", action="start").exists():
        raise ParameterError("考场已经开始 / the room has already been started")
    return ProctorEvent.objects.create(id=key or uuid.uuid4(), session=session, student_id=student_id, action=action,
                                       minutes=minutes if action == "extend" else None, note=note.strip(), by=by, at=now)


def _own_state(session, student_id: str, now) -> str:
    """Paused or terminated by the pupil's own events (a room pause is resumed for the room)."""
    own = [e for e in _events(session, student_id) if e[2] == student_id]
    return pupil_window(own, student_id=student_id, starts_at=session.starts_at, ends_at=session.ends_at,
                        now=now).state


def _room_state(session, now) -> str:
    return pupil_window(_events(session, ""), student_id="", starts_at=session.starts_at, ends_at=session.ends_at,
                        now=now).state


def _actions(events) -> int:
    """How many of ``events`` are actions rather than incident reports: the ``seen`` of ``act``."""
    return sum(e[1] != "incident" for e in events)


def board(session, now: dt.datetime | None = None) -> dict:
    """The console's live status: the room's state and every pupil of the session (masked) with
    check-in, state, end, extra time, answers the server has and the last one's arrival, and the
    answers that arrived more than ``LATE_ARRIVAL`` after their stamps (``late``; the last such
    arrival ``late_last``): an outage, or answers stamped early — the forensics tell which."""
    now = now or timezone.now()
    room_events, own = _by_pupil(_events(session))
    pupils = session_pupils(session.site.cycle, session)
    late = Q(answers__received_at__gt=F("answers__client_at") + LATE_ARRIVAL)
    attempts = {a["student_id"]: a for a in Attempt.objects.filter(session=session)
                .annotate(n=Count("answers"), last=Max("answers__received_at"), late=Count("answers", filter=late),
                          late_last=Max("answers__received_at", filter=late))
                .values("student_id", "started_at", "submitted_at", "n", "last", "late", "late_last")}
    rows = []
    for sid, name, booklet in pupils.select("student_id", "name", "booklet").iter_rows():
        mine = own.get(sid, [])
        w = window(session, sid, now, room_events + mine)
        hold = window(session, sid, now, mine).state  # the pupil's own pause or end
        a = attempts.get(sid)
        state = ("terminated" if w.state == "terminated" else "submitted" if a and a["submitted_at"]
                 else "paused" if w.state == "paused" else "time_up" if now > w.end
                 else "started" if a else "checked_in" if w.checked_in else "absent")
        rows.append({"key": sid, "student_id": mask_student_id(sid), "name": mask_name(name or ""),
                     "booklet": booklet or "", "state": state, "hold": hold, "checked_in": w.checked_in,
                     "ends_at": w.end, "extra": w.extra_minutes, "started_at": a and a["started_at"],
                     "submitted_at": a and a["submitted_at"], "changes": a["n"] if a else 0, "last": a and a["last"],
                     "late": a["late"] if a else 0, "late_last": a and a["late_last"], "seen": _actions(mine)})
    room = pupil_window(room_events, student_id="", starts_at=session.starts_at, ends_at=session.ends_at, now=now)
    started = any(e[1] == "start" for e in room_events)
    log = list(ProctorEvent.objects.filter(session=session).order_by("-at")[:200])
    return {"rows": rows, "room": room.state or ("started" if started else "scheduled"), "room_ends": room.end,
            "room_seen": _actions(room_events),
            "log": [{"at": e.at, "action": e.action, "label": dict(ProctorEvent.ACTIONS)[e.action],
                     "pupil": mask_student_id(e.student_id) if e.student_id else "", "minutes": e.minutes,
                     "note": e.note, "by": e.by} for e in log]}
