"""The written reports on the platform: a county reads its own, its city reads it, nobody else."""

from __future__ import annotations

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
