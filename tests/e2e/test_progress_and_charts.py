"""Issue 17.2 and 17.7 in the browser: progress that answers "who is behind" (ranked 上报率, laggards,
drill-down province → city → county → school, the 催报 list) and charts that stay readable with 5
and with 200 schools (one horizontal row per school, the chart as tall as its rows).  Screenshots
under test-artifacts/e2e/ for a person to look at."""

from __future__ import annotations

import pytest

from tests.e2e.support import PASSWORD, signed_in

pytestmark = [pytest.mark.e2e]


def _users(**regions):
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region

    pw = make_password(PASSWORD)
    for name, (role, code) in regions.items():
        User.objects.create(username=name, role=role, password=pw,
                            region=Region.objects.filter(code=code).order_by("level").first() if code else None)


def _cycle():
    from junheng_web.registry.models import Cycle

    return Cycle.objects.create(year=2022, grade=6, subjects=["语文", "数学"], name="2022 年六年级监测")


@pytest.fixture(params=[5, 200], ids=["5-schools", "200-schools"])
def one_county(request, transactional_db, province_data):
    province_data.whole_province(schools_per_county=0, big_county="410102", big=request.param)
    cycle = _cycle()
    province_data.sample_everything(cycle, pupils_per_school=4, done_share=0.5)
    _users(**{"county-410102": ("county", "410102")})
    return cycle, request.param


def test_county_charts_stay_readable_at_5_and_200_schools(one_county, live_server, browser, artifacts):
    cycle, n = one_county
    base = live_server.url
    page = signed_in(browser, base, "county-410102")
    page.goto(f"{base}/cycles/{cycle.pk}/progress/")
    page.wait_for_selector("#progress-chart[data-ready='1'] canvas")
    chart = page.locator("#progress-chart")
    assert chart.get_attribute("data-rows") == str(n)  # one row per school, none dropped
    assert chart.bounding_box()["height"] >= n * 22  # tall enough for every name, not squeezed
    assert page.locator("#school-progress tbody tr").count() == n
    assert "郑州市" not in page.inner_text("main") and "全省" not in page.inner_text("main")
    page.screenshot(path=str(artifacts / f"progress-county-{n}.png"), full_page=True)
    page.goto(f"{base}/cycles/{cycle.pk}/dashboard/")
    page.wait_for_selector("#rates-chart[data-ready='1'] canvas")
    assert page.locator("#rates-chart").get_attribute("data-rows") == str(n)
    page.screenshot(path=str(artifacts / f"fitness-county-{n}.png"), full_page=True)


@pytest.fixture
def province(transactional_db, province_data):
    province_data.whole_province(schools_per_county=2)
    cycle = _cycle()
    province_data.sample_everything(cycle, pupils_per_school=3, done_share=0.55)
    _users(province=("province_analyst", None))
    return cycle


def test_the_province_finds_who_is_behind_and_drills_down_to_the_school(province, live_server, browser, artifacts):
    cycle = province
    base = live_server.url
    page = signed_in(browser, base, "province")
    page.goto(f"{base}/cycles/{cycle.pk}/progress/")
    page.wait_for_selector("#progress-chart[data-ready='1'] canvas")
    assert page.locator("#progress-chart").get_attribute("data-rows") == "18"  # the cities
    rows = page.locator("#county-progress tbody tr")
    assert rows.count() == 157
    rates = [float(r.locator("td.report").get_attribute("data-sort")) for r in rows.all()]
    assert rates == sorted(rates)  # ranked: the furthest behind first
    assert page.locator("#county-progress tr.laggard").count() > 0
    page.screenshot(path=str(artifacts / "progress-province.png"), full_page=False)
    page.click("#county-progress th >> text=上报率")  # sorted by the header: ascending, then descending
    page.click("#county-progress th >> text=上报率")
    top = float(rows.first.locator("td.report").get_attribute("data-sort"))
    assert top == max(rates)
    page.select_option(".table-filters[data-table='county-progress'] select[data-field='city']", "开封市")
    shown = page.locator("#county-progress tbody tr:not([hidden])")
    assert 0 < shown.count() < 20
    page.click("#city-progress a >> text=开封市")
    page.wait_for_url(f"{base}/cycles/{cycle.pk}/progress/410200/")
    assert "本市合计" in page.inner_text("main")
    page.locator("#county-progress tbody tr a").first.click()
    page.wait_for_selector("#school-progress")
    assert page.locator("#school-progress tbody tr").count() == 2
    assert page.locator("nav.crumbs a").count() == 3  # 首页 › 全省 › 开封市 › the county
    page.screenshot(path=str(artifacts / "progress-drilldown-county.png"), full_page=True)
    page.click("#overdue-link")
    page.wait_for_selector("table.list")
    assert page.locator("table.list tbody tr").count() >= 1
    page.screenshot(path=str(artifacts / "progress-overdue.png"), full_page=True)
