"""县级报告 and 学校简表 as ``junheng_web.tables`` lists (issue 17.3): paging, sorting, the filters
(city, county, code or name, written or not), the scope of the 报告 page (a county its own county's
rows, a school its own sheet), the Excel export (rows and formats, audited)."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf(world):
    """58 more counties (410201…410257 of a second city 开封市; 410199 of 郑州市), 60 more schools of
    county A (4101029000…9059) with sheets; county A's report (pdf + html) and sheets of schools A and B."""
    from junheng_web.registry.models import Region, School

    city = Region.objects.get(code="410100")
    kaifeng = Region.objects.create(code="410200", level="city", name="开封市", parent=city.parent)
    for k in range(57):
        Region.objects.create(code=f"4102{k + 1:02d}", level="county", name=f"开封{k:02d}区", parent=kaifeng)
    Region.objects.create(code="410199", level="county", name="新区", parent=city)
    a = Region.objects.get(code="410102")
    root = Path(settings.REPORTS_DIR)
    (root / "county").mkdir(parents=True, exist_ok=True)
    (root / "school").mkdir(parents=True, exist_ok=True)
    (root / "county" / "410102.pdf").write_bytes(b"%PDF-1.7 test")
    (root / "county" / "410102.html").write_text("<h1>中原区</h1>", encoding="utf-8")
    (root / "county" / "410200.html").write_text("<h1>a city is no county</h1>", encoding="utf-8")
    codes = ["4101020001", "4101030001"]
    for k in range(60):
        School.objects.create(code=f"410102{9000 + k}", name=f"附加学校{k:02d}", county=a, stage="小学",
                              location="城区", enrol_g6=10)
        codes.append(f"410102{9000 + k}")
    for code in codes:
        (root / "school" / f"{code}.html").write_text(f"<h1>{code}</h1>", encoding="utf-8")
    yield world
    shutil.rmtree(root / "school")
    for name in ("410102.pdf", "410102.html", "410200.html"):
        (root / "county" / name).unlink()


def _codes(resp) -> list[str]:
    return re.findall(r'<tr[^>]*data-code="(\d+)"', resp.content.decode())


def test_the_county_list_is_paged_sorted_and_filtered(client, shelf):
    client.force_login(shelf.users["alice"])
    first = client.get("/reports/counties/")
    assert first.status_code == 200 and "共 60 条" in first.content.decode()
    assert len(_codes(first)) == 50 and _codes(first)[:2] == ["410102", "410103"]
    assert len(_codes(client.get("/reports/counties/?page=2"))) == 10
    codes = _codes(client.get("/reports/counties/?per_page=100&sort=-code"))
    assert len(codes) == 60 and codes == sorted(codes, reverse=True)
    assert _codes(client.get("/reports/counties/?per_page=100&sort=report"))[0] == "410102"  # written first
    assert _codes(client.get("/reports/counties/?written=1")) == ["410102"]
    assert len(_codes(client.get("/reports/counties/?per_page=100&written=0"))) == 59
    assert _codes(client.get("/reports/counties/?city=410100")) == ["410102", "410103", "410199"]
    assert _codes(client.get("/reports/counties/?county=410103")) == ["410103"]
    assert _codes(client.get("/reports/counties/?q=开封07")) == ["410208"]
    body = client.get("/reports/counties/?written=1").content.decode()
    assert 'href="/reports/county/410102.pdf"' in body and 'href="/reports/county/410102.html"' in body


def test_the_school_list_is_paged_sorted_and_filtered(client, shelf):
    client.force_login(shelf.users["alice"])
    first = client.get("/reports/schools/")
    assert "共 62 条" in first.content.decode() and len(_codes(first)) == 50
    codes = _codes(client.get("/reports/schools/?per_page=100&sort=-code"))
    assert len(codes) == 62 and codes == sorted(codes, reverse=True)
    assert _codes(client.get("/reports/schools/?county=410103")) == ["4101030001"]
    assert len(_codes(client.get("/reports/schools/?per_page=100&city=410100"))) == 62
    assert _codes(client.get("/reports/schools/?city=410200")) == []
    assert _codes(client.get("/reports/schools/?q=附加学校07")) == ["4101029007"]
    assert _codes(client.get("/reports/schools/?written=0")) == []


def test_each_role_sees_its_scope_only(client, shelf):
    client.force_login(shelf.users["bob"])  # county A
    assert _codes(client.get("/reports/counties/")) == ["410102"]
    schools = _codes(client.get("/reports/schools/?per_page=100"))
    assert len(schools) == 61 and "4101030001" not in schools
    assert _codes(client.get("/reports/schools/?county=410103")) == []  # another county: not even an option
    assert 'value="410103"' not in client.get("/reports/schools/").content.decode()
    client.force_login(shelf.users["dave"])  # school A
    assert _codes(client.get("/reports/counties/")) == []
    assert _codes(client.get("/reports/schools/")) == ["4101020001"]
    body = client.get("/reports/").content.decode()
    assert 'data-code="4101020001"' in body and 'href="/reports/school/4101020001.html"' in body


def test_the_reports_page_shows_ten_rows_and_links_to_the_lists(client, shelf):
    client.force_login(shelf.users["alice"])
    body = client.get("/reports/").content.decode()
    assert body.count("<tr data-code=") == 20
    assert 'href="/reports/counties/"' in body and "全部 60 个县级报告" in body
    assert 'href="/reports/schools/"' in body and "全部 62 份学校简表" in body


def test_the_export_lists_rows_and_formats_and_is_audited(client, shelf):
    from junheng_web.accounts.models import AuditLog

    client.force_login(shelf.users["alice"])
    resp = client.get("/reports/counties/?city=410100&export=xlsx")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("县（市、区）", "代码", "所属市", "报告")
    assert rows[1:] == [("中原区", "410102", "郑州市", "网页版、PDF"), ("二七区", "410103", "郑州市", "尚未生成"),
                        ("新区", "410199", "郑州市", "尚未生成")]
    entry = AuditLog.objects.filter(action="export").latest("pk")
    assert entry.rows == 3 and "county-reports" in entry.what
    sheet = client.get("/reports/schools/?export=xlsx")
    assert len(list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows())) == 63
    client.force_login(shelf.users["dave"])  # a school operator may not export
    assert client.get("/reports/schools/?export=xlsx").status_code == 403


@pytest.mark.parametrize("who", ["bob", "frank"])  # a county user, a city user
def test_the_school_list_and_the_reports_page_cost_no_query_per_school(client, shelf, who):
    """Each school sheet of a county or city user was checked with a query of its own
    (services.allowed → _school_county): the query count grew with the number of sheets."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from junheng_web.registry.models import Region, School

    def queries(url) -> int:
        with CaptureQueriesContext(connection) as q:
            assert client.get(url).status_code == 200
        return len(q)

    client.force_login(shelf.users[who])
    before = {url: queries(url) for url in ("/reports/schools/", "/reports/")}
    root, a = Path(settings.REPORTS_DIR), Region.objects.get(code="410102")
    for k in range(30):
        School.objects.create(code=f"410102{8000 + k}", name=f"又一学校{k:02d}", county=a, stage="小学",
                              location="城区", enrol_g6=10)
        (root / "school" / f"410102{8000 + k}.html").write_text("<h1>x</h1>", encoding="utf-8")
    assert {url: queries(url) for url in before} == before
