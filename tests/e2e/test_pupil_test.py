"""In a real browser (Playwright + Debian's Chromium): a pupil signs in with the code from the
login card, confirms the masked name, answers, loses the network (the page keeps answering and
shows the unsynced count), comes back online — every change reaches the server exactly once —
reloads and finds the answers, and submits.  Screenshots under test-artifacts/e2e/."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from tests.e2e.support import ARTIFACTS, started, student_id

pytestmark = [pytest.mark.e2e, pytest.mark.postgresql]  # answers, leases, pauses: re-run on PostgreSQL too
CODE = "ACDEFGHJ"
# the page's own store (delivery.js): IndexedDB junheng-delivery, one record per attempt
STORED = """key => new Promise(done => { const r = indexedDB.open('junheng-delivery', 1);
  r.onsuccess = () => { const g = r.result.transaction('attempts').objectStore('attempts').get(key);
                        g.onsuccess = () => done(g.result || null); }; })"""
FORGET = """key => new Promise(done => { const r = indexedDB.open('junheng-delivery', 1);
  r.onsuccess = () => { const t = r.result.transaction('attempts', 'readwrite');
                        t.objectStore('attempts').delete(key); t.oncomplete = () => done(true); }; })"""


def _fixture():
    spec = importlib.util.spec_from_file_location("delivery_fixture", Path(__file__).parents[1] / "fixtures" / "delivery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def p_world(transactional_db):
    from django.utils import timezone

    from junheng_web.registry.models import Cycle, Pupil, Region, School
    from junheng_web.testsites.models import TestSession, TestSite

    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    school = School.objects.create(code="4101020001", name="甲小学", county=county, stage="小学", location="城区",
                                   enrol_g6=40)
    pupil = Pupil.objects.create(student_id=student_id("410102", 1), name="张小明", sex=1,
                                 birth_date=dt.date(2011, 3, 1), school=school, grade=6)
    cycle = Cycle.objects.create(year=2022, grade=6, subjects=["语文"], name="2022 年六年级监测")
    site = TestSite.objects.create(cycle=cycle, county=county, code="TA01", name="甲测试点")
    now = timezone.now()
    session = TestSession.objects.create(site=site, subject="语文", room="1", starts_at=now - dt.timedelta(minutes=2),
                                         ends_at=now + dt.timedelta(minutes=58))
    _fixture().build(cycle, session, [pupil.student_id], [CODE])
    return {"pupil": pupil, "session": session}


def test_a_pupil_answers_offline_and_loses_nothing(p_world, live_server, browser):
    from junheng_web.delivery.models import Answer, Attempt

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/test/")
    page.fill("input[name=code]", CODE.lower())
    page.click("button[type=submit]")
    page.wait_for_selector("#pupil-name")
    assert page.inner_text("#pupil-name") == "张**" and page.inner_text("#pupil-subject") == "语文"
    page.screenshot(path=str(ARTIFACTS / "pupil-1-confirm.png"), full_page=True)
    page.click("#start")
    page.wait_for_selector("#item[data-item=I1]")

    def synced():
        page.wait_for_selector("#sync[data-unsynced='0']")

    page.check("#item input[value=B]")
    synced()
    page.click("#next")
    page.check("#item input[value=A]")
    page.check("#item input[value=C]")
    synced()
    page.click("#flag")
    page.screenshot(path=str(ARTIFACTS / "pupil-2-online.png"), full_page=True)

    context.set_offline(True)
    page.click("#next")
    page.fill("#item textarea", "秋天的天空又高又蓝。")
    page.click("#next")  # leaving the item saves the text at once
    page.check("#item input[value=A]")
    assert int(page.get_attribute("#sync", "data-unsynced")) >= 2
    assert "未同步" in page.inner_text("#sync")
    page.screenshot(path=str(ARTIFACTS / "pupil-3-offline.png"), full_page=True)
    attempt = Attempt.objects.get(student_id=p_world["pupil"].student_id)
    assert set(Answer.objects.filter(attempt=attempt).values_list("item__item_id", flat=True)) == {"I1", "I2"}

    context.set_offline(False)
    page.wait_for_selector("#sync[data-unsynced='0']", timeout=20000)
    local = page.evaluate(STORED, str(attempt.pk))
    rows = list(Answer.objects.filter(attempt=attempt).order_by("seq").values_list("item__item_id", "raw", "seq"))
    # every change the page made is on the server exactly once: seqs 1..n, no gaps, no repeats
    assert [r[2] for r in rows] == list(range(1, local["seq"] + 1)) and local["queue"] == []
    assert rows == [("I1", "B", 1), ("I2", "A", 2), ("I2", "AC", 3), ("I3", "秋天的天空又高又蓝。", 4), ("I4", "A", 5)]
    # the pupil's end kept beside the queue: the service worker's expiry of a refused queue counts from it
    assert dt.datetime.fromisoformat(local["sender"]["ends"]) == p_world["session"].ends_at and "refused" not in local

    page.evaluate(FORGET, str(attempt.pk))  # the server alone restores them
    page.reload()
    page.wait_for_selector("#palette button")
    page.click("#palette button[data-item=I3]")
    assert page.input_value("#item textarea") == "秋天的天空又高又蓝。"
    page.click("#palette button[data-item=I2]")
    assert page.is_checked("#item input[value=A]") and page.is_checked("#item input[value=C]")
    assert page.inner_text("#sync") == "已保存"
    page.screenshot(path=str(ARTIFACTS / "pupil-4-restored.png"), full_page=True)

    page.on("dialog", lambda d: d.accept())
    page.click("#submit")
    page.wait_for_selector("#done")
    page.screenshot(path=str(ARTIFACTS / "pupil-5-submitted.png"), full_page=True)
    attempt.refresh_from_db()
    assert attempt.submitted_at is not None
    assert Answer.objects.filter(attempt=attempt).count() == 5
    context.close()


def test_time_up_greys_the_inputs_and_an_answer_given_offline_before_it_still_counts(p_world, live_server, browser):
    """The session ends 12 s after the page opens.  Offline, the pupil answers I1 before the end;
    at zero the page greys the inputs (a click changes nothing) and keeps trying to submit; the
    network comes back after the end and the answer given before it is taken, then the page
    submits (issue 15.3)."""
    from django.utils import timezone

    from junheng_web.delivery.models import Answer, Attempt
    from junheng_web.testsites.models import TestSession

    base = live_server.url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/test/")
    page.fill("input[name=code]", CODE)
    page.click("button[type=submit]")
    page.wait_for_selector("#pupil-name")
    end = timezone.now() + dt.timedelta(seconds=12)
    TestSession.objects.filter(pk=p_world["session"].pk).update(ends_at=end)
    page.click("#start")
    page.wait_for_selector("#item[data-item=I1]")
    context.set_offline(True)
    page.check("#item input[value=B]")
    assert page.get_attribute("#sync", "data-unsynced") == "1"
    page.wait_for_selector("#item[data-ended=true]", timeout=20000)
    assert page.is_disabled("#item input[value=A]") and "时间到" in page.inner_text("#timeup")
    page.click("#next")  # another item: its inputs are grey too
    assert page.is_disabled("#item input[value=A]")
    page.screenshot(path=str(ARTIFACTS / "pupil-6-time-up.png"), full_page=True)
    attempt = Attempt.objects.get(student_id=p_world["pupil"].student_id)
    assert not Answer.objects.filter(attempt=attempt).exists() and timezone.now() > end
    context.set_offline(False)
    page.wait_for_selector("#done", timeout=40000)  # the queue drained after the end, then the page submitted
    rows = list(Answer.objects.filter(attempt=attempt).values_list("item__item_id", "raw"))
    assert rows == [("I1", "B")]
    answer = Answer.objects.get(attempt=attempt)
    assert answer.client_at < end < answer.received_at
    attempt.refresh_from_db()
    assert attempt.submitted_at is not None
    context.close()


def test_after_submitting_the_pupil_answers_the_questionnaire_offline_and_it_is_stored(p_world, live_server, browser):
    """Issue 15.6: the questionnaire after the test through the same queue — an answer given offline
    reaches the server when the network is back; 完成 stores the response; then 已交卷."""
    from junheng.synth import student_questionnaire
    from junheng_web.delivery.models import QuestionnaireAnswer
    from junheng_web.questionnaires.models import QuestionnaireResponse
    from junheng_web.questionnaires.services import define

    q, _ = define(p_world["session"].site.cycle, student_questionnaire().to_json())
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    started(page, live_server.url, CODE)
    page.check("#item input[value=B]")
    page.wait_for_selector("#sync[data-unsynced='0']")
    page.on("dialog", lambda d: d.accept())
    page.click("#submit")
    page.wait_for_selector("#delivery[data-mode=questionnaire][data-ready=true]")
    assert "问卷" in page.inner_text("#delivery") and page.inner_text("#submit") == "完成问卷"
    page.check("#item input[value='2']")  # Q01 不寄宿
    page.wait_for_selector("#sync[data-unsynced='0']")
    context.set_offline(True)
    page.click("#palette button[data-item=Q08]")
    page.fill("#item input.entry", "40")
    page.click("#next")  # leaving the box saves it
    assert page.get_attribute("#sync", "data-unsynced") == "1"
    page.screenshot(path=str(ARTIFACTS / "pupil-7-questionnaire-offline.png"), full_page=True)
    context.set_offline(False)
    page.wait_for_selector("#sync[data-unsynced='0']", timeout=30000)
    assert QuestionnaireAnswer.objects.count() == 2
    page.click("#submit")
    page.wait_for_selector("#done", timeout=30000)
    row = QuestionnaireResponse.objects.get(questionnaire=q, respondent_id=p_world["pupil"].student_id)
    assert row.answers["Q01"] == 2 and row.answers["Q08"] == 40
    context.close()


def _on_first_item(context, live_server):
    """A new page of ``context`` signed in with CODE, the test started, on its first item."""
    page = context.new_page()
    page.goto(f"{live_server.url}/test/")
    page.fill("input[name=code]", CODE)
    page.click("button[type=submit]")
    page.click("#start")
    page.wait_for_selector("#item[data-item=I1]")
    return page


# what the browser's Navigation Timing says about the test page's response (delivery.js arrived()):
# no entry, a responseStart of 0, one an hour in the future (some browsers), and a clock origin an hour
# old (a page restored from the back/forward cache).  Only the test page's own entry is faked.
NAV = "const real = performance.getEntriesByType.bind(performance); performance.getEntriesByType = t => t === 'navigation' ? "
ODD_TIMING = {
    "missing": NAV + "[] : real(t);",
    "zero": NAV + "[{responseStart: 0}] : real(t);",
    "future": NAV + "[{responseStart: performance.now() + 3600000}] : real(t);",
    "stale": "const origin = performance.timeOrigin - 3600000; Object.defineProperty(performance, 'timeOrigin', {get: () => origin});",
}


@pytest.mark.parametrize("case", sorted(ODD_TIMING))
def test_an_odd_navigation_timing_does_not_skew_the_pupils_clock(p_world, live_server, browser, case):
    """The page's clock offset is taken from when its response arrived (Navigation Timing); a value
    that is missing, 0, later than now or an hour old must leave the page on the server's clock: the
    answer is stored (not refused as given before the session opened, the page not closed as after
    time-up) and stamped within 2 s of its arrival.  Unclamped, "future" stamped it an hour early
    (refused) and "stale" an hour late (the page closed at once)."""
    from junheng_web.delivery.models import Answer

    context = browser.new_context(locale="zh-CN")
    context.add_init_script("(() => { if (location.pathname.startsWith('/test/take')) { " + ODD_TIMING[case] + " } })()")
    page = _on_first_item(context, live_server)
    skew = page.evaluate(STORED, page.evaluate("JSON.parse(document.getElementById('delivery-data').textContent).attempt"))
    assert abs(skew["skew"]) < 5000, f"{case}: the page's clock is {skew['skew']} ms off the server's"
    page.check("#item input[value=B]")
    page.wait_for_selector("#sync[data-unsynced='0']")
    answer = Answer.objects.get(attempt__session=p_world["session"])
    lag = (answer.received_at - answer.client_at).total_seconds()
    assert 0 <= lag < 2 and page.get_attribute("#item", "data-ended") != "true", f"{case}: stamp lag {lag:.3f} s"
    context.close()


def test_the_computers_clock_set_back_during_the_test_does_not_stamp_answers_early(p_world, live_server, browser):
    """A time sync steps the pupil's computer clock back 90 s after the first answer (Date.now()
    only: the monotonic clock is not moved).  The next answer must still be stamped within 2 s of
    its arrival.  Stamped by the stepped clock it was 90 s early, and — a later answer of the same
    page having reached the server in between — the response forensics called it backdated
    (serious) though nothing was wrong."""
    from junheng_web.delivery.models import Answer

    context = browser.new_context(locale="zh-CN")
    context.add_init_script("(() => { const real = Date.now; window.__stepBack = 0; "
                            "Date.now = () => real() - window.__stepBack; })()")
    page = _on_first_item(context, live_server)
    page.check("#item input[value=B]")
    page.wait_for_selector("#sync[data-unsynced='0']")
    page.evaluate("window.__stepBack = 90000")
    page.click("#next")
    page.wait_for_selector("#item[data-item=I2]")
    page.check("#item input[value=B]")
    page.wait_for_selector("#sync[data-unsynced='0']")
    answers = {a.item.item_id: a for a in Answer.objects.filter(attempt__session=p_world["session"]).select_related("item")}
    for item in ("I1", "I2"):
        lag = (answers[item].received_at - answers[item].client_at).total_seconds()
        assert 0 <= lag < 2, f"{item}: stamped {lag:.1f} s before it arrived"
    context.close()


CONTROLLED = "navigator.serviceWorker && navigator.serviceWorker.controller !== null"
# the test page's data (delivery-data) as the service worker's kept copy has it, or null without a copy
KEPT = """() => caches.open('junheng-test-v1').then(c => c.match('/test/take/')).then(r => r ? r.text() : null)
  .then(t => t && JSON.parse(new DOMParser().parseFromString(t, 'text/html').getElementById('delivery-data').textContent))"""
PAGE = "JSON.parse(document.getElementById('delivery-data').textContent)"


def _kept(page, done, seconds: float):
    """The kept copy's data once ``done(data)`` holds, or as it is after ``seconds`` (the writes are
    the worker's and the page's own, both asynchronous)."""
    import time

    until = time.monotonic() + seconds
    while not done(data := page.evaluate(KEPT)) and time.monotonic() < until:
        time.sleep(0.1)
    return data


def test_every_online_load_refreshes_the_kept_page_and_an_offline_reload_keeps_its_clock(p_world, live_server, browser):
    """The service worker's kept copy of the test page (delivery-sw.js) is the last page loaded
    online: the proctor gives the pupil 30 minutes more (the server's response changes: the end, and
    every load's lease and clock), the page is reloaded online under the worker's control, and the
    kept copy is that response — its lease, ``now`` and the new end — not the first load's.  Reloaded
    in an outage, the page is the kept copy and keeps the clock offset measured for it (``pageNow``);
    a stale copy would give an offset wrong by the time since it was loaded."""
    from django.utils import timezone

    from junheng_web.delivery.models import ProctorEvent

    context = browser.new_context(locale="zh-CN")
    page = _on_first_item(context, live_server)
    page.wait_for_function(CONTROLLED, timeout=30000)
    _kept(page, lambda d: d is not None, 10)
    first = page.evaluate(PAGE)
    assert page.evaluate(KEPT)["lease"] == first["lease"]
    session, sid = p_world["session"], p_world["pupil"].student_id
    # (this world has no sample, which proctor.act checks the pupil against: the console's event itself)
    ProctorEvent.objects.create(session=session, student_id=sid, action="extend", minutes=30, by="test",
                                at=timezone.now())
    page.reload()  # online, through the worker
    page.wait_for_selector("#delivery[data-ready=true]")
    assert page.evaluate(CONTROLLED)
    second = page.evaluate(PAGE)
    assert second["lease"] > first["lease"] and second["now"] != first["now"]
    assert dt.datetime.fromisoformat(second["ends_at"]) == session.ends_at + dt.timedelta(minutes=30)
    # the worker's copy and the page's own (keepShell) are written as the page loads: give them 5 s
    kept = _kept(page, lambda d: d and d["lease"] == second["lease"], 5)
    assert (kept["lease"], kept["now"], kept["ends_at"]) == (second["lease"], second["now"], second["ends_at"])
    stored = page.evaluate(STORED, second["attempt"])
    assert stored["pageNow"] == second["now"]

    context.set_offline(True)
    page.reload()  # during an outage: the kept copy
    page.wait_for_selector("#delivery[data-ready=true]")
    offline = page.evaluate(PAGE)
    assert (offline["lease"], offline["now"], offline["ends_at"]) == (second["lease"], second["now"], second["ends_at"])
    again = page.evaluate(STORED, second["attempt"])
    assert again["pageNow"] == second["now"] and again["skew"] == stored["skew"]  # the offset measured online
    context.set_offline(False)
    context.close()
