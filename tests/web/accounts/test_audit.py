"""The audit log: every access to pupil records is written; province admins read and filter it."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_logs_a_site_list_download_with_who_what_where(client, world):
    from junheng_web.accounts.models import AuditLog

    client.force_login(world.users["bob"])
    resp = client.get(reverse("site_pupils", kwargs={"pk": world.cycle.pk, "site": world.sites["A"].pk}),
                      REMOTE_ADDR="10.1.2.3")
    assert resp.status_code == 200
    text = resp.content.decode("utf-8-sig")
    assert "A学生1" not in text  # names masked by default
    entry = AuditLog.objects.get()
    assert (entry.username, entry.action, entry.ip, entry.region_code, entry.rows) == (
        "bob", "download", "10.1.2.3", "410102", 6)
    assert "TA01" in entry.what


def test_it_lets_a_province_admin_filter_the_log(client, world):
    from junheng_web.accounts.models import AuditLog

    AuditLog.objects.create(username="bob", action="download", what="site list TA01", path="/x", region_code="410102")
    AuditLog.objects.create(username="charlie", action="upload", what="roster B", path="/y", region_code="410103")
    client.force_login(world.users["alice"])
    page = client.get(reverse("audit_log"), {"user": "charlie"})
    assert [r.record.what for r in page.context["table"].paginated_rows] == ["roster B"]
    page = client.get(reverse("audit_log"), {"region": "410102", "action": "download"})
    assert [r.record.username for r in page.context["table"].paginated_rows] == ["bob"]


def test_it_hides_the_log_from_everyone_else(client, world):
    for who in ("anna", "frank", "bob", "dave"):
        client.force_login(world.users[who])
        assert client.get(reverse("audit_log")).status_code == 403


def test_it_logs_a_view_of_rejected_rows(client, world):
    from junheng_web.accounts.models import AuditLog

    job = world.jobs["A"]
    job.status, job.issues = "failed", [{"row": 3, "column": "学籍号", "value": "G1", "rule_zh": "x", "rule_en": "x"}]
    job.save()
    client.force_login(world.users["dave"])
    assert client.get(reverse("job_detail", kwargs={"pk": job.pk})).status_code == 200
    entry = AuditLog.objects.get()
    assert (entry.username, entry.action, entry.rows, entry.region_code) == ("dave", "view", 1, "410102")


def test_it_gives_names_to_roles_that_check_pupils_in_and_logs_it(client, world):
    from junheng_web.accounts.models import AuditLog

    url = reverse("site_pupils", kwargs={"pk": world.cycle.pk, "site": world.sites["A"].pk})
    client.force_login(world.users["paul"])  # proctor of 甲小学
    text = client.get(url, {"unmask": "1"}).content.decode("utf-8-sig")
    assert "A学生1" in text
    assert AuditLog.objects.get().action == "download-unmasked"
    client.force_login(world.users["anna"])  # an analyst never needs names
    assert client.get(url, {"unmask": "1"}).status_code == 403
    client.force_login(world.users["erin"])  # a school of county B
    assert client.get(url, {"unmask": "1"}).status_code == 404
