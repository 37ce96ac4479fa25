"""A county user, in a real browser (Playwright + Debian's Chromium), opens the academic dashboard:
the chart renders from the JSON, switches subject, and every figure of the tables equals the
JSON the page's chart reads.  The screenshot is kept under test-artifacts/e2e/ (git-ignored)."""

from __future__ import annotations

import pytest

from tests.e2e.support import PASSWORD, signed_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def county_world(transactional_db, academic):
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region

    cycle = academic.build()
    pw = make_password(PASSWORD)
    User.objects.create(username="county-410102", role="county", region=Region.objects.get(code="410102"), password=pw)
    User.objects.create(username="city-410100", role="city", region=Region.objects.get(code="410100"), password=pw)
    return cycle


def _open(browser, base: str, username: str, cycle):
    """Sign in and follow the home page's task to the academic dashboard; wait for the chart."""
    page = signed_in(browser, base, username)
    page.click(f"a[href='/cycles/{cycle.pk}/academic/']")
    page.wait_for_selector("#academic-chart[data-ready='1'] canvas")
    box = page.locator("#academic-chart canvas").first.bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    return page


def _pct(v) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def test_a_county_user_sees_the_chart_and_the_figures_of_the_json(county_world, live_server, browser, artifacts):
    base, cycle = live_server.url, county_world
    page = _open(browser, base, "county-410102", cycle)
    chart = page.locator("#academic-chart")
    # every school is withheld by the minimum reporting rule: one bar per subject, no subject switch
    assert chart.get_attribute("data-bars") == "2" and page.locator(".subject-switch").count() == 0
    assert "中原区" in page.inner_text("h1")
    page.screenshot(path=str(artifacts / "academic-county.png"), full_page=True)

    data = page.request.get(f"{base}/cycles/{cycle.pk}/academic.json").json()
    assert data["region"] == "410102" and data["weighted"] is True and data["part_key"] == "school_code"
    for total in data["overall"]:
        section = page.locator(f"section.subject[data-subject='{total['subject']}']")
        row = section.locator("tr[data-code='total']")
        cell = lambda k: row.locator(f"td[data-k='{k}']").inner_text().strip()  # noqa: B023, E731
        assert cell("n_pupils") == str(total["n_pupils"]) and cell("n_schools") == str(total["n_schools"])
        assert cell("mean") == f"{total['mean']:.1f} ({total['mean_se']:.1f})"
        for k in ("level1", "level2", "level3", "level4", "mid_plus", "good_plus"):
            assert cell(k) == f"{_pct(total[k])} ({_pct(total[k + '_se'])})", k
        kpi = section.locator(".kpis b[data-k='good_plus']").inner_text().strip()
        assert kpi == _pct(total["good_plus"])
        schools = [p for p in data["parts"] if p["subject"] == total["subject"]]
        # withheld by the minimum reporting rule: no wall of "样本不足 —" rows but one note, folded,
        # that opens on each school's pupils (issue 17.7)
        assert section.locator("table.academic tbody tr").count() == 1
        note = section.locator("details.withheld")
        assert f"另有 {len(schools)} 个单位样本不足" in note.locator("summary").inner_text()
        note.locator("summary").click()
        for p in schools:
            assert p["flag"] and p["mean"] is None
            r = note.locator(f"tr[data-code='{p['code']}']")
            assert r.locator("td[data-k='n_pupils']").inner_text().strip() == str(p["n_pupils"])



def test_a_city_user_switches_subjects_and_sees_a_bar_per_county(county_world, live_server, browser, artifacts):
    base, cycle = live_server.url, county_world
    page = _open(browser, base, "city-410100", cycle)
    chart = page.locator("#academic-chart")
    assert chart.get_attribute("data-subject") == "语文" and chart.get_attribute("data-bars") == "3"  # 合计 + 2 counties
    page.click(".subject-switch button:has-text('数学')")
    page.wait_for_selector("#academic-chart[data-subject='数学']")
    page.screenshot(path=str(artifacts / "academic-city.png"), full_page=True)
    data = page.request.get(f"{base}/cycles/{cycle.pk}/academic.json").json()
    for p in data["parts"]:
        row = page.locator(f"section.subject[data-subject='{p['subject']}'] tr[data-code='{p['code']}']")
        assert row.locator("td[data-k='mid_plus']").inner_text().strip() == f"{_pct(p['mid_plus'])} ({_pct(p['mid_plus_se'])})"
    page.click("section.subject[data-subject='语文'] tr[data-code='410103'] a")
    page.wait_for_url(f"{base}/cycles/{cycle.pk}/academic/410103/")
