"""Backdated answers on the platform: every stored answer keeps its arrival beside its stamp (the
test's and the questionnaire's, one rule), the idle page's heartbeats are recorded as contact spans
only when prompt, and the response forensics turn a crafted late answer — sent while the page was
online, or long after time-up — into a ``backdated`` flag in the reviewers' queue, with clock
times, for the reviewers of the session's county only; an honest outage's late answers are not."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import polars as pl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.web.delivery.conftest import CODE_A0, CODE_A4

pytestmark = pytest.mark.django_db


def _ch(item, raw, seq, at=None, lease=0):
    from junheng_web.delivery.services import Change

    return Change(uuid.uuid4(), item, raw, seq, at, lease)


def test_every_stored_answer_keeps_its_arrival_beside_its_stamp(dw):
    from junheng.synth import student_questionnaire
    from junheng_web.delivery.models import Answer, QuestionnaireAnswer
    from junheng_web.delivery.services import record_answers, sign_in, store_changes
    from junheng_web.questionnaires.services import define

    a = sign_in(CODE_A0)
    given, arrived = timezone.now() - dt.timedelta(minutes=3), timezone.now() + dt.timedelta(seconds=7)
    late = _ch("I1", "B", 1, at=given)
    record_answers(a, [late], now=arrived)
    row = Answer.objects.get(id=late.id)
    assert (row.client_at, row.received_at) == (given, arrived)
    record_answers(a, [late], now=arrived + dt.timedelta(minutes=5))  # a replay keeps the first arrival
    assert Answer.objects.get(id=late.id).received_at == arrived
    # the questionnaire's answers go through the same rule
    q, _ = define(dw.cycle, student_questionnaire().to_json())
    qa = _ch("Q01", "1", 1, at=given)
    store_changes(a, [qa], now=arrived, end=arrived + dt.timedelta(hours=1), opened=given - dt.timedelta(hours=1),
                  model=QuestionnaireAnswer,
                  make=lambda c, at: QuestionnaireAnswer(id=c.id, attempt=a, questionnaire=q, item=c.item_id, raw=c.raw,
                                                         seq=c.seq, lease=c.lease, client_at=at))
    row = QuestionnaireAnswer.objects.get(id=qa.id)
    assert (row.client_at, row.received_at) == (given, arrived)


def _signed_in(code: str) -> tuple[Client, dict]:
    c = Client()
    assert c.post("/test/", {"code": code}).status_code == 302
    page = c.get("/test/take/").content.decode()
    return c, json.loads(re.search(r'<script id="delivery-data" type="application/json">(.*?)</script>', page, re.S).group(1))


def test_a_prompt_heartbeat_is_a_contact_and_heartbeats_merge_into_spans(dw, settings):
    from junheng_web.delivery.models import Attempt, PageContact
    from junheng_web.delivery.services import record_contact

    settings.JUNHENG_PUPIL_POLL_SECONDS = 10
    c, data = _signed_in(CODE_A0)
    now_ms = int(timezone.now().timestamp() * 1000)
    assert c.get(f"/test/status/?lease={data['lease']}&at={now_ms}").status_code == 200
    span = PageContact.objects.get()
    assert (span.lease, span.beats, span.gap_s) == (data["lease"], 1, 25.0)
    # no stamp, a stale one (a request held by a failing link) or nonsense: answered, not counted
    for at in ("", str(now_ms - 60_000), "soon"):
        assert c.get(f"/test/status/?lease={data['lease']}&at={at}").status_code == 200
    assert PageContact.objects.get().beats == 1
    # a lease the attempt never opened (a crafted poll): answered, no span of a page that never was
    for lease in (data["lease"] + 1, 10**6):
        assert c.get(f"/test/status/?lease={lease}&at={now_ms}").status_code == 200
    assert PageContact.objects.count() == 1
    a = Attempt.objects.get(pk=data["attempt"])
    t0 = span.first_at
    ms = lambda t: int(t.timestamp() * 1000)  # noqa: E731
    assert record_contact(a, data["lease"], ms(t0 + dt.timedelta(seconds=20)), now=t0 + dt.timedelta(seconds=20))
    assert record_contact(a, data["lease"], ms(t0 + dt.timedelta(seconds=44)), now=t0 + dt.timedelta(seconds=44))
    assert PageContact.objects.count() == 1 and PageContact.objects.get().last_at == t0 + dt.timedelta(seconds=44)
    # more than 25 s of silence (an outage): a new span; another page of the attempt: its own span
    assert record_contact(a, data["lease"], ms(t0 + dt.timedelta(seconds=80)), now=t0 + dt.timedelta(seconds=80))
    Attempt.objects.filter(pk=a.pk).update(lease=data["lease"] + 1)  # a reload opened the next page
    a.refresh_from_db()
    assert record_contact(a, data["lease"] + 1, ms(t0 + dt.timedelta(seconds=81)), now=t0 + dt.timedelta(seconds=81))
    spans = list(PageContact.objects.order_by("lease", "first_at").values_list("lease", "beats"))
    assert spans == [(data["lease"], 3), (data["lease"], 1), (data["lease"] + 1, 1)]


def _contact_writes(queries) -> int:
    return sum(1 for q in queries if "delivery_pagecontact" in q["sql"]
               and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")))


def test_a_burst_of_polls_writes_one_span_and_a_steady_poll_every_other_heartbeat(dw, settings):
    """The heartbeat is coarse: a span's end moves only when older than half its gap (12.5 s at the
    10 s poll).  A burst of 20 polls (a hammering or reloading client) writes the span once — the old
    code wrote every poll (20) — and 13 polls 10 s apart (two minutes) write 7 times, still one span
    from the first to the last recorded heartbeat, which the in-contact rule reads as before."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from junheng.supervision.arrivals import late_answers
    from junheng_web.delivery.models import Attempt, PageContact
    from junheng_web.delivery.services import record_contact

    settings.JUNHENG_PUPIL_POLL_SECONDS = 10
    c, data = _signed_in(CODE_A0)
    with CaptureQueriesContext(connection) as burst:
        for _ in range(20):
            assert c.get(f"/test/status/?lease={data['lease']}&at={int(timezone.now().timestamp() * 1000)}"
                         ).status_code == 200
    assert _contact_writes(burst.captured_queries) == 1
    assert PageContact.objects.count() == 1
    a = Attempt.objects.get(pk=data["attempt"])
    PageContact.objects.all().delete()
    t0 = timezone.now() + dt.timedelta(minutes=1)
    beats = [t0 + dt.timedelta(seconds=10 * k) for k in range(13)]
    with CaptureQueriesContext(connection) as steady:
        for t in beats:
            assert record_contact(a, data["lease"], int(t.timestamp() * 1000), now=t)
    assert _contact_writes(steady.captured_queries) == 7  # t0 (a span), then t0 + 20, 40, …, 120 s
    span = PageContact.objects.get()
    assert (span.first_at, span.last_at, span.beats, span.gap_s) == (t0, beats[-1], 7, 25.0)
    # a crafted answer stamped at t0 + 5 s arriving at t0 + 120 s while the page polled: caught in contact
    utc = lambda t: t.astimezone(dt.UTC)  # noqa: E731
    flags = late_answers(
        pl.DataFrame({"person_id": ["p"], "lease": [data["lease"]], "item_id": ["I1"],
                      "at": [utc(t0 + dt.timedelta(seconds=5))], "received_at": [utc(beats[-1])]}),
        pl.DataFrame({"person_id": ["p"], "lease": [data["lease"]], "first_at": [utc(span.first_at)],
                      "last_at": [utc(span.last_at)], "gap_s": [span.gap_s]}))
    assert flags["rule"].to_list() == ["contact"] and flags["evidence"].to_list() == ["heartbeat"]
    # a heartbeat 8 s after a recorded end (under the 12.5 s step) is covered, not written; 26 s after
    # the last recorded end (over the 25 s gap): an outage, a new span
    with CaptureQueriesContext(connection) as late:
        t = beats[-1] + dt.timedelta(seconds=8)
        assert record_contact(a, data["lease"], int(t.timestamp() * 1000), now=t)
    assert _contact_writes(late.captured_queries) == 0
    t = beats[-1] + dt.timedelta(seconds=26)
    assert record_contact(a, data["lease"], int(t.timestamp() * 1000), now=t)
    assert PageContact.objects.count() == 2


