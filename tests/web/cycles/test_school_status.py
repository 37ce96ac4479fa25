"""Issue 17.4: a school operator's status page — what its school has submitted, what is missing
(counted by hand from the world's rows), and the errors of its last failed upload."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from junheng_web.accounts.models import AuditLog
from junheng_web.fitness.models import FitnessRecord
from junheng_web.jobs.models import Job

pytestmark = pytest.mark.django_db


def _row(body: str, item: str) -> str:
    m = re.search(rf'<tr data-item="{item}" class="(\w+)">(.*?)</tr>', body, re.S)
    assert m, item
    return m.group(1) + " " + re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(2)))


def test_it_shows_what_is_in_and_what_is_missing(client, world):
    cycle, pupils = world.cycle, world.pupils["A"]
    for p in pupils[:2]:  # 2 of school A's 6 sampled pupils have fitness results
        FitnessRecord.objects.create(cycle=cycle, pupil=p, grade=6, sex=p.sex)
    FitnessRecord.objects.create(cycle=cycle, pupil=world.pupils["B"][0], grade=6, sex=1)  # another school's
    client.force_login(world.users["dave"])
    body = client.get(reverse("school_status", args=[cycle.pk])).content.decode()
    assert "甲小学" in body and "乙小学" not in body
    assert _row(body, "roster").startswith("done") and "6 名学生" in _row(body, "roster")
    fitness = _row(body, "fitness")
    assert fitness.startswith("missing") and "2 / 6" in fitness and "4 名抽中学生没有体测结果" in fitness


def test_it_lists_the_errors_of_the_last_failed_upload_only(client, world):
    cycle, school = world.cycle, world.schools["A"]
    issue = {"file": "体测.xlsx", "sheet": "Sheet1", "row": 7, "column": "性别", "value": "男性",
             "rule_zh": "性别须为 1 或 2", "rule_en": "sex must be 1 or 2", "severity": "error"}
    Job.objects.all().delete()
    Job.objects.create(kind="roster", status="failed", cycle=cycle, school=school, county=school.county,
                       error="old", issues=[{**issue, "value": "旧错误"}], params={"name": "名册-旧.xlsx"})
    Job.objects.create(kind="roster", status="done", cycle=cycle, school=school, county=school.county,
                       result={"rows": 6}, params={"name": "名册.xlsx"})
    failed = Job.objects.create(kind="fitness", status="failed", cycle=cycle, school=school, county=school.county,
                                error="1 处错误", issues=[issue], params={"name": "体测.xlsx"})
    client.force_login(world.users["dave"])
    body = client.get(reverse("school_status", args=[cycle.pk])).content.decode()
    assert 'id="errors-fitness"' in body and "男性" in body and "性别须为 1 或 2" in body
    assert 'id="errors-roster"' not in body and "旧错误" not in body  # fixed since: the later upload was accepted
    assert f'href="/jobs/{failed.pk}/"' in body
    assert AuditLog.objects.filter(username="dave", what=f"upload errors, job {failed.pk}").exists()


def test_county_users_are_sent_to_progress_and_proctors_refused(client, world):
    client.force_login(world.users["bob"])
    resp = client.get(reverse("school_status", args=[world.cycle.pk]))
    assert resp.status_code == 302 and resp["Location"] == reverse("progress", args=[world.cycle.pk])
    client.force_login(world.users["paul"])
    assert client.get(reverse("school_status", args=[world.cycle.pk])).status_code == 403


def test_the_home_page_links_to_it(client, world):
    client.force_login(world.users["dave"])
    assert f'href="/cycles/{world.cycle.pk}/status/"' in client.get("/").content.decode()
