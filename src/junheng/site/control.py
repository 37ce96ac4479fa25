"""The proctor's control of a pupil's time (issue 15.4): from the session's proctor events to the
pupil's window.

Events are ``(at, action, student_id, minutes)``; ``student_id`` ``""`` is the whole room.  The
actions that change time:

- ``start`` (room) — the proctor starts the room; a start later than the scheduled start moves
  the end by the delay (the pupils keep their full time);
- ``pause`` / ``resume`` (room or one pupil) — the clock stops: the end moves by the paused time,
  and answers given while paused are refused;
- ``terminate`` / ``reactivate`` (one pupil) — the same, and a terminated pupil cannot sign in;
- ``extend`` (one pupil) — ``minutes`` of extra time (an accommodation), added up.

``checkin`` and ``incident`` change no time.  Overlapping stops (a pupil paused while the room is
paused) count once: the end moves by the length of their union.  A stop still open at ``now``
counts up to ``now``, so a paused pupil's end keeps moving until the resume.

Worked example (tests/core/site/test_control.py): session 09:00–10:00, room started 09:05, pupil
paused 09:20–09:30 and the room 09:25–09:35, 15 extra minutes: end = 10:00 + 5 + 15 + 15 (the
union 09:20–09:35) = 10:35.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

ACTIONS = ("checkin", "start", "pause", "resume", "extend", "terminate", "reactivate", "incident")
ROOM_ACTIONS = ("start", "pause", "resume", "incident")


@dataclass(frozen=True)
class Stop:
    start: dt.datetime
    end: dt.datetime | None  # None: still stopped
    reason: str  # "paused" or "terminated"

    def covers(self, t: dt.datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


@dataclass(frozen=True)
class Window:
    end: dt.datetime  # time-up (before any submission)
    stops: list[Stop] = field(default_factory=list)
    delay: dt.timedelta = dt.timedelta(0)
    extra_minutes: int = 0
    checked_in: bool = False
    state: str = ""  # "" running, "paused", "terminated"

    def stopped_at(self, t: dt.datetime) -> str | None:
        """Why an answer given at ``t`` is refused ("terminated" before "paused"), or None."""
        reasons = {s.reason for s in self.stops if s.covers(t)}
        return "terminated" if "terminated" in reasons else "paused" if reasons else None


def _intervals(events, opener: str, closer: str, reason: str) -> list[Stop]:
    out, open_at = [], None
    for at, action in events:
        if action == opener and open_at is None:
            open_at = at
        elif action == closer and open_at is not None:
            if at > open_at:
                out.append(Stop(open_at, at, reason))
            open_at = None
    if open_at is not None:
        out.append(Stop(open_at, None, reason))
    return out


def _union_length(stops: list[Stop], now: dt.datetime, before: dt.datetime) -> tuple[dt.timedelta, dt.datetime]:
    """The end ``before`` moved by the union of ``stops`` that begin before the (moving) end."""
    spans = sorted((s.start, s.end or max(now, s.start)) for s in stops)
    end, total, cur = before, dt.timedelta(0), None
    for a, b in spans:
        if a >= end:
            break
        if cur is not None and a <= cur[1]:
            cur = (cur[0], max(cur[1], b))
        else:
            if cur is not None:
                total += cur[1] - cur[0]
            cur = (a, b)
        end = before + total + (cur[1] - cur[0])
    if cur is not None:
        total += cur[1] - cur[0]
    return total, before + total


def pupil_window(events, *, student_id: str, starts_at: dt.datetime, ends_at: dt.datetime,
                 now: dt.datetime) -> Window:
    """The pupil's window from the session's events (``(at, action, student_id, minutes)``, any order)."""
    evs = sorted((e for e in events if e[2] in ("", student_id)), key=lambda e: e[0])
    room = [(at, a) for at, a, sid, _ in evs if sid == ""]
    own = [(at, a) for at, a, sid, _ in evs if sid == student_id and student_id]
    started = next((at for at, a in room if a == "start"), None)
    delay = max(started - starts_at, dt.timedelta(0)) if started else dt.timedelta(0)
    extra = sum(int(m or 0) for _, a, sid, m in evs if a == "extend" and sid == student_id and student_id)
    stops = (_intervals(room, "pause", "resume", "paused") + _intervals(own, "pause", "resume", "paused")
             + _intervals(own, "terminate", "reactivate", "terminated"))
    _, end = _union_length(stops, now, ends_at + delay + dt.timedelta(minutes=extra))
    open_reasons = {s.reason for s in stops if s.end is None}
    state = "terminated" if "terminated" in open_reasons else "paused" if open_reasons else ""
    return Window(end, stops, delay, extra, any(a == "checkin" for _, a in own), state)
