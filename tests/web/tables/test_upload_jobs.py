"""The 上传记录 list (issue 17.3): every upload job of a kind in the cycle within the user's area,
as a junheng_web.tables list — paging, sorting, filtering, Excel export, scoping of rows, filter
options and export — and the upload page's short 最近上传 excerpt linking to it."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(world):
    """60 more roster uploads in county A (school A; every 4th failed), 5 in county B, and 3 fitness
    uploads that a roster list must not show; with the world's own two roster jobs: 62 + 5 + 1."""
    from junheng_web.jobs.models import Job

    for key, n in (("A", 60), ("B", 5)):
        for k in range(n):
            Job.objects.create(kind="roster", cycle=world.cycle, county=world.regions[key], school=world.schools[key],
                               status="failed" if k % 4 == 0 else "done", params={"name": f"名册{key}{k:02d}.xlsx"},
                               created_by=world.users["bob" if key == "A" else "charlie"])
    for k in range(3):
        Job.objects.create(kind="fitness", cycle=world.cycle, county=world.regions["A"], school=world.schools["A"],
                           status="done", params={"name": f"体测{k}.xlsx"})
    return world


def _jobs(resp) -> list[int]:
    return [int(j) for j in re.findall(r'data-job="(\d+)"', resp.content.decode())]


def _url(world, query="", kind="roster"):
    return f"/cycles/{world.cycle.pk}/upload/{kind}/jobs/{query}"


def test_the_list_is_paged_and_holds_only_that_kinds_uploads(client, many):
    from junheng_web.jobs.models import Job

    client.force_login(many.users["alice"])
    first = client.get(_url(many))
    assert first.status_code == 200 and "共 67 条" in first.content.decode()
    second = client.get(_url(many, "?page=2"))
    assert len(_jobs(first)) == 50 and len(_jobs(second)) == 17 and not set(_jobs(first)) & set(_jobs(second))
    everything = _jobs(client.get(_url(many, "?per_page=100")))
    assert set(everything) == set(Job.objects.filter(kind="roster").values_list("pk", flat=True))
    assert everything == sorted(everything, reverse=True)  # newest first
    assert len(_jobs(client.get(_url(many, kind="fitness")))) == 3


def test_it_sorts_and_filters_by_status_county_and_text(client, many):
    client.force_login(many.users["alice"])
    assert _jobs(client.get(_url(many, "?per_page=100&sort=id"))) == sorted(_jobs(client.get(_url(many, "?per_page=100"))))
    failed = _jobs(client.get(_url(many, "?per_page=100&status=failed")))
    assert len(failed) == 15 + 2
    b = _jobs(client.get(_url(many, f"?per_page=100&county={many.regions['B'].pk}")))
    assert len(b) == 5 + 1
    page = client.get(_url(many, "?q=名册A07"))
    assert len(_jobs(page)) == 1 and "名册A07.xlsx" in page.content.decode()


def test_a_county_or_school_sees_only_its_own_uploads_in_rows_options_and_export(client, many):
    from junheng_web.jobs.models import Job

    client.force_login(many.users["charlie"])  # county B
    resp = client.get(_url(many, "?per_page=100"))
    mine = set(Job.objects.filter(kind="roster", county=many.regions["B"]).values_list("pk", flat=True))
    assert set(_jobs(resp)) == mine and "中原区" not in resp.content.decode()
    assert _jobs(client.get(_url(many, f"?county={many.regions['A'].pk}"))) == []
    ws = load_workbook(io.BytesIO(client.get(_url(many, "?export=xlsx")).content)).active
    assert {r[0] for r in ws.iter_rows(min_row=2, values_only=True)} == mine
    client.force_login(many.users["erin"])  # school B: no export, its own school's uploads
    assert set(_jobs(client.get(_url(many, "?per_page=100")))) == mine
    assert client.get(_url(many, "?export=xlsx")).status_code == 403
    client.force_login(many.users["anna"])  # an analyst does not upload: no upload list either
    assert client.get(_url(many)).status_code == 403


def test_the_export_is_the_whole_filtered_list_and_is_audited(client, many):
    from junheng_web.accounts.models import AuditLog

    client.force_login(many.users["bob"])
    x = client.get(_url(many, "?status=failed&page=2&export=xlsx"))
    assert x.status_code == 200
    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("编号", "文件", "区县", "学校", "上传人", "状态", "时间")
    body = rows[1:]
    assert len(body) == 15 and {r[5] for r in body} == {"失败"} and all(isinstance(r[0], int) for r in body)
    assert {r[4] for r in body} == {"bob"} and all(r[1].startswith("名册A") for r in body)
    assert AuditLog.objects.get(action="export").rows == 15


def test_the_upload_page_keeps_ten_recent_uploads_and_links_to_the_whole_list(client, many):
    client.force_login(many.users["bob"])
    page = client.get(f"/cycles/{many.cycle.pk}/upload/roster/").content.decode()
    assert page.count("/jobs/") >= 10 and f"/cycles/{many.cycle.pk}/upload/roster/jobs/" in page
    assert len(re.findall(r'<tr><td><a href="/jobs/\d+/"', page)) == 10
