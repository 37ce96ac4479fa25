"""The pupil's pages through Django's test client: sign-in (throttled), the masked confirmation,
the test page without keys, the answers API behind CSRF, and submit closing the attempt."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.test import Client

from tests.web.delivery.conftest import CODE_A0, CODE_B0

pytestmark = pytest.mark.django_db


def _signed_in(code=CODE_A0) -> Client:
    c = Client(enforce_csrf_checks=True)
    page = c.get("/test/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    resp = c.post("/test/", {"code": code, "csrfmiddlewaretoken": token})
    assert resp.status_code == 302 and resp["Location"] == "/test/confirm/"
    return c


def _token(c: Client) -> str:
    page = c.get("/test/take/").content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def _data(page: str) -> dict:
    return json.loads(re.search(r'<script id="delivery-data" type="application/json">(.*?)</script>', page, re.S)
                      .group(1))


def _post(c, url, body, token):
    return c.post(url, json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=token)


def test_sign_in_confirm_and_the_page_without_keys(dw):
    c = _signed_in()
    page = c.get("/test/confirm/").content.decode()
    pupil = dw.pupils["A"][0]
    assert "A" + "*" * (len(pupil.name) - 1) in page and pupil.name not in page and "语文" in page
    assert pupil.student_id not in page
    take = c.get("/test/take/").content.decode()
    data = _data(take)
    assert [i["id"] for i in data["items"]] == ["I1", "I2", "I3", "I4"]
    assert all("key" not in i and "score_map" not in i for i in data["items"])
    assert "delivery.js" in take


def test_a_wrong_code_is_refused_and_the_browser_is_throttled(dw):
    from junheng_web.delivery.throttle import LIMIT

    c = Client()
    resp = c.post("/test/", {"code": "WRONG123"})
    assert resp.status_code == 400 and "登录码不正确" in resp.content.decode()
    for _ in range(LIMIT - 1):
        c.post("/test/", {"code": "WRONG123"})
    resp = c.post("/test/", {"code": CODE_A0})  # even the right code waits now
    assert resp.status_code == 429 and "junheng_attempt" not in resp.cookies


def test_pupils_behind_one_address_do_not_lock_each_other_or_the_staff(dw):
    """Issue 12.6: a school behind one NAT — 20 typos of one pupil lock that pupil's browser only;
    the next pupil and the staff sign in from the same address."""
    from junheng_web.accounts.throttle import LIMIT as STAFF_LIMIT

    typist = Client(REMOTE_ADDR="10.0.0.1")
    for k in range(4 * STAFF_LIMIT):
        typist.post("/test/", {"code": f"ZZZZ{k:04d}"})
    assert typist.post("/test/", {"code": CODE_A0}).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.1")
    assert other.post("/test/", {"code": CODE_B0}).status_code == 302
    staff = Client(REMOTE_ADDR="10.0.0.1")
    assert staff.post("/accounts/login/", {"username": "paul", "password": "correct horse battery staple"}
                      ).status_code == 302


def test_guessing_one_code_prefix_from_many_browsers_is_throttled(dw):
    """Fresh browsers (no cookie) for every guess: the guessed prefix locks, other codes still work."""
    from junheng_web.delivery.throttle import PREFIX_LIMIT

    for k in range(PREFIX_LIMIT):
        Client(REMOTE_ADDR=f"10.1.0.{k + 1}").post("/test/", {"code": CODE_A0[:4] + f"{k:04d}"})
    assert Client(REMOTE_ADDR="10.2.0.1").post("/test/", {"code": CODE_A0}).status_code == 429
    assert Client(REMOTE_ADDR="10.2.0.1").post("/test/", {"code": CODE_B0}).status_code == 302


def test_the_proctor_unlocks_a_locked_browser_and_it_is_audited(dw, client):
    from junheng_web.accounts.models import AuditLog
    from junheng_web.delivery.throttle import LIMIT

    pupil = Client()
    for _ in range(LIMIT):
        pupil.post("/test/", {"code": "WRONG123"})
    page = pupil.post("/test/", {"code": CODE_A0})
    assert page.status_code == 429
    number = re.search(r'data-unlock="([0-9A-F]+)"', page.content.decode()).group(1)
    client.force_login(dw.users["paul"])  # the proctor of school A
    resp = client.post(f"/test/sessions/{dw.sessions['A'].pk}/unlock/", {"number": number.lower()})
    assert resp.status_code == 302
    assert pupil.post("/test/", {"code": CODE_A0}).status_code == 302
    assert AuditLog.objects.filter(action="test.unlock", username="paul", what__contains=number).exists()
    client.force_login(dw.users["erin"])  # another county's school: not this session's staff
    assert client.post(f"/test/sessions/{dw.sessions['A'].pk}/unlock/", {"number": number}).status_code == 404


def _ms(when) -> int:
    return int(when.timestamp() * 1000)


def test_answers_are_acknowledged_restored_and_closed_by_submit(dw):
    import datetime as dt

    from django.utils import timezone

    c = _signed_in()
    token = _token(c)
    lease = _data(c.get("/test/take/").content.decode())["lease"]
    at = _ms(timezone.now())
    q = [{"id": str(uuid.uuid4()), "item": "I1", "raw": "B", "seq": 1, "lease": lease, "at": at},
         {"id": str(uuid.uuid4()), "item": "I3", "raw": "秋天的天很高。", "seq": 2, "lease": lease, "at": at}]
    resp = _post(c, "/test/answers/", {"lease": lease, "answers": q}, token)
    assert resp.status_code == 200 and resp.json()["ack"] == [e["id"] for e in q]
    assert resp.json()["refused"] == {} and not resp.json()["closed"] and not resp.json()["moved"]
    assert _post(c, "/test/answers/", {"answers": q}, token).json()["ack"] == [e["id"] for e in q]  # replay
    data = _data(c.get("/test/take/").content.decode())  # a reload gets the answers back (and a new lease)
    assert data["answers"] == {"I1": {"raw": "B", "seq": 1, "lease": lease},
                               "I3": {"raw": "秋天的天很高。", "seq": 2, "lease": lease}}
    assert data["max_seq"] == 2 and data["lease"] == lease + 1
    assert _post(c, "/test/submit/", {}, token).json() == {"submitted": True}
    late = {"id": str(uuid.uuid4()), "item": "I1", "raw": "C", "seq": 3, "lease": lease + 1,
            "at": _ms(timezone.now() + dt.timedelta(seconds=5))}
    resp = _post(c, "/test/answers/", {"lease": lease + 1, "answers": [late]}, token)
    assert resp.status_code == 200 and resp.json()["refused"] == {late["id"]: "late"} and resp.json()["closed"]
    assert "已交卷" in c.get("/test/take/").content.decode()


def test_a_computer_swap_closes_the_first_computers_page(dw):
    """The pupil signs in on a second computer: the first page's next request hears ``moved`` and
    a change it gives from now on is refused; the second page's answer stands."""
    from django.utils import timezone

    first, second = _signed_in(), _signed_in()
    t1 = _token(first)
    lease1 = _data(first.get("/test/take/").content.decode())["lease"]
    t2 = _token(second)
    lease2 = _data(second.get("/test/take/").content.decode())["lease"]
    assert lease2 > lease1
    mine = {"id": str(uuid.uuid4()), "item": "I1", "raw": "C", "seq": 1, "lease": lease2, "at": _ms(timezone.now())}
    assert _post(second, "/test/answers/", {"lease": lease2, "answers": [mine]}, t2).json()["ack"] == [mine["id"]]
    stale = {"id": str(uuid.uuid4()), "item": "I1", "raw": "A", "seq": 9, "lease": lease1, "at": _ms(timezone.now())}
    body = _post(first, "/test/answers/", {"lease": lease1, "answers": [stale]}, t1).json()
    assert body["moved"] and body["refused"] == {stale["id"]: "moved"} and body["ack"] == []
    resp = _post(first, "/test/submit/", {"lease": lease1}, t1)  # the first page cannot submit either
    assert resp.status_code == 409 and resp.json()["moved"]
    lease3 = _data(second.get("/test/take/").content.decode())["lease"]
    assert _data(second.get("/test/take/").content.decode())["answers"]["I1"]["raw"] == "C"
    assert _post(second, "/test/submit/", {"lease": lease3 + 1}, t2).json() == {"submitted": True}


