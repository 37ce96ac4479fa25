"""Progress that answers "who is behind" (issue 17.2): 上报率 per unit (counted by hand here),
drill-down province → city → county → school, laggards, each user's own totals labelled as theirs
(a county's numbers are not "郑州市"/"全省"), and the 催报 list with its Excel export."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(world):
    """School A (county 410102) submits everything: fitness and a student questionnaire for each of
    its 6 sampled pupils; school B (410103) has its roster and pupils but nothing else."""
    from junheng_web.fitness.models import FitnessRecord
    from junheng_web.questionnaires.models import Questionnaire, QuestionnaireResponse

    q = Questionnaire.objects.create(cycle=world.cycle, code="S", title="学生问卷", respondent="student")
    for p in world.pupils["A"]:
        FitnessRecord.objects.create(cycle=world.cycle, pupil=p, grade=6, sex=p.sex)
        QuestionnaireResponse.objects.create(cycle=world.cycle, questionnaire=q, respondent_id=p.student_id, pupil=p,
                                             school=p.school, updated_at=timezone.now())
    for p in world.pupils["B"][:2]:
        FitnessRecord.objects.create(cycle=world.cycle, pupil=p, grade=6, sex=p.sex)
    world.users["erin"].email = "erin@school.example"
    world.users["erin"].save()
    return world


def _json(client, world, who, code=None):
    client.force_login(world.users[who])
    url = reverse("progress_region_json", args=[world.cycle.pk, code]) if code else \
        reverse("progress_json", args=[world.cycle.pk])
    return client.get(url).json()


def test_reporting_rates_by_hand_and_each_user_sees_its_own_whole(client, submitted):
    w = submitted
    d = _json(client, w, "alice")
    by = {r["code"]: r for r in d["counties"]}
    assert (by["410102"]["schools_complete"], by["410102"]["schools"], by["410102"]["report_rate"]) == (1, 1, 1.0)
    assert (by["410103"]["schools_complete"], by["410103"]["report_rate"]) == (0, 0.0)
    assert [(t["code"], t["name"], t["report_rate"]) for t in d["totals"]] == [("410100", "郑州市", 0.5),
                                                                              ("", "全省", 0.5)]
    d = _json(client, w, "frank")  # the city: its own total, no 全省
    assert [(t["code"], t["name"]) for t in d["totals"]] == [("410100", "郑州市")]
    d = _json(client, w, "bob")  # the county: its row is its total
    assert d["totals"] == [] and [r["code"] for r in d["counties"]] == ["410102"]
    client.force_login(w.users["bob"])
    body = client.get(reverse("progress", args=[w.cycle.pk])).content.decode()
    assert "全省" not in body and "郑州市" not in body and "本县合计" in body


def test_the_province_drills_down_to_a_county_and_its_schools(client, submitted):
    w = submitted
    client.force_login(w.users["alice"])
    body = client.get(reverse("progress", args=[w.cycle.pk])).content.decode()
    assert 'id="city-progress"' in body and f'href="/cycles/{w.cycle.pk}/progress/410100/"' in body
    assert "各区县上报率排名" in body
    # the laggard: 二七区 at 0 % against the province's 50 %
    assert 'data-code="410103" data-city="郑州市" class="laggard"' in body
    body = client.get(reverse("progress_region", args=[w.cycle.pk, "410100"])).content.decode()
    assert f'href="/cycles/{w.cycle.pk}/progress/410102/"' in body and "本市合计" in body
    body = client.get(reverse("progress_region", args=[w.cycle.pk, "410103"])).content.decode()
    assert 'id="school-progress"' in body and "乙小学" in body and "学生问卷（6 人）" in body
    assert "体测数据（4 人）" in body
    d = _json(client, w, "alice", "410103")
    assert [(s["code"], s["report_rate"]) for s in d["schools"]] == [("4101030001", 0.0)]
    client.force_login(w.users["bob"])  # another county: not found
    assert client.get(reverse("progress_region", args=[w.cycle.pk, "410103"])).status_code == 404


def test_the_overdue_list_names_what_each_school_owes_and_whom_to_call_and_exports(client, submitted):
    from openpyxl import load_workbook

    w = submitted
    client.force_login(w.users["alice"])
    url = reverse("progress_overdue", args=[w.cycle.pk])
    body = client.get(url).content.decode()
    assert "乙小学" in body and "甲小学" not in body  # A has submitted everything
    assert "体测数据（4 人）；学生问卷（6 人）" in body and "erin@school.example" in body
    got = client.get(url, {"export": "xlsx"})
    ws = load_workbook(io.BytesIO(got.content)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = rows[0]
    assert "尚缺" in head and len(rows) == 2 and rows[1][head.index("学校")] == "乙小学"
    assert client.get(url, {"missing": "roster"}).content.decode().count('data-school="') == 0
    client.force_login(w.users["bob"])  # county A: nothing owed in its area, B's school not shown
    assert "乙小学" not in client.get(url).content.decode()
