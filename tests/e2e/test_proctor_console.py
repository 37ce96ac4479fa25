"""In a real browser: the proctor's console (issue 15.4).  A pupil signs in and answers; the proctor
signs in, opens the session's console, checks the pupil in, grants 10 extra minutes — the pupil's
countdown moves by them — pauses the pupil — the pupil's page shows the banner with its inputs
and 交卷 disabled; an answer given in the moment before the page heard of the pause is refused by
the server, parked in the page and sent again after the resume — resumes (the inputs come back),
reports an incident, terminates (已终止 on the pupil's page) and reactivates the pupil, starts the
room, and sees it all in the live status and the log.  Screenshots: proctor-console.png,
pupil-paused.png."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.e2e.support import ARTIFACTS, login
from tests.e2e.test_pupil_test import _fixture

pytestmark = [pytest.mark.e2e, pytest.mark.postgresql]  # answers, leases, pauses: re-run on PostgreSQL too
CODE = "ACDEFGHJ"
SLOW_SCRIPT_S = 2.5


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


def _minutes_left(page) -> int:
    return int(page.inner_text("#countdown").split(":")[0])


def _parked(pupil, session) -> None:
    """Wait until the page counts the answer given during the pause as unsynced; if it never does, say
    what happened to it: on the server (stamped before the pause by the page's clock) or not."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from junheng_web.delivery.models import Answer, ProctorEvent

    try:
        pupil.wait_for_selector("#sync[data-unsynced='1']")
    except PlaywrightTimeout:
        pause = ProctorEvent.objects.get(session=session, action="pause").at
        stored = [(a.raw, f"given {(a.client_at - pause).total_seconds():+.3f} s from the pause",
                   f"stamp lag {(a.received_at - a.client_at).total_seconds():.3f} s")
                  for a in Answer.objects.filter(attempt__session=session).order_by("seq")]
        raise AssertionError(f"data-unsynced={pupil.get_attribute('#sync', 'data-unsynced')}, "
                             f"message={pupil.inner_text('#message')!r}, answers stored: {stored}") from None


def test_the_proctor_runs_the_session_from_the_console(console_world, live_server, browser, settings):
    from junheng_web.delivery.models import Answer, ProctorEvent

    settings.JUNHENG_PUPIL_POLL_SECONDS = 1  # the idle page asks for the proctor's word every second
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, session = live_server.url, console_world["session"]
    pupil = browser.new_context(locale="zh-CN").new_page()
    # a slow computer: the page's script starts 2.5 s after its response arrived.  The page's clock must
    # not lag the server's by that: every answer would be stamped 2.5 s early, and the one given just
    # after the pause below would count as given before it (taken, not parked — a CI flake under load)
    pupil.route("**/static/junheng/delivery.js", lambda route: (time.sleep(SLOW_SCRIPT_S), route.continue_()))
    pupil.goto(f"{base}/test/")
    pupil.fill("input[name=code]", CODE)
    pupil.click("button[type=submit]")
    pupil.click("#start")
    pupil.wait_for_selector("#item[data-item=I1]")
    pupil.check("#item input[value=B]")
    pupil.wait_for_selector("#sync[data-unsynced='0']")
    first = Answer.objects.get(attempt__session=session)  # I1's B, the only answer so far
    assert (first.received_at - first.client_at).total_seconds() < SLOW_SCRIPT_S - 0.5, "the page's clock lags"
    pupil.unroute("**/static/junheng/delivery.js")

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
    assert _minutes_left(pupil) <= 58
    row.locator("input[name=minutes]").fill("10")
    row.locator("button[value=extend]").click()
    row = _row(proctor, masked).first
    assert "(+10′)" in row.inner_text()
    pupil.wait_for_function("parseInt(document.getElementById('countdown').textContent, 10) >= 66")

    # the pause reaches the page through the answers reply before the page's next poll: the answer
    # given in that moment is refused (given while paused), parked, and sent again after the resume
    pupil.route("**/test/status/**", lambda route: route.abort())
    row.locator("button[value=pause]").click()
    row = _row(proctor, masked).first
    assert row.get_attribute("data-state") == "paused" and "已暂停" in row.inner_text()
    before = Answer.objects.count()
    pupil.click("#next")
    pupil.check("#item input[value=A]")
    pupil.wait_for_selector("#hold:not([hidden])")
    _parked(pupil, session)  # parked in the page, not on the server
    assert "暂停中" in pupil.inner_text("#hold") and pupil.get_attribute("#delivery", "data-hold") == "paused"
    assert pupil.locator("#item input").first.is_disabled() and pupil.is_disabled("#submit")
    assert Answer.objects.count() == before
    left = _minutes_left(pupil)
    pupil.screenshot(path=str(ARTIFACTS / "pupil-paused.png"), full_page=True)
    pupil.unroute("**/test/status/**")

    _row(proctor, masked).first.locator("button[value=resume]").click()
    pupil.wait_for_selector("#hold", state="hidden")
    assert not pupil.locator("#item input").first.is_disabled() and not pupil.is_disabled("#submit")
    assert _minutes_left(pupil) >= left - 1  # the clock stood while paused
    pupil.wait_for_function("document.getElementById('sync').dataset.unsynced === '0'")
    stored = Answer.objects.filter(attempt__session=session).order_by("-seq").first()
    assert Answer.objects.count() == before + 1 and stored.raw == "A"
    proctor.fill("#incident textarea[name=note]", "学生 1 号机死机，已换机继续")
    proctor.click("#incident button[type=submit]")
    assert "学生 1 号机死机" in proctor.inner_text("#log")
    assert _row(proctor, masked).first.get_attribute("data-state") == "started"
    _row(proctor, masked).first.locator("button[value=terminate]").click()
    assert _row(proctor, masked).first.get_attribute("data-state") == "terminated"
    pupil.wait_for_selector("#delivery[data-hold=terminated]")
    assert "终止" in pupil.inner_text("#hold") and pupil.locator("#item input").first.is_disabled()
    _row(proctor, masked).first.locator("button[value=reactivate]").click()
    pupil.wait_for_selector("#delivery[data-hold=none]")
    assert not pupil.locator("#item input").first.is_disabled()
    proctor.click("#room-controls button[value=start]")
    assert "已开始" in proctor.inner_text("#room")
    assert _row(proctor, masked).first.get_attribute("data-state") == "started"
    proctor.screenshot(path=str(ARTIFACTS / "proctor-console.png"), full_page=True)
    assert list(ProctorEvent.objects.filter(session=session).order_by("at").values_list("action", flat=True)) == [
        "checkin", "extend", "pause", "resume", "incident", "terminate", "reactivate", "start"]
    # the idle page's polls are its heartbeats: stamped by the page, prompt, recorded as its contact
    from junheng_web.delivery.models import PageContact

    beats = list(PageContact.objects.filter(attempt__session=session).values_list("lease", "beats", "first_at", "last_at"))
    assert beats and all(lease >= 1 for lease, *_ in beats) and sum(b for _, b, *_ in beats) >= 3, beats
