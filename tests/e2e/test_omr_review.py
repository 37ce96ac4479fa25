"""The OMR manual-review queue in the browser: a county user uploads a generated scan of booklet B1
(a faint stray mark on I4 under a lighting gradient) for a session, the reading runs, the queue
lists I4 with the sheet's crop, the entry's page shows the crop and each bubble's darkness, the
correction is saved.  Screenshots: test-artifacts/e2e/omr-queue.png and omr-review.png."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
from pathlib import Path

import pytest

from tests.e2e.support import login

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")]

_spec = importlib.util.spec_from_file_location("delivery_fixture", Path(__file__).parents[1] / "fixtures" / "delivery.py")
fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture)
_spec2 = importlib.util.spec_from_file_location("omr_web_test", Path(__file__).parents[1] / "web" / "omr" / "test_omr_review.py")
web_test = importlib.util.module_from_spec(_spec2)
_spec2.loader.exec_module(web_test)


def _session(site_world, settings, tmp_path, monkeypatch):
    """Test site TA01's 语文 session two hours ago, sat by 甲小学, with booklet B1 for its first pupil."""
    from django.utils import timezone

    from junheng_web.registry.models import Region
    from junheng_web.sampling.models import SampledSchool
    from junheng_web.testsites.models import TestSession, TestSite

    monkeypatch.setenv("JUNHENG_JOBS_EAGER", "1")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cycle = site_world["cycle"]
    site = TestSite.objects.create(cycle=cycle, county=Region.objects.get(code="410102"), code="TA01", name="甲测试点",
                                   address="")
    now = timezone.now()
    session = TestSession.objects.create(site=site, subject="语文", room="1", starts_at=now - dt.timedelta(hours=2),
                                         ends_at=now - dt.timedelta(hours=1))
    site.schools.add(SampledSchool.objects.get(cycle=cycle, school__code="4101020001"))  # who sits the session
    fixture.build(cycle, session, [site_world["pupils"][0].student_id], ["ACDEFGHJ"])
    return session


def _uploaded(browser, base: str, session, path):
    """A county user of 410102 (who may upload and review) signed in, ``path`` uploaded and read."""
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    login(page, base, "county-410102")
    page.goto(f"{base}/omr/sessions/{session.pk}/")
    page.set_input_files("#omr-upload input[type=file]", str(path))
    page.click("#omr-upload button[type=submit]")
    page.wait_for_url("**/jobs/**")
    return page


def test_a_county_user_uploads_reviews_and_corrects(site_world, live_server, browser, artifacts, tmp_path, settings,
                                                    monkeypatch):
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Review

    session = _session(site_world, settings, tmp_path, monkeypatch)
    path, pid, answers, faint = web_test._scan(session, tmp_path)

    base = live_server.url
    page = _uploaded(browser, base, session, path)
    page.goto(f"{base}/omr/")
    row = page.locator("#omr-queue tbody tr")
    assert row.count() == 1 and "I4" in row.inner_text()
    page.wait_for_function("document.querySelector('img.omr-crop') && document.querySelector('img.omr-crop').naturalWidth > 0")
    page.screenshot(path=str(artifacts / "omr-queue.png"), full_page=True)
    page.click("#omr-queue >> text=核对")
    page.wait_for_function("document.getElementById('omr-crop').naturalWidth > 0")
    assert page.locator("#omr-read").inner_text() == answers["I4"]
    assert "faint" in page.locator("#omr-marks").inner_text()
    page.screenshot(path=str(artifacts / "omr-review.png"), full_page=True)
    page.fill("input[name=answer]", faint)
    page.click("#omr-submit")
    page.wait_for_url("**/omr/")
    review = Review.objects.get()
    assert (review.status, review.answer) == ("corrected", faint)
    assert Answer.objects.filter(item__item_id="I4", raw=faint, seq=1).count() == 1


def test_a_reviewer_names_the_pupil_of_a_sheet_whose_id_cannot_be_read(site_world, live_server, browser, artifacts,
                                                                      tmp_path, settings, monkeypatch):
    """Two marks in the first id column: the sheet is held, the queue shows it with the crop of its
    id field; the reviewer picks the pupil the marks agree with most (masked), confirms on a second
    step, and the sheet's answers count for that pupil; the undo holds it again."""
    from junheng_web.accounts.models import AuditLog
    from junheng_web.delivery.models import Answer
    from junheng_web.omr.models import Sheet

    session = _session(site_world, settings, tmp_path, monkeypatch)
    pid = site_world["pupils"][0].student_id
    second = next(ch for ch in "GJL" if ch != pid[0])
    path, pid, answers, _ = web_test._scan(session, tmp_path, pid=pid, extra=(("1", second),))
    base = live_server.url
    page = _uploaded(browser, base, session, path)
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.person_id) == ("held", "") and not Answer.objects.exists()
    page.goto(f"{base}/omr/")
    row = page.locator(f"#omr-queue tbody tr:has(a[href='/omr/sheets/{sheet.pk}/pupil/'])")
    assert row.count() == 1 and "学籍号待核对" in row.inner_text()
    row.locator(f"a[href='/omr/sheets/{sheet.pk}/pupil/']").click()
    page.wait_for_url(f"**/omr/sheets/{sheet.pk}/pupil/")
    page.wait_for_function("document.getElementById('omr-id-crop').naturalWidth > 0")
    assert page.locator("#id-pattern").inner_text() == "?" + pid[1:]
    first = page.locator("#pupil-roster tbody tr").first
    assert pid not in first.inner_text() and pid[-2:] in first.inner_text() and "18/19" in first.inner_text()
    assert "学生0" not in page.content()  # names masked
    page.screenshot(path=str(artifacts / "omr-pupil.png"), full_page=True)
    first.locator("input[type=radio]").check()
    page.fill("#pupil-form textarea[name=note]", "第1列多涂，按其余各列")
    page.click("#pupil-submit")
    page.wait_for_selector("#pupil-confirm")
    sheet.refresh_from_db()
    assert sheet.status == "held"  # nothing changed before the confirmation
    page.screenshot(path=str(artifacts / "omr-pupil-confirm.png"), full_page=True)
    page.click("#pupil-confirm-submit")
    page.wait_for_url("**/omr/")
    sheet.refresh_from_db()
    assert (sheet.status, sheet.person_id) == ("read", pid)
    assert Answer.objects.filter(attempt__student_id=pid, item__item_id="I1").get().raw == answers["I1"]
    assert AuditLog.objects.filter(action="omr.pupil", username="county-410102").count() == 1
    page.goto(f"{base}/omr/sheets/{sheet.pk}/pupil/")
    assert page.locator("#pupil-history tbody tr").count() == 1
    asked = []  # the undo asks first (a double click undid twice): the browser's confirmation, accepted
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#pupil-undo-submit")
    page.wait_for_selector("#pupil-history tbody tr:nth-child(2)")
    assert asked and "撤销最近一次更正" in asked[0]
    sheet.refresh_from_db()
    assert (sheet.status, sheet.person_id) == ("held", "") and not Answer.objects.exists()
