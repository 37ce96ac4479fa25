"""Issue 17.1 and 17.8 in the browser: the 优质均衡 page reached from the 报告 section, sorted and
filtered, the county dot map (157 county units), one county's requirements with the numbers behind
them, its 整改建议 and the trend over two cycles.  Screenshots under test-artifacts/e2e/."""

from __future__ import annotations

import pytest

from tests.e2e.support import PASSWORD, signed_in

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def two_cycles(transactional_db, academic, province_data):
    """The academic fixture's two counties with resource figures (二七区's first school short of
    teaching space), the 2022 cycle and a 2023 cycle with its own sample, weights and scores."""
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.assessment.scores import store_scores
    from junheng_web.registry.models import Cycle, Region, School
    from junheng_web.sampling.services import compute_weights, run_sample

    base = academic.build()
    province_data.with_resources(School.objects.all())
    bad = School.objects.filter(county__code="410103").order_by("code").first()
    bad.teaching_area_m2 = 6 * bad.enrol_g6 * 1.0
    bad.save()
    nxt = Cycle.objects.create(year=2023, grade=6, subjects=["语文", "数学"], name="2023 年六年级监测")
    run_sample(nxt, {"schools": 6, "pupils_per_school": 24, "seed": 9})
    compute_weights(nxt, replicates=12)
    store_scores(nxt, academic.scores_for(academic.sampled(nxt), seed=4))
    pw = make_password(PASSWORD)
    User.objects.create(username="province", role="province_analyst", password=pw)
    User.objects.create(username="county-410103", role="county", region=Region.objects.get(code="410103"), password=pw)
    return base, nxt


def test_a_county_reaches_its_verdict_from_the_reports_and_sees_what_to_do(two_cycles, live_server, browser,
                                                                            artifacts):
    _, nxt = two_cycles
    base = live_server.url
    page = signed_in(browser, base, "county-410103")
    page.click("header nav >> text=报告")
    page.click(f"#report-verdicts a[href='/cycles/{nxt.pk}/verdicts/']")
    page.wait_for_selector("#county-map[data-ready='1']")
    assert page.locator("#verdict-table tbody tr").count() == 1  # its own county only
    page.screenshot(path=str(artifacts / "verdicts-county-list.png"), full_page=True)
    page.click("#verdict-table a >> text=二七区")
    page.wait_for_selector("#trend-chart[data-ready='1']")
    assert page.locator("#trend-chart").get_attribute("data-lines") == "2"  # 语文, 数学 over 2022 and 2023
    r4 = page.locator("#resource-table tr[data-indicator='R4'][data-level='小学']").inner_text()
    assert "生均教学及辅助用房面积" in r4 and "7 / 8" in r4
    assert page.locator("#failing-schools tbody tr").count() == 1
    assert "改扩建" in page.locator("ol.advice li[data-id='R4']").inner_text()
    for row in page.locator("#quality-table tbody tr").all():
        assert row.locator("td[data-k='verdict']").inner_text().split()[0] in ("达到", "未达到", "无法判定")
        assert "–" in row.locator("td[data-k='share_ci']").inner_text()
    page.screenshot(path=str(artifacts / "verdict-county-detail.png"), full_page=True)


@pytest.fixture
def whole_province(transactional_db, province_data):
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Cycle

    province_data.whole_province(schools_per_county=3)
    User.objects.create(username="province", role="province_analyst", password=make_password(PASSWORD))
    return Cycle.objects.create(year=2022, grade=6, subjects=["语文", "数学"], name="2022 年六年级监测")


def test_the_province_sorts_filters_and_maps_157_counties(whole_province, live_server, browser, artifacts):
    cycle = whole_province
    base = live_server.url
    page = signed_in(browser, base, "province")
    page.goto(f"{base}/cycles/{cycle.pk}/verdicts/")
    page.wait_for_selector("#county-map[data-ready='1'] canvas")
    mp = page.locator("#county-map")
    assert mp.get_attribute("data-points") == "157" and mp.get_attribute("data-mode") == "dots"
    page.screenshot(path=str(artifacts / "verdicts-province-map.png"), full_page=False)
    rows = page.locator("#verdict-table tbody tr")
    assert rows.count() == 157
    # sort by 达标学校 (ascending): the first row has the fewest passing schools
    page.click("#verdict-table th >> text=达标学校（学部）")
    first = int(rows.first.locator("td.num").first.get_attribute("data-sort"))
    assert first == min(int(r.locator("td.num").first.get_attribute("data-sort")) for r in rows.all()[:40])
    page.select_option(".table-filters select[data-field='city']", "洛阳市")
    shown = page.locator("#verdict-table tbody tr:not([hidden])")
    assert 0 < shown.count() < 157 and all("洛阳市" in r.inner_text() for r in shown.all())
    page.select_option("#map-indicator", "cv")
    page.wait_for_timeout(200)
    page.screenshot(path=str(artifacts / "verdicts-province-filtered.png"), full_page=True)


def test_an_uploaded_boundary_file_turns_the_dots_into_a_choropleth(whole_province, live_server, browser, artifacts):
    """The operator uploads a boundary file (here: a made-up square around each county's centroid —
    no real boundary is used in tests) through the page; the map then colours the shapes."""
    import json

    from django.contrib.auth.hashers import make_password

    from junheng.registry import centroids
    from junheng_web.accounts.models import User
    from junheng_web.reports.maps import boundaries_path

    User.objects.create(username="admin", role="province_admin", password=make_password(PASSWORD))
    d = 0.09
    feats = [{"type": "Feature", "properties": {"code": c, "name": n},
              "geometry": {"type": "Polygon", "coordinates": [[[x - d, y - d], [x + d, y - d], [x + d, y + d],
                                                               [x - d, y + d], [x - d, y - d]]]}}
             for c, n, x, y in centroids().select("code", "name", "lon", "lat").iter_rows()]
    path = artifacts / "squares.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    base = live_server.url
    page = signed_in(browser, base, "admin")
    try:
        page.goto(f"{base}/reports/")
        page.click("text=县级边界文件（分区着色地图）")
        page.set_input_files("input[type=file]", str(path))
        page.click("button >> text=检查并保存")
        page.wait_for_selector("text=边界文件已保存，共 157 个县。")
        page.goto(f"{base}/cycles/{whole_province.pk}/verdicts/")
        page.wait_for_selector("#county-map[data-ready='1'] canvas")
        assert page.locator("#county-map").get_attribute("data-mode") == "choropleth"
        page.locator("#county-map").screenshot(path=str(artifacts / "verdicts-province-choropleth.png"))
    finally:
        boundaries_path().unlink(missing_ok=True)
        path.unlink()


def test_a_county_name_with_markup_shows_as_text_in_the_map_tooltip(site_world, live_server, browser):
    """The map's tooltip is HTML: a name from the registry went in unescaped (markup ran)."""
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region

    Region.objects.filter(code="410102").update(name='<img src=x onerror="window.__xss=1">中原区')
    User.objects.create(username="province", role="province_analyst", password=make_password(PASSWORD))
    base = live_server.url
    page = signed_in(browser, base, "province")
    page.goto(f"{base}/cycles/{site_world['cycle'].pk}/verdicts/")
    page.wait_for_selector("#county-map[data-ready='1'] canvas")
    page.evaluate("() => echarts.getInstanceByDom(document.getElementById('county-map'))"
                  ".dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0})")
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__xss") is None
    assert '<img src=x onerror="window.__xss=1">中原区' in page.locator("#county-map").inner_text()
