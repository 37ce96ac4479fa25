"""Issue 17.1 in the browser: the province and a county reach their reports from the navigation
(报告), and open one.  Screenshots under test-artifacts/e2e/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.support import ARTIFACTS, PASSWORD, signed_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def shelf(transactional_db, settings, tmp_path):
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region

    settings.REPORTS_DIR = tmp_path / "reports"
    (tmp_path / "reports" / "county").mkdir(parents=True)
    (tmp_path / "reports" / "annual.html").write_text("<h1>河南省义务教育质量监测年度报告</h1>", encoding="utf-8")
    (tmp_path / "reports" / "county" / "410102.html").write_text("<h1>中原区监测报告</h1>", encoding="utf-8")
    prov = Region.objects.create(code="410000", level="province", name="河南省")
    city = Region.objects.create(code="410100", level="city", name="郑州市", parent=prov)
    county = Region.objects.create(code="410102", level="county", name="中原区", parent=city)
    Region.objects.create(code="410103", level="county", name="二七区", parent=city)
    pw = make_password(PASSWORD)
    User.objects.create(username="province", role="province_admin", password=pw)
    User.objects.create(username="county-410102", role="county", region=county, password=pw)
    yield tmp_path / "reports"
    shutil.rmtree(tmp_path / "reports")


def test_province_and_county_reach_their_reports_from_the_navigation(shelf: Path, live_server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    page = signed_in(browser, base, "province", width=1100, height=700)
    page.click("header nav >> text=报告")
    page.wait_for_url(f"{base}/reports/")
    assert page.locator("#report-counties tr[data-code]").count() == 2
    assert "尚未生成" in page.locator("#report-counties tr[data-code='410103']").inner_text()
    page.screenshot(path=str(ARTIFACTS / "reports-province.png"), full_page=True)
    page.click("#report-annual >> text=在浏览器中阅读")
    assert "年度报告" in page.locator("h1").inner_text()

    county = signed_in(browser, base, "county-410102", width=1100, height=600)
    county.click("header nav >> text=报告")
    county.wait_for_url(f"{base}/reports/")
    assert county.locator("#report-annual").count() == 0
    assert county.locator("#report-counties tr[data-code]").all_inner_texts()[0].startswith("中原区")
    assert county.locator("#report-counties tr[data-code]").count() == 1
    county.screenshot(path=str(ARTIFACTS / "reports-county.png"), full_page=True)
    county.click("#report-counties >> text=网页版")
    assert county.locator("h1").inner_text() == "中原区监测报告"
