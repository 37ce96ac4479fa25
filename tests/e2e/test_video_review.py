"""In a real browser (Playwright + Debian's Chromium): a county user uploads a recording on the
session page, the analysis job finishes, a reviewer of the county finds the flags in the queue,
opens one (the player's source ends in ``#t=start,end`` and the file answers byte ranges),
sees the pictures around it (taken in the analysis's decoding pass), confirms the serious one (a
second page states that the session's data will not count), sees the session's timeline (flags as
bars, pictures with clock times) — and the county sees the session invalid.  Screenshots under
test-artifacts/e2e/."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from tests.e2e.support import ARTIFACTS, PASSWORD, login

pytestmark = [pytest.mark.e2e]


def _clip(tmp: Path) -> Path:
    spec = importlib.util.spec_from_file_location("video_fixture", Path(__file__).parents[1] / "fixtures" / "video.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_clip(tmp / "TA01-room1.avi", 12, [("black", 2, 9)])


@pytest.fixture
def v_world(transactional_db):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Cycle, Region
    from junheng_web.testsites.models import TestSession, TestSite

    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["语文"], name="2022 年六年级监测")
    site = TestSite.objects.create(cycle=cycle, county=county, code="TA01", name="甲测试点")
    start = timezone.now() - dt.timedelta(days=1)
    session = TestSession.objects.create(site=site, subject="语文", room="1", starts_at=start,
                                         ends_at=start + dt.timedelta(hours=1))
    pw = make_password(PASSWORD)
    User.objects.create(username="county-410102", role="county", region=county, password=pw)
    User.objects.create(username="reviewer-410102", role="reviewer", region=county, password=pw)
    return {"cycle": cycle, "site": site, "session": session}


def test_upload_review_and_confirm(v_world, live_server, browser, tmp_path, monkeypatch):
    monkeypatch.setenv("JUNHENG_JOBS_EAGER", "1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base, site, session = live_server.url, v_world["site"], v_world["session"]

    county = browser.new_context(locale="zh-CN").new_page()
    login(county, base, "county-410102")
    county.goto(f"{base}/cycles/{v_world['cycle'].pk}/sites/{site.pk}/")
    county.click("text=录像与标记")
    county.wait_for_selector("#video-submit")
    county.set_input_files("input[type=file]", str(_clip(tmp_path)))
    county.click("#video-submit")
    county.wait_for_selector("#job-result")
    county.screenshot(path=str(ARTIFACTS / "video-1-analysed.png"), full_page=True)

    reviewer = browser.new_context(locale="zh-CN").new_page()
    login(reviewer, base, "reviewer-410102")
    reviewer.click("nav >> text=视频巡查")
    reviewer.wait_for_selector("#queue")
    assert reviewer.locator("#queue tr[data-flag]").count() == 2  # covered 2–9 s, early_end 12–3600 s
    reviewer.screenshot(path=str(ARTIFACTS / "video-2-queue.png"), full_page=True)
    reviewer.locator("#queue tr[data-flag]").first.locator("text=查看").click()
    reviewer.wait_for_selector("#player")
    src = reviewer.locator("#player").get_attribute("src")
    assert src.endswith("#t=0,14"), src  # 2–9 s, shown from 5 s before to 5 s after
    status = reviewer.evaluate("async (u) => (await fetch(u, {headers: {Range: 'bytes=0-99'}})).status", src)
    assert status == 206
    # the pictures around the flag, taken in the analysis's decoding pass, with clock times
    near = reviewer.locator("#near-thumbs img")
    assert near.count() >= 1
    assert reviewer.evaluate("(img) => img.complete && img.naturalWidth > 0", near.first.element_handle())
    assert reviewer.locator(".timeline-flag.current").count() == 1
    reviewer.screenshot(path=str(ARTIFACTS / "video-3-flag.png"), full_page=True)
    # dismissing without a note is refused in the browser too: the page says why, the flag stays open
    reviewer.click("#dismiss")
    reviewer.wait_for_selector("text=排除标记须填写审核意见")
    assert reviewer.locator("#flag-status").inner_text() == "待审核"
    reviewer.fill("textarea[name=note]", "学生用手遮挡，非作弊")
    reviewer.click("#dismiss")
    reviewer.wait_for_selector("#queue")
    assert reviewer.locator("#queue tr[data-flag]").count() == 1
    reviewer.locator("#queue tr[data-flag] >> text=查看").click()
    reviewer.wait_for_selector("#confirm")
    assert reviewer.locator("#clock").inner_text().count(":") == 4  # clock times hh:mm:ss–hh:mm:ss
    reviewer.fill("textarea[name=note]", "录像提前结束")
    reviewer.click("#confirm")
    # a serious flag: a second page states what confirming does to the data
    reviewer.wait_for_selector("#consequence")
    assert "将判为无效" in reviewer.locator("#consequence").inner_text()
    reviewer.screenshot(path=str(ARTIFACTS / "video-3b-second-confirmation.png"), full_page=True)
    reviewer.click("#cancel")  # backing out of the second step leaves the flag open
    reviewer.wait_for_selector("#confirm")
    assert reviewer.locator("#flag-status").inner_text() == "待审核"
    reviewer.fill("textarea[name=note]", "录像提前结束")
    reviewer.click("#confirm")
    reviewer.wait_for_selector("#consequence")
    reviewer.click("#confirm-void")
    reviewer.wait_for_selector("#queue")
    assert reviewer.locator("#queue tr[data-flag]").count() == 0
    # the session's timeline: the flags as bars over the recording, its pictures with clock times
    reviewer.goto(f"{base}/video/sessions/{session.pk}/")
    reviewer.wait_for_selector(".timeline")
    assert reviewer.locator(".timeline-flag[data-kind=covered]").count() == 1
    thumbs = reviewer.locator(".timeline-thumbs li")
    assert thumbs.count() >= 5 and thumbs.first.locator("time").inner_text().count(":") == 2
    reviewer.locator(".timeline").first.screenshot(path=str(ARTIFACTS / "video-5-timeline.png"))

    county.goto(f"{base}/video/sessions/{session.pk}/")
    county.wait_for_selector("#validity")
    county.screenshot(path=str(ARTIFACTS / "video-4-invalid.png"), full_page=True)
    assert county.locator("#validity").get_attribute("data-validity") == "invalid"
    # the county sees each flag's decision, not the reviewer's note (it may name pupils): a line says it is withheld
    assert "已确认" in county.locator("#flags").inner_text() and "录像提前结束" not in county.locator("#flags").inner_text()
    assert county.locator("#notes-hidden").is_visible()