def test_the_page_after_the_end_opens_no_lease_and_says_time_is_up(dw):
    """A page loaded after time-up (the pupil never submitted) opens no new lease: the queue of the
    page before still drains; its countdown is at zero (``ends_at`` is the session's end)."""
    import datetime as dt

    from django.utils import timezone

    from junheng_web.testsites.models import TestSession

    c = _signed_in()
    lease = _data(c.get("/test/take/").content.decode())["lease"]
    end = timezone.now() - dt.timedelta(seconds=1)
    TestSession.objects.filter(pk=dw.sessions["A"].pk).update(ends_at=end)
    data = _data(c.get("/test/take/").content.decode())
    assert data["lease"] == lease and data["ends_at"] == end.isoformat()


def test_the_answers_api_needs_the_csrf_token(dw):
    c = _signed_in()
    resp = c.post("/test/answers/", json.dumps({"answers": []}), content_type="application/json")
    assert resp.status_code == 403


def test_a_bad_batch_gets_a_message_not_a_traceback(dw):
    c = _signed_in()
    token = _token(c)
    resp = _post(c, "/test/answers/", {"answers": [{"id": "nope", "item": "I1", "seq": 1}]}, token)
    assert resp.status_code == 400 and "malformed" in resp.json()["error"]
    resp = c.post("/test/answers/", b"{not json", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert resp.status_code == 400


def test_an_absurd_sequence_number_gets_a_message_not_a_500(dw):
    """Issue 12.9: seq=10**20 (and other numbers outside the column's range) → 400 with a message."""
    c = _signed_in()
    token = _token(c)
    for seq in (10**20, 2**31, -(2**63), "1e400"):
        resp = _post(c, "/test/answers/", {"answers": [{"id": str(uuid.uuid4()), "item": "I1", "raw": "B", "seq": seq}]},
                     token)
        assert resp.status_code == 400 and "seq" in resp.json()["error"], seq


def test_the_cookie_reaches_only_its_own_attempt(dw):
    """Pupil B0 signed in: its pages show B0's session only; a forged cookie is nobody."""
    c = _signed_in(CODE_B0)
    page = c.get("/test/confirm/").content.decode()
    assert "B测试点" in page and "A测试点" not in page
    forged = Client()
    forged.cookies["junheng_attempt"] = str(uuid.uuid4())
    assert forged.get("/test/take/").status_code == 302
    assert forged.post("/test/answers/", "{}", content_type="application/json").status_code == 403
    from django.core.signing import get_cookie_signer  # signed by this server, yet not an attempt's UUID

    odd = Client()
    odd.cookies["junheng_attempt"] = get_cookie_signer(salt="junheng_attempt" "junheng.delivery.attempt").sign("1 OR 1")
    assert odd.get("/test/take/").status_code == 302
    assert odd.post("/test/answers/", "{}", content_type="application/json").status_code == 403


def test_the_proctor_sees_who_signed_in_and_submitted_masked_and_audited(dw, client):
    from junheng_web.accounts.models import AuditLog

    c = _signed_in()
    token = _token(c)
    _post(c, "/test/answers/", {"answers": [{"id": str(uuid.uuid4()), "item": "I1", "raw": "B", "seq": 1}]}, token)
    _post(c, "/test/submit/", {}, token)
    client.force_login(dw.users["paul"])  # the proctor of school A
    page = client.get(f"/test/sessions/{dw.sessions['A'].pk}/").content.decode()
    a0 = dw.pupils["A"][0]
    states = re.findall(r'<tr data-state="(\w+)"', page)
    assert states.count("submitted") == 1 and "started" not in states and len(states) >= 2
    assert a0.student_id not in page and a0.name not in page and "A" + "*" * (len(a0.name) - 1) in page
    assert AuditLog.objects.filter(action="test.status", username="paul").exists()
    client.force_login(dw.users["erin"])  # a school of county B
    assert client.get(f"/test/sessions/{dw.sessions['A'].pk}/").status_code == 404


def test_the_pupils_pages_are_in_chinese_only(dw):
    """Issue 15.5: no language switch for pupils; an English cookie (a staff member's browser) or
    Accept-Language changes nothing, and the messages are the Chinese half."""
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.cookies["django_language"] = "en"
    page = c.get("/test/")
    text = page.content.decode()
    assert page["Content-Language"] == "zh-hans" and "登录码" in text and 'name="language"' not in text
    resp = c.post("/test/", {"code": "WRONG123"})
    body = resp.content.decode()
    assert "登录码不正确" in body and "The login code" not in body
    c = _signed_in()
    c.cookies["django_language"] = "en"
    take = c.get("/test/take/").content.decode()
    assert "交卷" in take and 'name="language"' not in take


def test_a_right_code_before_the_session_opens_is_told_to_wait_and_not_throttled(dw):
    import datetime as dt

    from django.utils import timezone

    from junheng_web.delivery.models import CodeFailure
    from junheng_web.testsites.models import TestSession

    later = timezone.now() + dt.timedelta(hours=2)
    TestSession.objects.filter(pk=dw.sessions["A"].pk).update(starts_at=later, ends_at=later + dt.timedelta(hours=1))
    c = Client()
    resp = c.post("/test/", {"code": CODE_A0})
    body = resp.content.decode()
    assert resp.status_code == 400 and "尚未开始" in body and "登录码不正确" not in body
    assert not CodeFailure.objects.exists()
    assert "登录码不正确" in c.post("/test/", {"code": "WRONG123"}).content.decode()
    assert CodeFailure.objects.count() == 1


def test_the_service_worker_is_served_under_test_and_not_cached(dw):
    resp = Client().get("/test/sw.js")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/javascript")
    assert resp["Cache-Control"] == "no-cache" and b"/test/take/" in resp.content


def test_a_queue_naming_another_attempt_is_not_stored_in_this_pupils(dw):
    """A shared test-room computer: pupil X's tab closed with answers queued; pupil Y signs in on it
    and the service worker sends every stored queue — X's with Y's cookie.  The batch names its
    attempt (``attempt``); one that is not the cookie's is refused (409) and nothing of it is
    stored in Y's attempt.  The page's own batch, naming its own attempt, is taken."""
    from django.utils import timezone

    from junheng_web.delivery.models import Answer

    c = _signed_in()
    token = _token(c)
    data = _data(c.get("/test/take/").content.decode())
    change = {"id": str(uuid.uuid4()), "item": "I1", "raw": "B", "seq": 1, "lease": data["lease"],
              "at": _ms(timezone.now())}
    resp = _post(c, "/test/answers/", {"attempt": str(uuid.uuid4()), "lease": data["lease"], "answers": [change]},
                 token)
    assert resp.status_code == 409 and "另一名学生" in resp.json()["error"]
    assert not Answer.objects.filter(id=change["id"]).exists()
    resp = _post(c, "/test/answers/", {"attempt": data["attempt"], "lease": data["lease"], "answers": [change]},
                 token)
    assert resp.status_code == 200 and resp.json()["ack"] == [change["id"]]
