"""Issue 17.4/17.6 in the browser: a school operator who follows a bad link or a forbidden one sees
the platform's own page in Chinese with a way back, and their finished import in Chinese words.
Screenshots under test-artifacts/e2e/."""

from __future__ import annotations

import pytest

from tests.e2e.support import ARTIFACTS, signed_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def operator(site_world):
    """School 甲小学's operator (school-a of ``site_world``) with a finished roster import."""
    from junheng_web.accounts.models import User
    from junheng_web.jobs.models import Job

    user = User.objects.get(username="school-a")
    job = Job.objects.create(kind="roster", status="done", progress=100, cycle=site_world["cycle"],
                             county=user.school.county, school=user.school, created_by=user,
                             params={"name": "名册.xlsx"},
                             result={"rows": 42, "created": 40, "updated": 2, "unchanged": 0, "warnings": []})
    return {"job": job}


def test_a_school_operator_meets_styled_errors_and_chinese_words(operator, live_server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    page = signed_in(browser, base, "school-a", width=1100, height=700)

    resp = page.goto(f"{base}/cycles/new/")  # only the province creates cycles
    assert resp.status == 403
    assert page.locator("#error-page h1").inner_text() == "没有权限"
    page.screenshot(path=str(ARTIFACTS / "errors-403.png"), full_page=True)

    resp = page.goto(f"{base}/reports/county/410103.pdf")  # another county's report
    assert resp.status == 404
    assert page.locator("#error-page h1").inner_text() == "找不到页面"
    assert "Page not found" not in page.content() and "甲小学" in page.locator("header").inner_text()
    page.screenshot(path=str(ARTIFACTS / "errors-404.png"), full_page=True)
    page.click("text=返回首页")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/jobs/{operator['job'].pk}/")
    result = page.locator("#job-result").inner_text()
    assert "名册导入" in page.locator("h1").inner_text()
    assert "新增：40" in result and "created" not in result
    page.screenshot(path=str(ARTIFACTS / "errors-job-words.png"), full_page=True)
