"""Issue 17.6: the Chinese pages name job kinds, import counts and audit actions in Chinese (the
stored codes stay short English codes); English users get English words."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from junheng_web.accounts.models import ACTION_LABELS, AuditLog
from junheng_web.jobs.models import KIND_LABELS, RESULT_LABELS


def _text(resp) -> str:
    return re.sub(r"<[^>]+>", " ", resp.content.decode())


@pytest.mark.django_db
def test_a_finished_import_reads_in_chinese(client, world):
    job = world.jobs["A"]
    job.status, job.result = "done", {"rows": 5, "created": 3, "updated": 1, "unchanged": 1, "warnings": []}
    job.created_by = world.users["dave"]  # (the home page lists the user's own jobs)
    job.save()
    client.force_login(world.users["dave"])
    text = _text(client.get(reverse("job_detail", args=[job.pk])))
    assert "名册导入" in text and "新增：3" in text and "更新：1" in text and "未变：1" in text
    assert [w for w in ("roster", "rows", "created", "unchanged") if re.search(rf"\b{w}\b", text)] == []
    home = _text(client.get("/"))
    assert "名册导入" in home and not re.search(r"\broster\b", home)


@pytest.mark.django_db
def test_the_same_page_reads_in_english_once_chosen(client, world):
    job = world.jobs["A"]
    job.status, job.result = "done", {"rows": 5, "created": 3}
    job.save()
    client.force_login(world.users["dave"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    text = _text(client.get(reverse("job_detail", args=[job.pk])))
    assert "Roster import" in text and "Created：3" in text and "名册导入" not in text


@pytest.mark.django_db
def test_the_audit_log_names_actions_in_chinese(client, world):
    for action in ("download-unmasked", "sample.redraw", "test.unlock", "mystery"):
        AuditLog.objects.create(username="bob", action=action, what="x", path="/")
    client.force_login(world.users["alice"])
    body = client.get(reverse("audit_log")).content.decode()
    for label in ("下载（含完整姓名）", "重新抽样", "解锁考试机"):
        assert label in body
    assert '<option value="sample.redraw">重新抽样</option>' in body  # the filter still sends the code
    assert ">mystery</td>" in body  # an action without a label is shown as it is, never hidden
    assert "<td>sample.redraw</td>" not in body


def test_every_recorded_code_has_words():
    """The codes the apps write (grep of ``audit(request, "…"`` and ``kind("…"``) all have labels."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "junheng_web"
    text = "\n".join(p.read_text(encoding="utf-8") for p in src.rglob("*.py"))
    actions = set(re.findall(r'(?:audit|_log)\(request, "([a-z._\-]+)"', text)) | set(re.findall(r'"(admin\.[a-z]+)"', text))
    actions |= {"download-unmasked", "confirm", "dismiss"}  # written through a variable
    kinds = set(re.findall(r'@kind\("([a-z_]+)"', text))
    assert actions - set(ACTION_LABELS) == set() and len(actions) >= 15
    assert kinds - set(KIND_LABELS) == set() and len(kinds) >= 5
    assert {"rows", "created", "updated", "unchanged"} <= set(RESULT_LABELS)


@pytest.mark.django_db
def test_a_running_job_speaks_the_pages_language(client, world):
    """The polled status and the bilingual progress message ("中文 / English") show one language."""
    job = world.jobs["A"]
    job.status, job.message = "running", "检查名册 / checking the roster"
    job.save()
    client.force_login(world.users["dave"])
    data = client.get(reverse("job_status", args=[job.pk])).json()
    assert (data["status_label"], data["message_text"]) == ("运行中", "检查名册")
    assert data["status"] == "running"  # the code stays for scripts
    page = client.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert '<span id="job-message">检查名册</span>' in page and "checking the roster" not in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = client.get(reverse("job_status", args=[job.pk])).json()
    assert (data["status_label"], data["message_text"]) == ("Running", "checking the roster")
    assert "School operator" in client.get("/").content.decode()  # the role in the header
