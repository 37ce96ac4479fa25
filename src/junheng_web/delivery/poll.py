"""The idle test page's status poll (``GET /test/status/``), the busiest request of a test day: every
signed-in page asks every ``JUNHENG_PUPIL_POLL_SECONDS`` (168,000 pupils at once at the centre).

Two things keep its cost down (docs/deploy.md, § the status poll):

* :func:`read` — everything the answer needs (the attempt's newest lease and submission, the
  session's times, the proctor's events for the pupil and the room, the page's newest heartbeat
  span) in **one** raw SQL statement,
  read fresh on every poll: no cache to go stale, so a pause, a termination or extra time reaches
  the page on its next poll whichever server process answers it.  The ORM's query building cost
  several times the database's work;
* :class:`StatusPollMiddleware` — the poll skips the middleware it has no use for (sessions, CSRF,
  accounts, messages, the page language, the single-flight guard): it reads one signed cookie and
  writes JSON.  It still checks the host (``ALLOWED_HOSTS``; a site node's LAN check comes before it).

The heartbeat (``services.heartbeat``) is raw SQL too: a write at most every other poll.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.urls import reverse

from junheng_web.delivery import services
from junheng_web.delivery.models import Attempt, PageContact, ProctorEvent
from junheng_web.delivery.services import aware
from junheng_web.testsites.models import TestSession


@dataclass(frozen=True)
class PollState:
    """What the status poll answers from: the attempt's newest lease, its submission, pupil and
    session times, the proctor's events for the pupil and the room (``(at, action, student_id,
    minutes)``, as ``proctor.window`` takes them), and the asking page's newest heartbeat span
    ending within the gap (``(id, last_at)`` or ``None``, as ``services.heartbeat`` takes it)."""

    lease: int
    submitted_at: dt.datetime | None
    student_id: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    events: tuple
    span: tuple | None


def read(attempt_id, lease: int, now: dt.datetime) -> PollState | None:
    """The poll's state of the attempt ``attempt_id`` asked by its page ``lease`` at ``now``
    (``None``: no such attempt), in one statement."""
    a, s, e, c = (m._meta.db_table for m in (Attempt, TestSession, ProctorEvent, PageContact))
    gap = services.contact_gap_s()
    pk = Attempt._meta.pk.get_db_prep_value(attempt_id, connection)
    # the newest span: one lookup, made once (not once a proctor's event row), joined to every row
    span = [pk, lease if 1 <= lease <= 2**31 else 0, gap, services.db_time(now),
            services.db_time(now - dt.timedelta(seconds=gap))]
    with connection.cursor() as cur:
        cur.execute(f"SELECT a.lease, a.submitted_at, a.student_id, s.starts_at, s.ends_at, e.at, e.action, "
                    f"e.student_id, e.minutes, p.id, p.last_at "
                    f"FROM {a} a JOIN {s} s ON s.id = a.session_id "
                    f"LEFT JOIN (SELECT c.id, c.last_at FROM {c} c WHERE c.attempt_id = %s AND c.lease = %s "
                    "AND c.gap_s = %s AND c.last_at <= %s AND c.last_at >= %s ORDER BY c.last_at DESC LIMIT 1) p "
                    "ON 1 = 1 "
                    f"LEFT JOIN {e} e ON e.session_id = a.session_id AND e.student_id IN ('', a.student_id) "
                    "WHERE a.id = %s", [*span, pk])
        rows = cur.fetchall()
    if not rows:
        return None
    first = rows[0]
    events = tuple((aware(r[5]), r[6], r[7], r[8]) for r in rows if r[6] is not None)
    return PollState(first[0], aware(first[1]), first[2], aware(first[3]), aware(first[4]), events,
                     None if first[9] is None else (first[9], aware(first[10])))


class StatusPollMiddleware:
    """``GET /test/status/`` straight to its view, past the middleware after this one (placed after
    the security headers and static files, before sessions: settings.MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.path = None

    def __call__(self, request):
        if self.path is None:
            self.path = reverse("delivery_status")
        if request.method == "GET" and request.path == self.path:
            from junheng_web.delivery.views import status

            request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would check it
            return status(request)
        return self.get_response(request)
