"""Sign-in: argon2 hashes, throttling after 5 failures, CSRF enforced, sessions expire."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"  # the personas' password (tests/web/conftest.py)


def test_it_stores_argon2_hashes(world):
    assert world.users["bob"].password.startswith("argon2")
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_it_signs_in_and_lands_on_the_task_list(client, world):
    resp = client.post("/accounts/login/", {"username": "dave", "password": PASSWORD}, follow=True)
    assert resp.status_code == 200
    assert "上传本校六年级名册" in resp.content.decode()


def test_it_locks_a_name_after_five_failures(client, world):
    for _ in range(5):
        assert client.post("/accounts/login/", {"username": "bob", "password": "wrong"}).status_code == 200
    resp = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert resp.status_code == 429
    assert "_auth_user_id" not in client.session
    other = client.post("/accounts/login/", {"username": "charlie", "password": PASSWORD})
    assert other.status_code == 302  # another name from the same address still signs in


def test_it_requires_the_csrf_token(world):
    c = Client(enforce_csrf_checks=True)
    resp = c.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert resp.status_code == 403


def test_it_expires_sessions():
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE and settings.SESSION_COOKIE_HTTPONLY


def test_it_answers_in_english_when_asked(client, world):
    client.force_login(world.users["dave"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get("/").content.decode()
    assert "Upload" in body and "上传本校六年级名册" not in body


def test_it_does_not_check_the_password_of_a_locked_name(client, world, monkeypatch):
    from django.contrib.auth import backends

    for _ in range(5):
        client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    calls = []
    monkeypatch.setattr(backends.ModelBackend, "authenticate", lambda *a, **k: calls.append(1))
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 429
    assert calls == []


def _admin_login(c: Client, username: str, password: str):
    return c.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_the_admin_login_is_throttled_too(client, world):
    """Issue 12.4: /admin/login/ shares the throttle of /accounts/login/ (failures on either count)."""
    from junheng_web.accounts.models import User

    User.objects.filter(pk=world.users["alice"].pk).update(is_staff=True, is_superuser=True)
    for _ in range(3):
        _admin_login(client, "alice", "wrong")
    for _ in range(2):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    resp = _admin_login(client, "alice", PASSWORD)  # the right password, but the name is locked
    assert resp.status_code != 302 and "_auth_user_id" not in client.session
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 429


def test_the_admin_login_does_not_check_the_password_of_a_locked_name(client, world, monkeypatch):
    from django.contrib.auth import backends

    for _ in range(5):
        _admin_login(client, "alice", "wrong")
    calls = []
    monkeypatch.setattr(backends.ModelBackend, "authenticate", lambda *a, **k: calls.append(1))
    _admin_login(client, "alice", PASSWORD)
    assert calls == []


def test_every_sign_in_and_failure_is_audited(client, world):
    from junheng_web.accounts.models import AuditLog, User

    User.objects.filter(pk=world.users["alice"].pk).update(is_staff=True, is_superuser=True)
    _admin_login(client, "alice", "wrong")
    assert _admin_login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    rows = list(AuditLog.objects.order_by("id").values_list("action", "username", "path"))
    assert rows == [("login.failed", "alice", "/admin/login/?next=/admin/"),
                    ("login", "alice", "/admin/login/?next=/admin/"),
                    ("login.failed", "bob", "/accounts/login/"), ("login", "bob", "/accounts/login/")]
    for _ in range(5):
        client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert AuditLog.objects.order_by("-id").values_list("action", flat=True)[0] == "login.locked"
