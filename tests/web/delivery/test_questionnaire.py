"""The student questionnaire in the browser after the test (issue 15.6): shown once the test is
submitted, answers through the same queue (UUIDs: a replay is a no-op; (lease, seq) order;
refused after it closes), 完成 stores the response through the questionnaires app's import
(scale scores included), and afterwards the pupil sees 已交卷."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from tests.web.delivery.conftest import CODE_A0

pytestmark = pytest.mark.django_db


@pytest.fixture
def qw(dw):
    from junheng.synth import student_questionnaire
    from junheng_web.questionnaires.services import define

    dw.questionnaire, _ = define(dw.cycle, student_questionnaire().to_json())
    return dw


def _page(c: Client) -> tuple[dict, str]:
    page = c.get("/test/take/").content.decode()
    data = re.search(r'<script id="delivery-data" type="application/json">(.*?)</script>', page, re.S)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return (json.loads(data.group(1)) if data else {}), token


def _post(c, url, body, token):
    return c.post(url, json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=token)


def _ch(item, raw, seq, lease, at=None):
    return {"id": str(uuid.uuid4()), "item": item, "raw": raw, "seq": seq, "lease": lease,
            "at": int((at or timezone.now()).timestamp() * 1000)}


def _submitted(qw) -> Client:
    c = Client(enforce_csrf_checks=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', c.get("/test/").content.decode()).group(1)
    assert c.post("/test/", {"code": CODE_A0, "csrfmiddlewaretoken": token}).status_code == 302
    data, token = _page(c)
    _post(c, "/test/answers/", {"lease": data["lease"], "answers": [_ch("I1", "B", 1, data["lease"])]}, token)
    assert _post(c, "/test/submit/", {"lease": data["lease"]}, token).json() == {"submitted": True}
    return c


def test_no_questionnaire_no_questions(dw):
    c = _submitted(dw)
    assert "已交卷" in c.get("/test/take/").content.decode()


def test_after_the_test_the_questionnaire_is_answered_through_the_queue_and_stored(qw):
    from junheng_web.delivery.models import QuestionnaireAnswer
    from junheng_web.questionnaires.models import QuestionnaireResponse

    c = _submitted(qw)
    data, token = _page(c)
    assert data["mode"] == "questionnaire" and data["answers_url"] == "/test/questionnaire/answers/"
    first = data["items"][0]
    assert first["id"] == "Q01" and first["format"] == "scale" and first["options"] == [["1", "寄宿"], ["2", "不寄宿"]]
    q08 = next(i for i in data["items"] if i["id"] == "Q08")
    assert q08["format"] == "number" and q08["unit"] == "分钟"
    lease = data["lease"]
    batch = [_ch("Q01", "2", 1, lease), _ch("Q08", "45", 2, lease), _ch("Q13", "3", 3, lease), _ch("Q13", "4", 4, lease),
             _ch("Q14", "4", 5, lease), _ch("Q15", "3", 6, lease), _ch("Q16", "1", 7, lease)]
    resp = _post(c, "/test/questionnaire/answers/", {"lease": lease, "answers": batch}, token)
    assert resp.status_code == 200 and resp.json()["ack"] == [e["id"] for e in batch]
    assert _post(c, "/test/questionnaire/answers/", {"lease": lease, "answers": batch}, token).json()["ack"] == \
        [e["id"] for e in batch]  # the queue replayed: nothing twice
    assert QuestionnaireAnswer.objects.count() == 7
    again, _ = _page(c)  # a reload: the server's answers, the highest (lease, seq) of each question
    assert again["answers"]["Q13"]["raw"] == "4" and again["lease"] == lease + 1
    for bad in (_ch("Q01", "7", 8, lease), _ch("Q08", "999", 8, lease), _ch("Q08", "4.5", 8, lease),
                _ch("NOPE", "1", 8, lease)):
        r = _post(c, "/test/questionnaire/answers/", {"lease": lease, "answers": [bad]}, token)
        assert r.status_code == 400 and "问卷中没有" in r.json()["error"]
    assert _post(c, "/test/questionnaire/submit/", {"lease": again["lease"]}, token).json() == {"submitted": True}
    row = QuestionnaireResponse.objects.get(questionnaire=qw.questionnaire, respondent_id=qw.pupils["A"][0].student_id)
    assert row.answers["Q01"] == 2 and row.answers["Q08"] == 45 and row.answers["Q13"] == 4
    # 学习兴趣 = mean(Q13, Q14, Q15, 5 − Q16 + 1 … reverse coded as low + high − x = 1 + 4 − 1 = 4) by hand
    assert row.scores["interest"] == pytest.approx((4 + 4 + 3 + 4) / 4)
    assert "已交卷" in c.get("/test/take/").content.decode()  # answered: the page is done
    assert _post(c, "/test/questionnaire/submit/", {}, token).json() == {"submitted": True}  # again: no change
    assert QuestionnaireResponse.objects.count() == 1


def test_a_questionnaire_answer_given_after_it_closed_is_refused_and_one_given_before_is_taken(qw):
    from junheng_web.delivery import questionnaire
    from junheng_web.delivery.models import Attempt
    from junheng_web.testsites.models import TestSession

    c = _submitted(qw)
    data, token = _page(c)
    lease = data["lease"]
    end = timezone.now() - dt.timedelta(minutes=1)
    session_end = end - questionnaire.QUESTIONNAIRE_TIME
    TestSession.objects.filter(pk=qw.sessions["A"].pk).update(starts_at=session_end - dt.timedelta(hours=1),
                                                               ends_at=session_end)
    before, after = _ch("Q01", "1", 1, lease, at=end - dt.timedelta(seconds=30)), _ch("Q02", "1", 2, lease)
    body = _post(c, "/test/questionnaire/answers/", {"lease": lease, "answers": [before, after]}, token).json()
    assert body["ack"] == [before["id"]] and body["refused"] == {after["id"]: "late"} and body["closed"]
    attempt = Attempt.objects.get(student_id=qw.pupils["A"][0].student_id)
    assert questionnaire.pending(attempt) is None  # closed: the page says 已交卷
    assert "已交卷" in c.get("/test/take/").content.decode()
