"""The proctor's console (issue 15.4): every action recorded, enforced on the server — a paused
pupil's answers refused, extra time and pauses moving the end, a terminated pupil kept out —
scoped to the session's staff and audited."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from junheng.exceptions import ParameterError
from tests.web.delivery.conftest import CODE_A0
from tests.web.delivery.test_pages import _post, _signed_in, _token

pytestmark = pytest.mark.django_db


def _ch(item, raw, seq, at, lease=0):
    from junheng_web.delivery.services import Change

    return Change(uuid.uuid4(), item, raw, seq, at, lease)


def test_pause_refuses_answers_given_while_paused_and_moves_the_end(dw):
    from junheng_web.delivery import proctor
    from junheng_web.delivery.services import record_answers, sign_in, time_up

    s, a0 = dw.sessions["A"], dw.pupils["A"][0].student_id
    attempt = sign_in(CODE_A0)
    t0 = s.starts_at + dt.timedelta(minutes=10)
    proctor.act(s, "pause", student_id=a0, now=t0)
    t1 = t0 + dt.timedelta(minutes=4)
    done = record_answers(attempt, [_ch("I1", "A", 1, t0 + dt.timedelta(minutes=1)), _ch("I4", "B", 2, t0 - dt.timedelta(minutes=1))],
                          now=t1)
    assert list(done.refused.values()) == ["paused"] and len(done.ack) == 1 and done.state == "paused"
    assert done.ends_at == s.ends_at + dt.timedelta(minutes=4)  # the clock stands while paused
    proctor.act(s, "resume", student_id=a0, now=t1)
    proctor.act(s, "extend", student_id=a0, minutes=10, now=t1)
    assert time_up(attempt, t1) == s.ends_at + dt.timedelta(minutes=14)
    late = s.ends_at + dt.timedelta(minutes=12)  # after the schedule, inside the extended window
    assert record_answers(attempt, [_ch("I1", "C", 3, late)], now=late).ack
    with pytest.raises(ParameterError, match="已经暂停|没有暂停"):
        proctor.act(s, "resume", student_id=a0, now=t1)


def test_the_room_pause_holds_every_pupil_and_a_late_start_moves_the_end(dw):
    from junheng_web.delivery import proctor

    s = dw.sessions["A"]
    a0, a4 = dw.pupils["A"][0].student_id, dw.pupils["A"][4].student_id
    proctor.act(s, "start", now=s.starts_at + dt.timedelta(minutes=3))
    with pytest.raises(ParameterError, match="已经开始"):
        proctor.act(s, "start", now=s.starts_at + dt.timedelta(minutes=4))
    proctor.act(s, "pause", now=s.starts_at + dt.timedelta(minutes=20))
    proctor.act(s, "resume", now=s.starts_at + dt.timedelta(minutes=25))
    for sid in (a0, a4):
        w = proctor.window(s, sid, s.starts_at + dt.timedelta(minutes=30))
        assert w.end == s.ends_at + dt.timedelta(minutes=8) and w.stopped_at(s.starts_at + dt.timedelta(minutes=21))


def test_terminate_keeps_the_pupil_out_until_reactivated(dw):
    from junheng_web.delivery import proctor
    from junheng_web.delivery.services import record_answers, sign_in

    s, a0 = dw.sessions["A"], dw.pupils["A"][0].student_id
    attempt = sign_in(CODE_A0)
    proctor.act(s, "terminate", student_id=a0, note="作弊嫌疑")
    with pytest.raises(ParameterError, match="终止"):
        sign_in(CODE_A0)
    from django.utils import timezone

    now = timezone.now()
    assert list(record_answers(attempt, [_ch("I1", "A", 1, now)], now=now).refused.values()) == ["terminated"]
    proctor.act(s, "reactivate", student_id=a0)
    assert sign_in(CODE_A0).pk == attempt.pk


def test_bad_actions_are_refused_with_a_message(dw):
    from junheng_web.delivery import proctor

    s, a0 = dw.sessions["A"], dw.pupils["A"][0].student_id
    for kwargs, message in [({"action": "extend", "student_id": a0, "minutes": 0}, "1–240"),
                            ({"action": "terminate"}, "需要选择一名学生"),
                            ({"action": "incident", "note": " "}, "异常情况说明"),
                            ({"action": "checkin", "student_id": dw.pupils["B"][0].student_id}, "不在本场次"),
                            ({"action": "reactivate", "student_id": a0}, "没有被终止"),
                            ({"action": "fly"}, "未知操作")]:
        with pytest.raises(ParameterError, match=message):
            proctor.act(s, kwargs.pop("action"), **kwargs)


def test_the_console_page_acts_audits_and_hides_the_student_id(dw, client):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.delivery.models import ProctorEvent

    s, a0 = dw.sessions["A"], dw.pupils["A"][0]
    client.force_login(dw.users["paul"])
    url = f"/test/sessions/{s.pk}/"
    page = client.get(url).content.decode()
    assert a0.student_id not in page
    token = re.search(r'<tr data-state="absent" data-pupil="([^"]+)"', page).group(1)
    assert client.post(url + "act/", {"action": "checkin", "pupil": token}).status_code == 302
    assert client.post(url + "act/", {"action": "extend", "pupil": token, "minutes": "20"}).status_code == 302
    assert client.post(url + "act/", {"action": "incident", "note": "停电 3 分钟"}).status_code == 302
    forged = client.post(url + "act/", {"action": "pause", "pupil": "forged"}, follow=True).content.decode()
    assert "学生标识无效" in forged
    assert sorted(ProctorEvent.objects.filter(session=s).values_list("action", "student_id", "minutes")) == [
        ("checkin", a0.student_id, None), ("extend", a0.student_id, 20), ("incident", "", None)]
    assert AuditLog.objects.filter(action="test.extend", username="paul").exists()
    page = client.get(url).content.decode()
    assert "停电 3 分钟" in page and "(+20′)" in page and 'data-state="checked_in"' in page
    status = client.get(url + "status.json").json()
    assert status["counts"]["checked_in"] == 1 and {r["key"] for r in status["rows"]} >= {token}
    client.force_login(dw.users["erin"])  # another county's school: not this session
    assert client.post(url + "act/", {"action": "start"}).status_code == 404
    client.force_login(dw.users["bob"])  # county staff may look but not run the session? (role decides)
    from junheng_web.accounts.scoping import can

    expected = 302 if can(dw.users["bob"], "session.run") else 403
    assert client.post(url + "act/", {"action": "start"}).status_code == expected


def test_a_paused_pupil_is_told_through_the_answers_api(dw):
    from junheng_web.delivery import proctor

    c = _signed_in()
    token = _token(c)
    proctor.act(dw.sessions["A"], "pause")
    resp = _post(c, "/test/answers/", {"lease": 1, "answers": [{"id": str(uuid.uuid4()), "item": "I1", "raw": "B",
                                                              "seq": 1, "lease": 1}]}, token).json()
    assert list(resp["refused"].values()) == ["paused"] and resp["hold"] == "paused" and resp["ends_at"]


def test_a_pupil_with_extra_time_signs_in_again_after_the_scheduled_end(dw):
    from junheng_web.delivery import proctor
    from junheng_web.delivery.services import sign_in

    s, a0 = dw.sessions["A"], dw.pupils["A"][0].student_id
    attempt = sign_in(CODE_A0)
    proctor.act(s, "extend", student_id=a0, minutes=20)
    assert sign_in(CODE_A0, now=s.ends_at + dt.timedelta(minutes=19)).pk == attempt.pk
    with pytest.raises(ParameterError, match="已经结束"):
        sign_in(CODE_A0, now=s.ends_at + dt.timedelta(minutes=21))


def test_rows_without_a_lookup_key_as_on_a_site_node_still_tell_not_yet_open(dw):
    """A site node's login codes carry no lookup key (the centre's key stays at the centre): the
    code is found by its salted hash, also to say that the session opens later."""
    from junheng_web.delivery.services import SessionNotOpen, sign_in
    from junheng_web.testsites.models import LoginCode

    LoginCode.objects.update(lookup=None)
    s = dw.sessions["A"]
    with pytest.raises(SessionNotOpen, match="尚未开始"):
        sign_in(CODE_A0, now=s.starts_at - dt.timedelta(hours=2))
    assert sign_in(CODE_A0).session == s
    assert LoginCode.objects.filter(lookup__isnull=False).count() == 1  # keyed on first use


def test_the_board_tells_each_pupils_state_and_end(dw):
    from junheng_web.delivery import proctor
    from junheng_web.delivery.services import sign_in, submit

    s = dw.sessions["A"]
    a0, a4 = dw.pupils["A"][0].student_id, dw.pupils["A"][4].student_id
    sign_in(CODE_A0)
    proctor.act(s, "checkin", student_id=a4)
    proctor.act(s, "extend", student_id=a4, minutes=30)
    rows = {r["key"]: r for r in proctor.board(s)["rows"]}
    assert rows[a0]["state"] == "started" and rows[a4]["state"] == "checked_in" and rows[a4]["extra"] == 30
    assert rows[a4]["ends_at"] == s.ends_at + dt.timedelta(minutes=30)
    later = {r["key"]: r for r in proctor.board(s, now=s.ends_at + dt.timedelta(minutes=10))["rows"]}
    assert later[a0]["state"] == "time_up" and later[a4]["state"] == "checked_in"  # a4's time runs on
    submit(sign_in(CODE_A0))
    assert {r["key"]: r for r in proctor.board(s)["rows"]}[a0]["state"] == "submitted"
    proctor.act(s, "terminate", student_id=a4)
    assert {r["key"]: r for r in proctor.board(s)["rows"]}[a4]["state"] == "terminated"


class _Walked(list):
    """The session's events, counting how often the board walks them."""
    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


