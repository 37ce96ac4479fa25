"""In a real browser: the proctor's console (issue 15.4).  A pupil signs in and answers; the proctor
signs in, opens the session's console, checks the pupil in, grants 10 extra minutes, pauses the
pupil — the pupil's answer given while paused is refused by the server — resumes, reports an
incident, terminates and reactivates the pupil, starts the room, and sees it all in the live status and the log.  Screenshot: proctor-console.png."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.support import ARTIFACTS, login
from tests.e2e.test_pupil_test import _fixture

pytestmark = [pytest.mark.e2e]
CODE = "ACDEFGHJ"


@pytest.fixture
def console_world(site_world):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region
    from junheng_web.sampling.models import SampledSchool
    from junheng_web.testsites.models import TestSession, TestSite
    from tests.e2e.support import PASSWORD

    ss = SampledSchool.objects.get(school__code="4101020001")
    site = TestSite.objects.create(cycle=site_world["cycle"], county=Region.objects.get(code="410102", level="county"),
                                   code="TA01", name="甲测试点")
    site.schools.add(ss)
    now = timezone.now()
    session = TestSession.objects.create(site=site, subject="语文", room="1", starts_at=now - dt.timedelta(minutes=2),
                                         ends_at=now + dt.timedelta(minutes=58))
    pupil = site_world["pupils"][0]
    _fixture().build(site_world["cycle"], session, [pupil.student_id], [CODE])
    User.objects.create(username="proctor-a", role="proctor", school=ss.school, password=make_password(PASSWORD))
    return {"session": session, "pupil": pupil}


def _row(page, masked):
    return page.locator("#attempts tbody tr", has_text=masked)


def test_the_proctor_runs_the_session_from_the_console(console_world, live_server, browser):
    from junheng_web.delivery.models import Answer, ProctorEvent

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, session = live_server.url, console_world["session"]
    pupil = browser.new_context(locale="zh-CN").new_page()
    pupil.goto(f"{base}/test/")
    pupil.fill("input[name=code]", CODE)
    pupil.click("button[type=submit]")
    pupil.click("#start")
    pupil.wait_for_selector("#item[data-item=I1]")
    pupil.check("#item input[value=B]")
    pupil.wait_for_selector("#sync[data-unsynced='0']")

    proctor = browser.new_context(locale="zh-CN").new_page()
    login(proctor, base, "proctor-a")
    proctor.goto(f"{base}/test/sessions/")
    proctor.click(f"a[href='/test/sessions/{session.pk}/']")
    masked = "学*"  # 学生0 masked
    row = _row(proctor, masked).first
    assert row.get_attribute("data-state") == "started"
    assert console_world["pupil"].student_id not in proctor.content()
    row.locator("button[value=checkin]").click()
    row = _row(proctor, masked).first
    row.locator("input[name=minutes]").fill("10")
    row.locator("button[value=extend]").click()
    row = _row(proctor, masked).first
    assert "(+10′)" in row.inner_text()
    row.locator("button[value=pause]").click()
    row = _row(proctor, masked).first
    assert row.get_attribute("data-state") == "paused" and "已暂停" in row.inner_text()

    # the pupil answers while paused: the server refuses it, the queue drains, nothing is stored
    before = Answer.objects.count()
    pupil.click("#next")
    pupil.check("#item input[value=A]")
    pupil.wait_for_selector("#sync[data-unsynced='0']")
    assert Answer.objects.count() == before

    _row(proctor, masked).first.locator("button[value=resume]").click()
    proctor.fill("#incident textarea[name=note]", "学生 1 号机死机，已换机继续")
    proctor.click("#incident button[type=submit]")
    assert "学生 1 号机死机" in proctor.inner_text("#log")
    assert _row(proctor, masked).first.get_attribute("data-state") == "started"
    _row(proctor, masked).first.locator("button[value=terminate]").click()
    assert _row(proctor, masked).first.get_attribute("data-state") == "terminated"
    _row(proctor, masked).first.locator("button[value=reactivate]").click()
    proctor.click("#room-controls button[value=start]")
    assert "已开始" in proctor.inner_text("#room")
    assert _row(proctor, masked).first.get_attribute("data-state") == "started"
    proctor.screenshot(path=str(ARTIFACTS / "proctor-console.png"), full_page=True)
    assert list(ProctorEvent.objects.filter(session=session).order_by("at").values_list("action", flat=True)) == [
        "checkin", "extend", "pause", "resume", "incident", "terminate", "reactivate", "start"]
