"""The idle page's status poll at province scale (``delivery.poll``): one raw read answers it, read
fresh each time, so what it answers equals the ORM's own reading of the proctor's window and the
attempt (the oracle here: ``proctor.window`` and ``services.time_up``) after every proctor action,
extra time, submission and reload; it passes by the middleware it has no use for but keeps the host
check and the security headers; two first polls of one page at once start one span (PostgreSQL,
two connections)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.web.delivery.conftest import CODE_A0
from tests.web.omr.test_one_counted import _in_thread, postgres_only

pytestmark = pytest.mark.django_db


def _signed_in(code: str) -> tuple[Client, dict]:
    c = Client()
    assert c.post("/test/", {"code": code}).status_code == 302
    page = c.get("/test/take/").content.decode()
    return c, json.loads(re.search(r'<script id="delivery-data" type="application/json">(.*?)</script>', page, re.S).group(1))


def _poll(c: Client, lease: int):
    return c.get(f"/test/status/?lease={lease}&at={int(timezone.now().timestamp() * 1000)}")


def _orm_answer(attempt_pk, lease: int) -> dict:
    """What the poll should say, read through the ORM as the pages before it did."""
    from junheng_web.delivery import proctor, services
    from junheng_web.delivery.models import Attempt

    a = Attempt.objects.select_related("session").get(pk=attempt_pk)
    now = timezone.now()
    win = proctor.window(a.session, a.student_id, now)
    end = services.time_up(a, now, win)
    return {"hold": win.state, "ends_at": end, "closed": now > end, "moved": lease < a.lease}


def _answer(body: dict) -> dict:
    return {**{k: body[k] for k in ("hold", "closed", "moved")}, "ends_at": dt.datetime.fromisoformat(body["ends_at"])}


def _same(body: dict, orm: dict) -> None:
    """The poll's answer is the ORM's (the end to the second: a room's running pause moves it
    between the two reads)."""
    got = _answer(body)
    assert {k: got[k] for k in ("hold", "closed", "moved")} == {k: orm[k] for k in ("hold", "closed", "moved")}
    assert abs((got["ends_at"] - orm["ends_at"]).total_seconds()) < 1, (got, orm)


def test_the_poll_answers_what_the_orm_reads_after_every_proctor_action(dw):
    from junheng_web.delivery import proctor
    from junheng_web.delivery.models import Attempt

    c, data = _signed_in(CODE_A0)
    session, sid = dw.sessions["A"], dw.pupils["A"][0].student_id
    other = dw.pupils["A"][4].student_id
    steps = [lambda: None,
             lambda: proctor.act(session, "start"),
             lambda: proctor.act(session, "pause"),  # the room
             lambda: proctor.act(session, "resume"),
             lambda: proctor.act(session, "extend", student_id=sid, minutes=7),
             lambda: proctor.act(session, "extend", student_id=other, minutes=30),  # another pupil's: not ours
             lambda: proctor.act(session, "pause", student_id=sid),
             lambda: proctor.act(session, "resume", student_id=sid),
             lambda: proctor.act(session, "terminate", student_id=sid),
             lambda: proctor.act(session, "reactivate", student_id=sid)]
    seen = []
    for step in steps:
        step()
        body = _poll(c, data["lease"]).json()
        _same(body, _orm_answer(data["attempt"], data["lease"]))
        seen.append(body["hold"])
    assert seen == ["", "", "paused", "", "", "", "paused", "", "terminated", ""]
    before = _answer(_poll(c, data["lease"]).json())["ends_at"]
    # a reload opened a newer page: the old one hears it has moved; a submission closes the attempt
    c.get("/test/take/")
    assert _poll(c, data["lease"]).json()["moved"] is True
    Attempt.objects.filter(pk=data["attempt"]).update(submitted_at=timezone.now())
    body = _poll(c, data["lease"] + 1).json()
    assert body["closed"] is True and body["moved"] is False and _answer(body)["ends_at"] < before
    _same(body, _orm_answer(data["attempt"], data["lease"] + 1))


def test_a_covered_poll_is_one_read_and_skips_the_middleware_it_has_no_use_for(dw, settings):
    settings.JUNHENG_PUPIL_POLL_SECONDS = 10
    c, data = _signed_in(CODE_A0)
    _poll(c, data["lease"])  # the span starts
    with CaptureQueriesContext(connection) as q:
        r = _poll(c, data["lease"])  # covered by the span: nothing written
    assert r.status_code == 200 and len(q.captured_queries) == 1, [x["sql"] for x in q.captured_queries]
    assert all(t in q.captured_queries[0]["sql"] for t in ("delivery_proctorevent", "delivery_pagecontact"))
    # no session, CSRF or language cookie, no Vary: Cookie from the session middleware; the security headers stay
    assert not r.cookies and "Cookie" not in r.get("Vary", "") and r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Language"] == "zh-hans" and r["Content-Type"] == "application/json"
    # the host is still checked (ALLOWED_HOSTS), a stranger's cookie is still refused, POST still meets CSRF
    assert c.get(f"/test/status/?lease={data['lease']}", HTTP_HOST="evil.example").status_code == 400
    assert Client().get("/test/status/").status_code == 403
    bad = Client()
    bad.cookies["junheng_attempt"] = "not-signed"
    assert bad.get("/test/status/").status_code == 403
    assert Client(enforce_csrf_checks=True).post("/test/status/").status_code == 403


@postgres_only
def test_on_postgres_two_first_polls_of_one_page_at_once_start_one_span(transactional_db, dw, settings):
    """The first poll's transaction has started the page's span and not committed when a second
    first poll of the same page arrives (a reload's double click; another server process): the
    second cannot see the span, waits on the attempt's row, then finds it — one span.  The old code
    started two."""
    from junheng_web.delivery.models import PageContact
    from junheng_web.delivery.services import open_lease, record_contact, sign_in

    settings.JUNHENG_PUPIL_POLL_SECONDS = 10
    a = sign_in(CODE_A0)
    lease = open_lease(a)
    now = timezone.now()

    def first(ready):
        with transaction.atomic():
            assert record_contact(a, lease, int(now.timestamp() * 1000), now=now)
            ready.set()
            time.sleep(1.5)

    t, ready, errors = _in_thread(first)
    ready.wait(10)
    try:
        later = now + dt.timedelta(milliseconds=300)
        assert record_contact(a, lease, int(later.timestamp() * 1000), now=later)
    finally:
        t.join()
    assert not errors
    assert list(PageContact.objects.values_list("first_at", "beats")) == [(now, 1)]


def test_the_poll_looks_up_the_pages_newest_span_once(dw, settings):
    """The newest heartbeat span was two correlated subqueries (its id, its time), each run again on
    every row the proctor's events give: SQLite's own query plan of the poll's statement now reads
    the page's spans in one place, not correlated with the rows."""
    from junheng_web.delivery import proctor

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's EXPLAIN QUERY PLAN (the site node's engine)")
    settings.JUNHENG_PUPIL_POLL_SECONDS = 10
    session, sid = dw.sessions["A"], dw.pupils["A"][0].student_id
    c, data = _signed_in(CODE_A0)
    for step in ("start", "pause", "resume"):
        proctor.act(session, step)
    proctor.act(session, "extend", student_id=sid, minutes=5)
    _poll(c, data["lease"])  # the span starts
    with CaptureQueriesContext(connection) as q:
        r = _poll(c, data["lease"])
    assert r.status_code == 200 and len(q.captured_queries) == 1
    with connection.cursor() as cur:
        cur.execute("EXPLAIN QUERY PLAN " + q.captured_queries[0]["sql"])
        plan = [row[-1] for row in cur.fetchall()]
    spans = [line for line in plan if re.match(r"(SEARCH|SCAN) c\b", line)]  # c: the page contacts' alias
    assert len(spans) == 1 and not any("CORRELATED" in line for line in plan), plan
