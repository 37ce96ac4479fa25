"""The site node's connections (``junheng site serve``): gunicorn keeps a pupil's idle connection
open past the status poll (it closed it after 5 s, below the page's 10 s poll, so every poll opened a
new connection — on the node's HTTPS a TLS handshake each time), and each gunicorn thread keeps its
SQLite connection from one request to the next (it opened one per request: 3.5–4.2 ms of server CPU
a poll against 1.4 ms; benchmarks/testday.py, docs/deploy.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("poll", [10, 20, 7.5])
def test_gunicorn_keeps_an_idle_connection_past_the_pages_poll(settings, monkeypatch, tmp_path, poll):
    from junheng_cli import site

    settings.JUNHENG_PUPIL_POLL_SECONDS = poll
    started = []
    monkeypatch.setattr(site.os, "execv", lambda exe, argv: started.append(argv))
    site._gunicorn("127.0.0.1", 8000, 2, 8, tmp_path)
    (argv,) = started
    keep_alive = float(argv[argv.index("--keep-alive") + 1])
    # a poll skipped while the page sends answers: two periods, and the request's own time, fit in it
    assert keep_alive > 2 * poll, argv
    assert argv[argv.index("--worker-class") + 1] == "gthread"  # idle connections wait in the poller, no thread


PROBE = """
import django
from django.core.signals import request_finished, request_started
from django.db import connection
django.setup()
seen = []
for _ in range(3):  # three requests of one gunicorn thread, as the handler signals them
    request_started.send(sender=None)
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    seen.append(id(connection.connection))
    request_finished.send(sender=None)
print(len(set(seen)), connection.connection is not None)
"""


def test_a_site_node_thread_keeps_its_sqlite_connection_between_requests(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("JUNHENG_DATABASE_URL", "JUNHENG_SECRET_KEY")}
    env.update(JUNHENG_HOME=str(tmp_path), JUNHENG_DATABASE_URL=f"sqlite:///{tmp_path / 'junheng.sqlite3'}",
               DJANGO_SETTINGS_MODULE="junheng_web.site_settings")
    r = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "True"], r.stdout  # one connection for the three, still open after them
