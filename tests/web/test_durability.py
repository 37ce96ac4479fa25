"""Issue 12.10: an answer or an import the server acknowledged survives a power loss.

SQLite in WAL mode with ``synchronous=NORMAL`` may lose the last commits on power loss (they are
in the WAL but not yet synced); ``FULL`` syncs the WAL at every commit.  PostgreSQL: every
connection asks for ``synchronous_commit=on`` whatever the server's default.  Checked on the
connection the platform's requests and jobs use (the pupils' answers API included)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _setting() -> str:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("PRAGMA synchronous")
            return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cur.fetchone()[0]]
        cur.execute("SHOW synchronous_commit")
        return cur.fetchone()[0]


def test_every_connection_keeps_every_acknowledged_commit():
    if connection.vendor == "sqlite":
        assert _setting() in ("FULL", "EXTRA")
        with connection.cursor() as cur:
            cur.execute("PRAGMA journal_mode")
            assert cur.fetchone()[0] == "wal"  # (the SQLite test database is a file: tests/django_settings.py)
    else:
        assert _setting() == "on"


def test_the_embedded_sqlite_file_is_in_wal_with_full_sync(tmp_path):
    """The platform's own SQLite file (not the test database): WAL, and FULL."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "JUNHENG_HOME": str(tmp_path)}
    env.pop("JUNHENG_DATABASE_URL", None)
    code = ("from junheng_web.bootstrap import setup; setup(migrate=False); from django.db import connection; "
            "c = connection.cursor(); print(c.execute('PRAGMA journal_mode').fetchone()[0], "
            "c.execute('PRAGMA synchronous').fetchone()[0])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["wal", "2"], out.stderr
