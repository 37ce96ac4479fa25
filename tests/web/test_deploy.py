"""``manage.py check --deploy`` with the production environment of docs/deploy.md.

Every deployment check passes. (security.W021, the HSTS *preload* list, is silenced by the
settings unless ``JUNHENG_HSTS_PRELOAD=1``: submitting a government intranet host to the
browsers' public preload list is the operator's decision, not a default.)
"""

from __future__ import annotations

import os
import subprocess
import sys


def test_it_passes_the_deploy_checks(tmp_path):
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path), "JUNHENG_DEBUG": "0", "JUNHENG_SECURE": "1",
           "JUNHENG_SECRET_KEY": "k3Q9vX2mR7tW1yB8nF4hL6jP0sD5gA-zC_eU+iO!oK*xM^qN%rT$wV#", "DJANGO_SETTINGS_MODULE":
           "junheng_web.settings", "JUNHENG_ALLOWED_HOSTS": "junheng.example.gov.cn",
           "JUNHENG_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    out = subprocess.run([sys.executable, "-m", "django", "check", "--deploy"], env=env, capture_output=True,
                         text=True, timeout=120)
    text = out.stdout + out.stderr
    issues = [line for line in text.splitlines() if line.startswith("?: (") or ": (" in line]
    assert issues == [], text
    assert out.returncode == 0, text


def test_it_refuses_to_start_without_a_secret_key_in_production(tmp_path):
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path), "JUNHENG_DEBUG": "0", "DJANGO_SETTINGS_MODULE":
           "junheng_web.settings"}
    env.pop("JUNHENG_SECRET_KEY", None)
    out = subprocess.run([sys.executable, "-m", "django", "check"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0 and "JUNHENG_SECRET_KEY" in out.stderr
