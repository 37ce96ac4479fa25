"""The 优质均衡 pages: every county of the user's scope, each requirement with the number behind it
(checked against numbers worked by hand from the schools' figures), Q9 with estimate, bound and
threshold, and the 整改建议 of the unmet requirements."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def province(academic, province_data):
    """The academic fixture (two counties of 郑州市, scores and JK2 weights) with resource figures:
    中原区's schools all meet every standard; 二七区's first school has too little teaching space
    (R4: 1.0 m² per pupil against 4.5) and too few multimedia classrooms (R7)."""
    from django.contrib.auth.hashers import make_password

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region, School

    cycle = academic.build()
    province_data.with_resources(School.objects.all())
    bad = School.objects.filter(county__code="410103").order_by("code").first()
    bad.teaching_area_m2 = 6 * bad.enrol_g6 * 1.0
    bad.multimedia_classrooms = 0
    bad.save()
    pw = make_password("x")
    for name, role, code in (("prov", "province_analyst", None), ("city", "city", "410100"),
                             ("c102", "county", "410102"), ("c103", "county", "410103")):
        User.objects.create(username=name, role=role, password=pw,
                            region=Region.objects.filter(code=code).order_by("level").first() if code else None)
    User.objects.create(username="school", role="school", password=pw, school=bad)
    return cycle, bad


def _login(client, name):
    from junheng_web.accounts.models import User

    client.force_login(User.objects.get(username=name))


def test_the_province_sees_every_county_a_county_only_its_own(client, province):
    cycle, _ = province
    _login(client, "prov")
    body = client.get(f"/cycles/{cycle.pk}/verdicts/").content.decode()
    assert 'data-code="410102"' in body and 'data-code="410103"' in body
    _login(client, "c102")
    body = client.get(f"/cycles/{cycle.pk}/verdicts/").content.decode()
    assert 'data-code="410102"' in body and 'data-code="410103"' not in body
    assert client.get(f"/cycles/{cycle.pk}/verdicts/410103/").status_code == 404
    assert client.get(f"/cycles/{cycle.pk}/verdicts/410102/").status_code == 200
    _login(client, "city")
    body = client.get(f"/cycles/{cycle.pk}/verdicts/").content.decode()
    assert 'data-code="410102"' in body and 'data-code="410103"' in body
    _login(client, "school")
    assert client.get(f"/cycles/{cycle.pk}/verdicts/").status_code == 403


def test_a_failing_county_shows_its_failing_school_and_the_advice_for_each_unmet_standard(client, province):
    cycle, bad = province
    _login(client, "c103")
    body = client.get(f"/cycles/{cycle.pk}/verdicts/410103/").content.decode()
    # the failing school, its missed indicators by name (not code)
    assert f'data-code="{bad.code}"' in body and "生均教学及辅助用房面积" in body
    # R4 for 小学: 7 of 8 schools meet 4.5 m² (the bad one has 1.0 m²; the others 5.0) — by hand
    row = body.split('data-indicator="R4" data-level="小学"')[1].split("</tr>")[0]
    assert "7 / 8" in row and "4.5" in row and "1.00" in row
    # 整改建议 for R4 and R7 (both unmet in the failing school), from the rules table
    assert 'data-id="R4"' in body and "改扩建" in body and 'data-id="R7"' in body
    assert 'data-id="R1"' not in body  # met everywhere: no advice


def test_cv_and_q9_numbers_equal_the_core_and_the_bounds_are_one_sided_t(client, province):
    from scipy import stats

    from junheng_web.cycles.verdicts import province_tables

    cycle, _ = province
    t = province_tables(cycle)
    _login(client, "c102")
    body = client.get(f"/cycles/{cycle.pk}/verdicts/410102/").content.decode()
    q = t["quality"].filter(pl.col("county_code") == "410102").sort("subject").to_dicts()
    assert q, "the fixture has scores and weights: Q9 is computed"
    for r in q:
        row = body.split(f'<tr data-subject="{r["subject"]}">')[1].split("</tr>")[0]
        assert f'{r["share_l3"] * 100:.1f}%' in row
        crit = stats.t.ppf(0.95, r["share_l3_df"])  # one-sided 95 % bounds
        lo, hi = r["share_l3"] - crit * r["share_l3_se"], r["share_l3"] + crit * r["share_l3_se"]
        assert f"{max(lo, 0) * 100:.1f}% – {min(hi, 1) * 100:.1f}%" in row  # shown within 0–100 %
        # the outcome is the core's; it agrees with the bounds against 50 %
        assert r["level_verdict"] in row
        assert r["level_verdict"] == ("达到" if lo >= 0.5 else "未达到" if hi < 0.5 else "无法判定")
        # the between-school share shown is the county's, pooled over the subjects, with its bounds
        c = stats.t.ppf(0.95, r["pooled_between_share_df"])
        b, bse = r["pooled_between_share"], r["pooled_between_share_se"]
        assert f"{b - c * bse:.3f} – {b + c * bse:.3f}" in row
        assert r["diff_verdict"] == ("达到" if b + c * bse < 0.15 else "未达到" if b - c * bse >= 0.15 else "无法判定")
    # every CV shown equals the weighted CV by hand: equal per-pupil values → CV 0 in 中原区
    cv = t["cv"].filter(pl.col("county_code") == "410102")
    assert cv["cv"].max() < 0.05


def test_the_checklist_gives_the_overall_verdict_and_its_advice(client, province):
    cycle, _ = province
    root = Path(settings.REPORTS_DIR)
    root.mkdir(parents=True, exist_ok=True)
    cols = {"county_code": ["410102", "410103"], "year": [cycle.year, cycle.year]}
    for c in [f"G{i}" for i in range(1, 16)] + [f"Q{i}" for i in range(1, 9)]:
        cols[c] = ["是", "是"]
    cols["G5"] = ["否", "是"]  # 中原区: 班额超标
    cols["Q9"] = ["", ""]
    cols["recognition"] = [0.80, 0.90]
    for c in [f"V{i}" for i in range(1, 7)]:
        cols[c] = ["否", "否"]
    path = root / "checklist.csv"
    pl.DataFrame(cols).write_csv(path)
    try:
        _login(client, "prov")
        body = client.get(f"/cycles/{cycle.pk}/verdicts/").content.decode()
        assert "总体结论" in body
        row = body.split('data-code="410102"')[1].split("</tr>")[0]
        assert "未达到" in row and "80.0%" in row
        body = client.get(f"/cycles/{cycle.pk}/verdicts/410102/").content.decode()
        assert 'data-id="G5"' in body and "消除大班额" in body and 'data-id="RECOGNITION"' in body
        assert '<tr data-item="G5">' in body
    finally:
        path.unlink()


def test_without_a_checklist_the_page_says_what_is_missing(client, province):
    cycle, _ = province
    _login(client, "prov")
    body = client.get(f"/cycles/{cycle.pk}/verdicts/").content.decode()
    assert "核查表" in body and "总体结论</th>" not in body
    assert 'id="county-map"' in body and 'id="map-points"' in body


def test_the_reports_page_links_to_the_verdicts(client, province):
    cycle, _ = province
    _login(client, "c102")
    body = client.get("/reports/").content.decode()
    assert f"/cycles/{cycle.pk}/verdicts/" in body


def test_an_administrator_uploads_a_boundary_file_and_a_bad_one_is_refused_whole(client, province):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    from junheng_web.accounts.models import User
    from junheng_web.reports.maps import boundaries_path

    _login(client, "prov")  # an analyst may read the maps, not replace them
    assert client.get("/reports/map/boundaries/").status_code == 403
    assert client.get("/reports/map/boundaries.geojson").json() == {"type": "FeatureCollection", "features": []}
    client.force_login(User.objects.create(username="admin", role="province_admin"))
    ring = [[113.5, 34.7], [113.6, 34.7], [113.6, 34.8], [113.5, 34.7]]
    feat = lambda code, r=ring: {"type": "Feature", "properties": {"code": code},  # noqa: E731
                                 "geometry": {"type": "Polygon", "coordinates": [r]}}
    bad = {"type": "FeatureCollection", "features": [feat("410102"), feat("419999"), feat("410103", [[0, 0]] * 4)]}
    resp = client.post("/reports/map/boundaries/", {"file": SimpleUploadedFile("b.geojson", json.dumps(bad).encode())})
    body = resp.content.decode()
    assert resp.status_code == 200 and "第2行" in body and "第3行" in body and not boundaries_path().exists()
    good = {"type": "FeatureCollection", "features": [feat("410102"), feat("410103")]}
    resp = client.post("/reports/map/boundaries/", {"file": SimpleUploadedFile("g.geojson", json.dumps(good).encode())})
    try:
        assert resp.status_code == 302
        served = client.get("/reports/map/boundaries.geojson")
        assert [f["properties"]["code"] for f in json.loads(b"".join(served.streaming_content))["features"]] == \
            ["410102", "410103"]
    finally:
        boundaries_path().unlink()


def test_with_two_cycles_the_pages_draw_trends_from_each_cycles_own_estimates(client, province, academic):
    import json
    import re

    from junheng_web.assessment.scores import store_scores
    from junheng_web.cycles.dashboards import academic_dashboard
    from junheng_web.cycles.verdicts import province_tables
    from junheng_web.registry.models import Cycle, Region
    from junheng_web.sampling.services import compute_weights, run_sample

    base, _ = province
    _login(client, "c102")
    assert 'id="trend-data"' not in client.get(f"/cycles/{base.pk}/academic/").content.decode()  # one cycle
    nxt = Cycle.objects.create(year=2023, grade=6, subjects=["语文", "数学"], name="2023")
    run_sample(nxt, {"schools": 6, "pupils_per_school": 24, "seed": 9})
    compute_weights(nxt, replicates=12)
    store_scores(nxt, academic.scores_for(academic.sampled(nxt), seed=4))
    county = Region.objects.get(code="410102")

    def data(url):
        body = client.get(url).content.decode()
        return json.loads(re.search(r'<script id="trend-data" type="application/json">(.*?)</script>', body).group(1))

    d = data(f"/cycles/{nxt.pk}/academic/")
    assert d["years"] == [2022, 2023]
    for s in d["series"]:  # each point is that cycle's own published estimate and SE
        for (year, est, se), c in zip(s["points"], (base, nxt), strict=True):
            row = next(r for r in academic_dashboard(c, county)["overall"] if r["subject"] == s["name"])
            assert (year, est, se) == (c.year, row["good_plus"], row["good_plus_se"])
    d = data(f"/cycles/{nxt.pk}/verdicts/410102/")
    q = province_tables(base)["quality"].filter(pl.col("county_code") == "410102").sort("subject")
    assert [s["points"][0][1] for s in d["series"]] == q["share_l3"].to_list()


def test_the_pages_read_in_english(client, province):
    cycle, _ = province
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    _login(client, "c103")
    body = client.get(f"/cycles/{cycle.pk}/verdicts/").content.decode()
    assert "County results" in body and "Counties across the province" in body
    body = client.get(f"/cycles/{cycle.pk}/verdicts/410103/").content.decode()
    assert "1. Resources" in body and "Recommendations" in body and "one-sided" in body
    body = client.get(f"/cycles/{cycle.pk}/progress/").content.decode()
    assert "Reporting rate" in body and "County total" in body


@pytest.mark.parametrize("se", [None, float("nan")])
def test_an_estimate_without_an_se_shows_no_interval_as_the_core_gives_no_verdict(se):
    """The core calls a criterion without an SE 无法判定 (no evidence either way); the page drew
    the interval estimate ± t·0 (a point passed off as a bound) or ± t·NaN ("nan%")."""
    import math

    from junheng_web.cycles.verdicts import _quality_rows

    q = pl.DataFrame({"county_code": ["410102"], "subject": ["数学"], "share_l3": [0.62], "share_l3_se": [se],
                      "share_l3_df": [10.0], "n_pupils": [40], "n_schools": [2], "flag": [None],
                      "pooled_between_share": [0.08], "pooled_between_share_se": [se],
                      "pooled_between_share_df": [10.0], "level_verdict": ["无法判定"], "diff_verdict": ["无法判定"],
                      "quality_verdict": ["无法判定"]},
                     schema_overrides={"share_l3_se": pl.Float64, "pooled_between_share_se": pl.Float64,
                                       "flag": pl.String})
    (row,) = _quality_rows(q)
    assert row["share"] == 0.62 and row["spread"] == 0.08
    for k in ("share_se", "spread_se", "share_low", "share_high", "spread_low", "spread_high"):
        assert row[k] is None, (k, row[k])
    with_se = _quality_rows(q.with_columns(share_l3_se=pl.lit(0.05), pooled_between_share_se=pl.lit(0.01)))[0]
    assert not math.isclose(with_se["share_low"], 0.62) and with_se["share_low"] < 0.62 < with_se["share_high"]
