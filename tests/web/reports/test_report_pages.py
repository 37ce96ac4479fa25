"""The written reports on the platform: a county reads its own, its city reads it, nobody else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture
def written():
    folder = Path(settings.REPORTS_DIR) / "county"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "410102.pdf").write_bytes(b"%PDF-1.7 test")
    (folder / "410102.html").write_text("<h1>中原区</h1>", encoding="utf-8")
    return folder


@pytest.mark.django_db
def test_it_serves_the_county_its_own_report(client, world, written):
    client.force_login(world.users["bob"])
    resp = client.get("/reports/county/410102.pdf")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert b"".join(resp.streaming_content) == b"%PDF-1.7 test"


@pytest.mark.django_db
def test_it_answers_404_for_another_county_and_for_an_unwritten_report(client, world, written):
    client.force_login(world.users["bob"])
    assert client.get("/reports/county/410103.pdf").status_code == 404
    assert client.get("/reports/county/410102.docx").status_code == 404


@pytest.mark.django_db
def test_it_keeps_the_annual_report_to_the_province(client, world, written):
    (Path(settings.REPORTS_DIR) / "annual.html").write_text("<h1>年度</h1>", encoding="utf-8")
    client.force_login(world.users["bob"])
    assert client.get("/reports/annual.html").status_code == 403
    client.force_login(world.users["alice"])
    assert client.get("/reports/annual.html").status_code == 200


@pytest.fixture
def shelf(written):
    """The annual report, county A's report (pdf + html, from ``written``) and both schools' sheets of A and B."""
    root = Path(settings.REPORTS_DIR)
    (root / "annual.pdf").write_bytes(b"%PDF-1.7 annual")
    (root / "school").mkdir(exist_ok=True)
    for code in ("4101020001", "4101030001"):
        (root / "school" / f"{code}.html").write_text(f"<h1>{code}</h1>", encoding="utf-8")
    yield root
    shutil.rmtree(root / "school")  # (the folder outlives the test: leave the others a shelf without sheets)
    (root / "annual.pdf").unlink()


def _rows(body: str, section: str) -> list[str]:
    part = re.search(rf'<section id="{section}">(.*?)</section>', body, re.S)
    return re.findall(r'<tr data-code="(\d+)">', part.group(1)) if part else []


@pytest.mark.django_db
def test_the_reports_page_lists_what_each_role_may_read(client, world, shelf):
    """Issue 17.1: the province sees the annual report and every county (written or not); a county
    its own; a city its counties; a school its own sheet — each link opens (200)."""
    expect = {"alice": (True, ["410102", "410103"], ["4101020001", "4101030001"]),
              "frank": (False, ["410102", "410103"], ["4101020001", "4101030001"]),
              "bob": (False, ["410102"], ["4101020001"]),
              "charlie": (False, ["410103"], ["4101030001"]),
              "dave": (False, [], ["4101020001"]),
              "erin": (False, [], ["4101030001"])}
    for who, (annual, counties, schools) in expect.items():
        client.force_login(world.users[who])
        body = client.get("/reports/").content.decode()
        assert ('id="report-annual"' in body) is annual, who
        assert _rows(body, "report-counties") == counties, who
        assert _rows(body, "report-schools") == schools, who
        for href in re.findall(r'href="(/reports/[^"]+)"', body):
            assert client.get(href).status_code == 200, (who, href)
    client.force_login(world.users["alice"])
    body = client.get("/reports/").content.decode()
    assert body.count('<span class="hint">尚未生成') == 1  # county B's report is not written


@pytest.mark.django_db
def test_a_school_sees_its_sheet_as_not_written_yet_and_no_other(client, world, written):
    shutil.rmtree(Path(settings.REPORTS_DIR) / "school", ignore_errors=True)
    client.force_login(world.users["dave"])
    body = client.get("/reports/").content.decode()
    assert _rows(body, "report-schools") == ["4101020001"] and "尚未生成" in body
    assert client.get("/reports/school/4101020001.html").status_code == 404  # not written
    assert client.get("/reports/school/4101030001.html").status_code == 404  # another county's school


@pytest.mark.django_db
def test_the_navigation_offers_reports_to_the_roles_that_have_them(client, world):
    for who, shown in (("alice", True), ("frank", True), ("bob", True), ("dave", True), ("rita", False),
                       ("paul", False)):
        client.force_login(world.users[who])
        assert ('href="/reports/"' in client.get("/").content.decode()) is shown, who
