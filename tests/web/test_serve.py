"""``junheng serve`` starts the platform on a JUNHENG_HOME, with static assets served locally."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_serves_the_sign_in_page_and_the_assets(tmp_path):
    port = _port()
    env = {**os.environ, "JUNHENG_HOME": str(tmp_path)}
    env.pop("JUNHENG_DATABASE_URL", None)  # the embedded SQLite set-up
    proc = subprocess.Popen([sys.executable, "-m", "junheng_cli.main", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                page = urllib.request.urlopen(base + "/accounts/login/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("junheng serve did not answer")
        assert 'name="csrfmiddlewaretoken"' in page
        css = urllib.request.urlopen(base + "/static/junheng/site.css", timeout=5)
        assert css.status == 200
        vendor = os.path.join(os.path.dirname(__file__), "../../src/junheng_web/static/vendor/echarts/echarts.min.js")
        if os.path.exists(vendor):  # filled by scripts/ensure-assets
            assert urllib.request.urlopen(base + "/static/vendor/echarts/echarts.min.js", timeout=5).status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