def test_the_board_of_a_room_of_many_pupils_splits_the_events_once_with_the_same_rows(dw, monkeypatch):
    """A room of 42 pupils with the room's and pupils' own events: each row's state, end, extra time and
    hold equal what :func:`proctor.window` gives the pupil alone (its events read from the database
    per pupil) and the hand-worked pattern; the board asks as many queries as for the two pupils of
    the plain room, and walks the session's events a fixed number of times (it filtered them twice a
    pupil: 86 walks here)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from junheng_web.delivery import proctor
    from junheng_web.registry.models import Pupil
    from junheng_web.sampling.models import SampledPupil
    from tests.web.conftest import student_id

    s = dw.sessions["A"]
    proctor.board(s)  # the session's site and cycle, kept on the instance from here on
    with CaptureQueriesContext(connection) as two:
        assert len(proctor.board(s)["rows"]) == 2
    sampled = SampledPupil.objects.filter(pupil=dw.pupils["A"][0]).get()
    for k in range(100, 140):  # 40 more pupils of 语文 in session A's school
        pupil = Pupil.objects.create(student_id=student_id("410102", k), name=f"多{k}", sex=1, grade=6,
                                     birth_date=dt.date(2011, 3, 1), school=dw.schools["A"])
        SampledPupil.objects.create(run=sampled.run, cycle=dw.cycle, pupil=pupil, sampled_school=sampled.sampled_school,
                                    subject="语文", pupil_order=k, school_weight=2.0, pupil_weight=1.0, base_weight=2.0)
    t = s.starts_at
    proctor.act(s, "start", now=t + dt.timedelta(minutes=2))  # a late start: every end 2 minutes later
    proctor.act(s, "pause", now=t + dt.timedelta(minutes=10))
    proctor.act(s, "resume", now=t + dt.timedelta(minutes=13))  # the room's pause: 3 more
    sids = [student_id("410102", k) for k in range(100, 140)]
    for i, sid in enumerate(sids):
        at = t + dt.timedelta(minutes=20, seconds=i)
        if i % 5 == 1:
            proctor.act(s, "checkin", student_id=sid, now=at)
        elif i % 5 == 2:
            proctor.act(s, "pause", student_id=sid, now=at)  # still paused
        elif i % 5 == 3:
            proctor.act(s, "terminate", student_id=sid, now=at)
        elif i % 5 == 4:
            proctor.act(s, "extend", student_id=sid, minutes=15, now=at)
    now = t + dt.timedelta(minutes=30)
    _Walked.walks = 0
    events = proctor._events
    monkeypatch.setattr(proctor, "_events", lambda session, student_id=None: _Walked(events(session, student_id)))
    with CaptureQueriesContext(connection) as many:
        board = proctor.board(s, now=now)
    walks = _Walked.walks
    monkeypatch.undo()
    rows = {r["key"]: r for r in board["rows"]}
    assert len(rows) == 42 and board["room"] == "started"
    assert len(many.captured_queries) == len(two.captured_queries)
    assert walks <= 2, walks
    expected = {0: ("absent", "", 0), 1: ("checked_in", "", 0), 2: ("paused", "paused", 0),
                3: ("terminated", "terminated", 0), 4: ("absent", "", 15)}
    for i, sid in enumerate(sids):
        alone = proctor.window(s, sid, now)
        state, hold, extra = expected[i % 5]
        assert (rows[sid]["state"], rows[sid]["hold"], rows[sid]["extra"]) == (state, hold, extra), (i, rows[sid])
        assert rows[sid]["ends_at"] == alone.end, i
        if i % 5 in (0, 1):
            assert alone.end == s.ends_at + dt.timedelta(minutes=5)
        if i % 5 == 4:
            assert alone.end == s.ends_at + dt.timedelta(minutes=20)
        assert (rows[sid]["checked_in"], rows[sid]["extra"]) == (alone.checked_in, alone.extra_minutes)
    # proctor.windows (the forensics' reading) splits them the same way
    assert {sid: w.end for sid, w in proctor.windows(s, sids, now).items()} == {sid: rows[sid]["ends_at"] for sid in sids}


def test_the_status_endpoint_tells_an_idle_page_the_hold_the_end_and_a_newer_page(dw):
    """/test/status/ (polled by an idle test page): the proctor's hold, the end moved by extra time,
    and ``moved`` for a page whose lease a newer page closed; only the pupil's own cookie reaches it."""
    from django.test import Client

    from junheng_web.delivery import proctor
    from tests.web.delivery.test_pages import _data

    s, a0 = dw.sessions["A"], dw.pupils["A"][0].student_id
    c = _signed_in()
    lease = _data(c.get("/test/take/").content.decode())["lease"]
    body = c.get(f"/test/status/?lease={lease}").json()
    assert body["hold"] == "" and not body["moved"] and not body["closed"]
    assert dt.datetime.fromisoformat(body["ends_at"]) == s.ends_at
    proctor.act(s, "pause", student_id=a0)
    assert c.get(f"/test/status/?lease={lease}").json()["hold"] == "paused"
    page = _data(c.get("/test/take/").content.decode())  # a reload during the hold says so at once
    assert page["hold"] == "paused" and page["status_url"] == "/test/status/"
    proctor.act(s, "resume", student_id=a0)
    proctor.act(s, "extend", student_id=a0, minutes=15)
    body = c.get(f"/test/status/?lease={lease}").json()
    assert body["hold"] == "" and body["moved"]  # the reload above opened a newer lease
    assert dt.datetime.fromisoformat(body["ends_at"]) >= s.ends_at + dt.timedelta(minutes=15)
    proctor.act(s, "terminate", student_id=a0)
    assert c.get(f"/test/status/?lease={page['lease']}").json() | {"ends_at": None, "now": None} == {
        "hold": "terminated", "closed": False, "moved": False, "ends_at": None, "now": None}
    assert Client().get("/test/status/").status_code == 403
    assert c.get("/test/status/?lease=x").status_code == 400
    assert c.post("/test/status/").status_code in (403, 405)  # CSRF first, then GET only


