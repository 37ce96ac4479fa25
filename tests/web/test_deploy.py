"""``manage.py check --deploy`` with the production environment of docs/deploy.md.

Every deployment check passes with a fresh random key; a known or committed key, or a key file
other users can read, is warned about (issue 12.7). (security.W021, the HSTS *preload* list, is silenced by the
settings unless ``JUNHENG_HSTS_PRELOAD=1``: submitting a government intranet host to the
browsers' public preload list is the operator's decision, not a default.)
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys

import pytest

from junheng_web.accounts.checks import KNOWN_KEYS

pytestmark = pytest.mark.integration  # a server / manage.py in a subprocess


def test_it_passes_the_deploy_checks(tmp_path):
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path), "JUNHENG_DEBUG": "0", "JUNHENG_SECURE": "1",
           "JUNHENG_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_SETTINGS_MODULE":
           "junheng_web.settings", "JUNHENG_ALLOWED_HOSTS": "junheng.example.gov.cn",
           "JUNHENG_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    out = subprocess.run([sys.executable, "-m", "django", "check", "--deploy"], env=env, capture_output=True,
                         text=True, timeout=120)
    text = out.stdout + out.stderr
    issues = [line for line in text.splitlines() if line.startswith("?: (") or ": (" in line]
    assert issues == [], text
    assert out.returncode == 0, text


def _check(tmp_path, key: str | None, *args):
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path), "JUNHENG_DEBUG": "0", "JUNHENG_SECURE": "1",
           "DJANGO_SETTINGS_MODULE": "junheng_web.settings", "JUNHENG_ALLOWED_HOSTS": "junheng.example.gov.cn",
           "JUNHENG_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("JUNHENG_SECRET_KEY", None)
    if key is not None:
        env["JUNHENG_SECRET_KEY"] = key
    out = subprocess.run([sys.executable, "-m", "django", "check", *args], env=env, capture_output=True, text=True,
                         timeout=120)
    return out.stdout + out.stderr


def test_without_a_key_it_generates_one_per_installation_readable_by_the_owner_only(tmp_path):
    text = _check(tmp_path, None, "--deploy")
    assert "junheng.W" not in text and "security.W009" not in text, text
    key = (tmp_path / "secret_key").read_text().strip()
    assert len(key) >= 50 and stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert key not in KNOWN_KEYS
    _check(tmp_path, None)
    assert (tmp_path / "secret_key").read_text().strip() == key


def test_it_warns_about_a_known_or_committed_key(tmp_path):
    """Issue 12.7: the former built-in development key, and any key written in the repository."""
    for known in KNOWN_KEYS:
        assert "junheng.W001" in _check(tmp_path, known), known
    committed = "k3Q9vX2mR7tW1yB8nF4hL6jP0sD5gA-zC_eU+iO!oK*xM^qN%rT$wV#-this-test-file"  # in this file
    text = _check(tmp_path, committed, "--deploy")
    assert "junheng.W001" in text and "test_deploy.py" in text


def test_it_warns_about_a_key_file_others_can_read(tmp_path):
    _check(tmp_path, None)
    (tmp_path / "secret_key").chmod(0o644)
    assert "junheng.W002" in _check(tmp_path, None)