def test_a_crafted_late_answer_is_flagged_with_clock_times_for_the_countys_reviewers_only(client, dw, settings):
    """A0's page is online (heartbeats at 10:05–10:20) and at 10:30 a request stamps I2 at 10:00:
    the in-contact rule.  A4 loses the network from 10:00 to 10:30 (no heartbeat, the queue drains
    in order at 10:30): late, but no flag.  Times are Beijing's."""
    from junheng_web.cycles.forensics import arrival_inputs, session_forensics
    from junheng_web.delivery.models import Answer, Attempt, PageContact
    from junheng_web.delivery.services import sign_in
    from junheng_web.supervision.models import Flag
    from junheng_web.testsites.models import TestSession

    settings.TIME_ZONE = "Asia/Shanghai"
    session = dw.sessions["A"]
    ten = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
    TestSession.objects.filter(pk=session.pk).update(starts_at=ten - dt.timedelta(minutes=10),
                                                     ends_at=ten + dt.timedelta(minutes=50))
    items = dw.delivery["items"]
    for code, heartbeats, rows in (
            (CODE_A0, True, [("I1", 0, 1), ("I2", 0, 30), ("I4", 15, 15.01)]),  # (item, given, arrived) in minutes
            (CODE_A4, False, [("I1", 0, 30), ("I2", 5, 30.001), ("I4", 31, 31.01)])):
        a = sign_in(code, now=ten - dt.timedelta(minutes=5))
        Attempt.objects.filter(pk=a.pk).update(lease=1)
        for k, (item, given, arrived) in enumerate(rows, 1):
            Answer.objects.create(id=uuid.uuid4(), attempt=a, item=items[item], raw="B", seq=k, lease=1,
                                  client_at=ten + dt.timedelta(minutes=given),
                                  received_at=ten + dt.timedelta(minutes=arrived))
        if heartbeats:
            PageContact.objects.create(attempt=a, lease=1, first_at=ten + dt.timedelta(minutes=5),
                                       last_at=ten + dt.timedelta(minutes=20), beats=90, gap_s=25)
    a0, a4 = dw.pupils["A"][0].student_id, dw.pupils["A"][4].student_id
    inputs = arrival_inputs(session)
    assert inputs["arrivals"].height == 6 and inputs["contacts"].height == 1
    assert sorted(inputs["stops"].filter(inputs["stops"]["what"] == "time_up")["person_id"]) == sorted([a0, a4])
    session_forensics(session)
    flag = Flag.objects.get(kind="backdated")
    assert (flag.person_id, flag.severity, flag.status) == (a0, "serious", "open")
    assert "I2 标记于 10:00:00、10:30:00 到达（其间 10:05:00 已收到该页面的心跳）" in flag.detail
    assert not Flag.objects.filter(kind="backdated", person_id=a4).exists()

    client.force_login(dw.users["rita"])  # county A's reviewer: in the queue, with the clock times
    assert f'data-flag="{flag.pk}"' in client.get(reverse("review_queue")).content.decode()
    page = client.get(reverse("flag_detail", kwargs={"flag": flag.pk})).content.decode()
    assert "10:00:00、10:30:00" in page and "作答迟于标记时间到达" in page and 'id="backdated-rule"' in page
    # the page names a pupil, their answers and times: the view is audited, in the county's region
    from junheng_web.accounts.models import AuditLog
    seen = AuditLog.objects.filter(action="view", what__startswith=f"video flag {flag.pk} backdated")
    assert list(seen.values_list("username", "rows", "region_code")) == [
        (dw.users["rita"].username, 1, session.site.county.code)]
    client.force_login(dw.users["charlie"])  # county B: neither in the queue nor on the page
    assert f'data-flag="{flag.pk}"' not in client.get(reverse("review_queue")).content.decode()
    assert client.get(reverse("flag_detail", kwargs={"flag": flag.pk})).status_code in (403, 404)