def test_a_proctor_runs_only_a_session_not_assigned_to_another_proctor(dw, client):
    """Two rooms of one school's site: a proctor may look at the other room's console but neither
    act in it nor unlock its pupils' browsers; a role that does not run sessions cannot unlock."""
    from junheng_web.accounts.models import User
    from junheng_web.delivery.models import CodeUnlock, ProctorEvent

    s = dw.sessions["A"]
    pat = User.objects.create(username="pat", role="proctor", school=dw.users["paul"].school)
    s.proctor = pat
    s.save()
    url = f"/test/sessions/{s.pk}/"
    client.force_login(dw.users["paul"])  # the school's other proctor
    page = client.get(url)
    assert page.status_code == 200 and "room-controls" not in page.content.decode()
    assert client.post(url + "act/", {"action": "start"}).status_code == 403
    assert client.post(url + "unlock/", {"number": "ABCDEF12"}).status_code == 403
    client.force_login(dw.users["anna"])  # a province analyst sees sessions but runs none
    assert client.post(url + "unlock/", {"number": "ABCDEF12"}).status_code == 403
    assert not CodeUnlock.objects.exists() and not ProctorEvent.objects.exists()
    client.force_login(pat)
    assert "room-controls" in client.get(url).content.decode()
    assert client.post(url + "act/", {"action": "start"}).status_code == 302
    assert client.post(url + "unlock/", {"number": "ABCDEF12"}).status_code == 302
    assert list(ProctorEvent.objects.values_list("by", flat=True)) == ["pat"] and CodeUnlock.objects.count() == 1


