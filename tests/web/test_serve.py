"""``junheng serve`` starts the platform on a JUNHENG_HOME, with static assets served locally;
without ``--dev`` it never shows Django's debug pages, and it signs with the installation's own key
(issue 12.7)."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration  # a server / manage.py in a subprocess


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(proc, url: str, tries: int = 300, context=None) -> None:
    """Wait until the server ``proc`` answers ``url`` (``context``: an ``ssl`` context for https);
    fail with its output if it exits first."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(url, timeout=2, context=context).read()
            return
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode())
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer")


@contextlib.contextmanager
def serving(home, *args, env_extra=None):
    port = _port()
    env = {**os.environ, "JUNHENG_HOME": str(home), **(env_extra or {})}
    env.pop("JUNHENG_DATABASE_URL", None)  # the embedded SQLite set-up
    env.pop("JUNHENG_SECRET_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "junheng_cli.main", "serve", "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(proc, base + "/accounts/login/")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_it_serves_the_sign_in_page_and_the_assets(tmp_path):
    with serving(tmp_path) as base:
        page = urllib.request.urlopen(base + "/accounts/login/", timeout=2).read().decode()
        assert 'name="csrfmiddlewaretoken"' in page
        css = urllib.request.urlopen(base + "/static/junheng/site.css", timeout=5)
        assert css.status == 200
        vendor = os.path.join(os.path.dirname(__file__), "../../src/junheng_web/static/vendor/echarts/echarts.min.js")
        if os.path.exists(vendor):  # filled by scripts/ensure-assets
            assert urllib.request.urlopen(base + "/static/vendor/echarts/echarts.min.js", timeout=5).status == 200


def test_it_shows_no_debug_page_without_dev_and_keeps_its_own_key(tmp_path):
    """Even with JUNHENG_DEBUG=1 in the environment, only ``--dev`` shows Django's debug pages."""
    with serving(tmp_path, env_extra={"JUNHENG_DEBUG": "1"}) as base:
        status, body = _get(base + "/no-such-page/")
        assert status == 404 and "URLconf" not in body and "urlpatterns" not in body
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 50 and key not in open(os.path.join(os.path.dirname(__file__), "../../src/junheng_web/settings.py")).read()
    with serving(tmp_path, "--dev") as base:
        status, body = _get(base + "/no-such-page/")
        assert status == 404 and "URLconf" in body  # the same check sees the debug page when asked for
    assert key_file.read_text().strip() == key  # generated once per installation