def test_an_answer_arriving_long_after_time_up_is_a_warning_and_a_short_outage_is_none(dw):
    from junheng_web.cycles.forensics import session_forensics
    from junheng_web.delivery.models import Answer
    from junheng_web.delivery.services import sign_in
    from junheng_web.supervision.models import Flag

    session = dw.sessions["A"]
    end = session.ends_at
    items = dw.delivery["items"]
    for code, after in ((CODE_A0, dt.timedelta(minutes=25)), (CODE_A4, dt.timedelta(minutes=4))):
        a = sign_in(code)
        Answer.objects.create(id=uuid.uuid4(), attempt=a, item=items["I1"], raw="B", seq=1, lease=1,
                              client_at=end - dt.timedelta(seconds=20), received_at=end + after)
    session_forensics(session)
    flags = list(Flag.objects.filter(kind="backdated").values_list("person_id", "severity"))
    assert flags == [(dw.pupils["A"][0].student_id, "warning")]
    assert "时间到" in Flag.objects.get(kind="backdated").detail


def test_the_backdated_rules_inputs_read_the_proctors_events_once_for_the_session(dw):
    """arrival_inputs reads attempts, answers, contacts, the proctor's events and leases: five queries
    however many pupils started (the events were read once a pupil); each pupil's stops still its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from junheng_web.cycles.forensics import arrival_inputs
    from junheng_web.delivery import proctor
    from junheng_web.delivery.services import sign_in

    session = dw.sessions["A"]
    a0, a4 = dw.pupils["A"][0].student_id, dw.pupils["A"][4].student_id
    for code in (CODE_A0, CODE_A4):
        sign_in(code)
    proctor.act(session, "pause", student_id=a4, now=session.starts_at + dt.timedelta(minutes=5))
    with CaptureQueriesContext(connection) as read:
        inputs = arrival_inputs(session)
    assert len(read.captured_queries) == 5
    stops = inputs["stops"]
    assert sorted(stops.filter(stops["what"] == "pause")["person_id"]) == [a4]
    assert sorted(stops.filter(stops["what"] == "time_up")["person_id"]) == sorted([a0, a4])


def test_the_proctors_console_shows_answers_that_arrived_late_with_the_clock_time(dw, client, settings):
    """A0's first answer arrived 5 minutes after its stamp (an outage, or stamped early), the second
    at once: the console's row says 1 · the late arrival's clock time (Beijing), the JSON too."""
    from junheng_web.delivery import proctor
    from junheng_web.delivery.models import Answer
    from junheng_web.delivery.services import sign_in

    settings.TIME_ZONE = "Asia/Shanghai"
    s, items = dw.sessions["A"], dw.delivery["items"]
    a = sign_in(CODE_A0)
    ten = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)
    for k, (item, arrived) in enumerate((("I1", ten + dt.timedelta(minutes=5)), ("I2", ten + dt.timedelta(seconds=2))), 1):
        Answer.objects.create(id=uuid.uuid4(), attempt=a, item=items[item], raw="B", seq=k, lease=1, client_at=ten,
                              received_at=arrived)
    rows = {r["key"]: r for r in proctor.board(s)["rows"]}
    mine = rows[dw.pupils["A"][0].student_id]
    assert (mine["changes"], mine["late"], mine["late_last"]) == (2, 1, ten + dt.timedelta(minutes=5))
    assert rows[dw.pupils["A"][4].student_id]["late"] == 0
    client.force_login(dw.users["paul"])
    page = client.get(f"/test/sessions/{s.pk}/").content.decode()
    assert '<td class="late">1 · 10:05:00</td>' in page and "迟到达的作答" in page
    live = client.get(f"/test/sessions/{s.pk}/status.json").json()
    assert sorted((r["late"], r["late_last"]) for r in live["rows"])[-1] == (1, (ten + dt.timedelta(minutes=5)).isoformat())


def test_answers_sent_under_an_older_page_or_stamped_before_their_page_opened_are_flagged(dw, settings):
    """Crafted requests the server takes, with no heartbeat of the page they name: A0 reloads at
    10:20 and at 10:45 sends I3 under the first page's lease, stamped 10:19:50 (before the reload
    closed it); A4 opens a page at 10:20 and at 10:21 sends I3 under it stamped 10:05.  The pages'
    openings (``Lease``) catch both; A0's honest queue of the first page (I4 stamped 10:19, sent as
    the new page opened) is not."""
    from junheng_web.cycles.forensics import session_forensics
    from junheng_web.delivery.models import Answer
    from junheng_web.delivery.services import open_lease, record_answers, sign_in
    from junheng_web.supervision.models import Flag
    from junheng_web.testsites.models import TestSession

    settings.TIME_ZONE = "Asia/Shanghai"
    session = dw.sessions["A"]
    ten = dt.datetime(2026, 6, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
    TestSession.objects.filter(pk=session.pk).update(starts_at=ten - dt.timedelta(minutes=10),
                                                     ends_at=ten + dt.timedelta(minutes=50))
    m = lambda minutes: ten + dt.timedelta(minutes=minutes)  # noqa: E731
    sent = {}
    for code, rows in ((CODE_A0, [("I4", 1, 19, 20.02), ("I3", 1, 20 - 10 / 60, 45)]), (CODE_A4, [("I3", 2, 5, 21)])):
        a = sign_in(code, now=m(-5))
        open_lease(a, m(0))
        open_lease(a, m(20))
        for k, (item, lease, given, arrived) in enumerate(rows, 1):
            ch = _ch(item, "B", k, at=m(given), lease=lease)
            assert record_answers(a, [ch], now=m(arrived)).ack == [str(ch.id)]  # the server takes each
            sent[ch.id] = item
    assert Answer.objects.filter(id__in=list(sent)).count() == 3
    session_forensics(session)
    flags = {f.person_id: f for f in Flag.objects.filter(kind="backdated")}
    a0, a4 = dw.pupils["A"][0].student_id, dw.pupils["A"][4].student_id
    assert set(flags) == {a0, a4}
    assert flags[a0].severity == "warning" and "1 个作答在暂停、终止、时间到或新页面打开之后" in flags[a0].detail
    assert "I3 标记于新页面打开 10:20:00 之前，10:45:00 到达" in flags[a0].detail and "I4" not in flags[a0].detail
    assert flags[a4].severity == "serious" and "I3 标记于 10:05:00、10:21:00 到达（其间 10:20:00 该页面已打开）" in flags[a4].detail


@pytest.mark.parametrize("value", ["10s", "0", "-5", "nan"])
def test_a_bad_poll_period_in_the_environment_stops_the_start_not_every_pupil_page(tmp_path, value):
    """JUNHENG_PUPIL_POLL_SECONDS was read on each poll: "10s" made every test page and poll a 500 on
    the test day (and "0" a page polling without pause); now the settings refuse it at start-up."""
    import os
    import subprocess
    import sys

    env = os.environ | {"JUNHENG_PUPIL_POLL_SECONDS": value, "JUNHENG_HOME": str(tmp_path), "JUNHENG_SECRET_KEY": "x" * 60}
    run = subprocess.run([sys.executable, "-c", "import junheng_web.settings"], env=env, capture_output=True, text=True)
    assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr, run.stderr
    assert "JUNHENG_PUPIL_POLL_SECONDS must be a positive number of seconds" in run.stderr
    env["JUNHENG_PUPIL_POLL_SECONDS"] = "20"
    run = subprocess.run([sys.executable, "-c", "import junheng_web.settings as s; print(s.JUNHENG_PUPIL_POLL_SECONDS)"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "20.0", run.stderr