def _form(page: str, where: str) -> dict:
    """The hidden fields of the console form after ``where`` (a pupil's row or the room's form)."""
    part = page[page.index(where):]
    part = part[:part.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', part))


def test_a_form_sent_twice_extends_once_and_two_deliberate_extends_both_apply(dw, client):
    """A double click on 延长 15, or the form sent again, is one extension (it was two: 30 minutes);
    an extension asked for on the page shown after the first is a second one."""
    from junheng_web.delivery import proctor
    from junheng_web.delivery.models import ProctorEvent

    s, a0 = dw.sessions["A"], dw.pupils["A"][0].student_id
    client.force_login(dw.users["paul"])
    url = f"/test/sessions/{s.pk}/"
    page = client.get(url).content.decode()
    token = re.search(r'<tr data-state="absent" data-pupil="([^"]+)"', page).group(1)
    form = {**_form(page, f'data-pupil="{token}"'), "action": "extend", "minutes": "15"}
    assert client.post(url + "act/", form).status_code == 302
    again = client.post(url + "act/", form, follow=True).content.decode()
    assert "已由他人或重复提交处理" in again and "already done: 延长时间 +15′（paul，" in again
    assert proctor.window(s, a0).extra_minutes == 15
    assert "(+15′)" in again  # the page after the refusal shows what is now
    form = {**_form(again, f'data-pupil="{token}"'), "action": "extend", "minutes": "15"}  # a deliberate second
    assert client.post(url + "act/", form).status_code == 302
    assert proctor.window(s, a0).extra_minutes == 30
    assert list(ProctorEvent.objects.filter(session=s).values_list("action", "minutes")) == [("extend", 15)] * 2

    # the same for the room's pause and an incident report: the form sent again is refused
    page = client.get(url).content.decode()
    room = {**_form(page, 'id="room-controls"'), "action": "pause"}
    incident = {**_form(page, 'id="incident"'), "note": "停电"}
    for form in (room, room, incident, incident):
        client.post(url + "act/", form)
    assert sorted(ProctorEvent.objects.filter(session=s, student_id="").values_list("action", flat=True)) == [
        "incident", "pause"]
    assert "表单已损坏" in client.post(url + "act/", {**room, "seen": "x"}, follow=True).content.decode()


def test_a_form_rendered_before_another_proctors_action_on_the_pupil_is_refused(dw):
    """Two proctors answer one pupil's call for time: the second's page was rendered before the
    first's extension, so its own is refused, naming it; an action on another pupil, an incident
    report or the room's actions do not make a pupil's form stale."""
    from junheng_web.delivery import proctor

    s, a0, a1 = dw.sessions["A"], dw.pupils["A"][0].student_id, dw.pupils["A"][4].student_id
    before = {r["key"]: r["seen"] for r in proctor.board(s)["rows"]}
    proctor.act(s, "extend", student_id=a0, minutes=15, by="paul", seen=before[a0])
    proctor.act(s, "incident", student_id=a0, note="举手要求延时", by="paul")
    proctor.act(s, "pause", by="paul", seen=proctor.board(s)["room_seen"])  # the room's
    with pytest.raises(ParameterError, match=r"already done: 延长时间 \+15′（paul，"):
        proctor.act(s, "extend", student_id=a0, minutes=15, by="pat", seen=before[a0])
    proctor.act(s, "extend", student_id=a1, minutes=5, by="pat", seen=before[a1])
    assert proctor.window(s, a0).extra_minutes == 15 and proctor.window(s, a1).extra_minutes == 5
    with pytest.raises(ParameterError, match=r"already done: 暂停（paul，"):
        proctor.act(s, "pause", by="pat", seen=0)
