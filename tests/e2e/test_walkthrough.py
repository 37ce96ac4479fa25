"""Issue 17: every persona walks its own pages in a Chinese browser.  Each signs in, follows the
links of the navigation and of the home page (one step deep, downloads left out), and every page
must answer (no 404 or 500), carry a title, and read in Chinese: a word of three or more Latin
letters outside the allow-list below is an English word left in the Chinese UI.  Screenshots
``test-artifacts/e2e/walk-<persona>-<n>.png`` are for a person to look at."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.support import PASSWORD, signed_in

pytestmark = [pytest.mark.e2e]

# Latin words a Chinese page may carry: file formats, statistics' symbols, product and unit names
ALLOWED = {
    "pdf", "excel", "xlsx", "csv", "html", "json", "typst", "zip", "mp4", "webm", "geojson", "url", "http", "https",
    "cv", "se", "ci", "irt", "pisa", "mos", "pps", "rasch", "pl", "jackknife", "brr", "rmsea", "tli", "cfi",
    "bmi", "rubin", "echarts", "chromium", "mb", "gb", "kb", "fps", "wifi", "lan", "junheng", "com", "www",
}
USERS = {"province": "province-410000", "admin": "admin-410000", "city": "city-410100", "county": "county-410102",
         "school": "school-1", "reviewer": "reviewer-410102", "proctor": "proctor-1"}
MUST_REACH = {
    "province": ["/cycles/{c}/progress/", "/cycles/{c}/dashboard/", "/cycles/{c}/academic/", "/reports/"],
    "admin": ["/cycles/{c}/progress/", "/video/", "/accounts/audit/", "/reports/"],
    "city": ["/cycles/{c}/progress/", "/cycles/{c}/academic/", "/reports/"],
    "county": ["/cycles/{c}/schools/", "/cycles/{c}/progress/", "/cycles/{c}/academic/", "/reports/"],
    "school": ["/cycles/{c}/status/", "/cycles/{c}/upload/roster/", "/cycles/{c}/upload/fitness/", "/reports/"],
    "reviewer": ["/video/"],
    "proctor": ["/test/sessions/", "/cycles/{c}/sites/"],
}
WORD = re.compile(r"(?<![A-Za-z0-9_\-./@])[A-Za-z]{3,}(?![A-Za-z0-9_\-./@])")
SKIP = re.compile(r"logout|/download|\.xlsx|\.pdf|\.json|\.csv|\.zip|export|/admin/|/i18n/|/static/|/media/|#")


@pytest.fixture
def world(transactional_db, academic):
    """The academic fixture's two counties of 郑州市 (sample, weights, scores), one user per role,
    a test site of the first sampled school with a session under way."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from junheng_web.accounts.models import User
    from junheng_web.registry.models import Region
    from junheng_web.sampling.models import SampledSchool
    from junheng_web.testsites.models import TestSession, TestSite

    cycle = academic.build()
    county = Region.objects.get(code="410102", level="county")
    ss = SampledSchool.objects.filter(cycle=cycle, school__county=county).order_by("sort_order").first()
    site = TestSite.objects.create(cycle=cycle, county=county, code="TA01", name="中原区第一测试点")
    site.schools.add(ss)
    now = timezone.now()
    TestSession.objects.create(site=site, subject="语文", room="1", starts_at=now - dt.timedelta(minutes=5),
                               ends_at=now + dt.timedelta(minutes=55))
    pw = make_password(PASSWORD)
    for name, role, region, school in [
        ("province-410000", "province_analyst", Region.objects.get(code="410000"), None),
        ("admin-410000", "province_admin", None, None),
        ("city-410100", "city", Region.objects.get(code="410100"), None),
        ("county-410102", "county", county, None),
        ("school-1", "school", None, ss.school),
        ("reviewer-410102", "reviewer", county, None),
        ("proctor-1", "proctor", None, ss.school),
    ]:
        User.objects.create(username=name, role=role, region=region, school=school, password=pw)
    return cycle


def _english(text: str) -> set[str]:
    return {w for w in WORD.findall(text) if w.lower() not in ALLOWED}


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("header nav a[href], main a[href]", "els => els.map(e => e.href)")
    out = []
    for h in hrefs:
        if h.startswith(base) and not SKIP.search(h[len(base):]) and h not in out:
            out.append(h)
    return out


def _walk(page, base: str, persona: str, artifacts, limit: int = 40) -> tuple[dict[str, set[str]], set[str]]:
    """Visit home and every page one link away; the English words found per path, the paths seen."""
    page.goto(f"{base}/")
    todo, seen, found, n = [f"{base}/", *_links(page, base)], set(), {}, 0
    for url in todo[:limit]:
        path = urlsplit(url).path
        if path in seen:
            continue
        seen.add(path)
        resp = page.goto(url)
        assert resp is not None and resp.status < 400, f"{persona}: {path} answered {resp and resp.status}"
        page.wait_for_load_state("networkidle")
        assert page.title().strip(), f"{persona}: {path} has no title"
        words = _english(page.inner_text("main") if page.locator("main").count() else page.inner_text("body"))
        if words:
            found[path] = words
        n += 1
        page.screenshot(path=str(artifacts / f"walk-{persona}-{n:02d}.png"), full_page=True)
    assert n >= 2, f"{persona} reached no page beyond home"
    return found, seen


@pytest.mark.parametrize("persona", ["province", "admin", "city", "county", "school", "reviewer", "proctor"])
def test_every_persona_walks_its_pages_in_chinese(world, persona, live_server, browser, artifacts):
    base = live_server.url
    page = signed_in(browser, base, USERS[persona])
    found, seen = _walk(page, base, persona, artifacts)
    cycle = world.pk
    for path in MUST_REACH[persona]:  # each role's own main pages are one click from home
        assert path.format(c=cycle) in seen, f"{persona} cannot reach {path} from home: {sorted(seen)}"
    assert found == {}, f"{persona}: English words on Chinese pages: {found}"


def test_the_pupil_sign_in_reads_in_chinese(world, live_server, browser, artifacts):
    base = live_server.url
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    resp = page.goto(f"{base}/test/")
    assert resp.status == 200 and page.title().strip()
    assert _english(page.inner_text("body")) == set()
    page.screenshot(path=str(artifacts / "walk-pupil-01.png"), full_page=True)
