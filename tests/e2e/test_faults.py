"""Faults on test day in a real browser (issue 15, "Measure"): Playwright + Debian's Chromium
against gunicorn on a SQLite file in its own process group, which the tests kill with SIGKILL —
the power loss of a site node, as close as a test can get — and start again.

* the server killed while the pupil answers, the page reloaded during the outage (the service
  worker's kept copy, the answers from IndexedDB), the server started again, then killed once more
  in the middle of a burst of changes: every change the server acknowledged is in the database
  (0 acknowledged answers lost) and each item's stored answer is the page's last one (0 stale
  overwrites);
* a computer swap while the first computer is offline, its network back only after the session
  has ended: its changes given before the swap are taken but never override the second
  computer's, its change given after the swap is refused, the second computer's answers stand.

Acknowledgements are recorded in the page itself (a wrapper around ``fetch`` installed before the
page's scripts, kept in localStorage across reloads), so "acknowledged" means what the page saw."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.support import ARTIFACTS, started

pytestmark = [pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]

RECORD_ACKS = """(() => {
  const send = window.fetch.bind(window);
  window.fetch = async (...args) => {
    const r = await send(...args);
    if (String(args[0]).includes('/answers/') && r.ok) {
      const body = await r.clone().json();
      const seen = JSON.parse(localStorage.getItem('__acks') || '[]');
      localStorage.setItem('__acks', JSON.stringify(seen.concat(body.ack || [])));
    }
    return r;
  };
})();"""
STATE = """key => new Promise(done => { const r = indexedDB.open('junheng-delivery', 1);
  r.onsuccess = () => { const g = r.result.transaction('attempts').objectStore('attempts').get(key);
                        g.onsuccess = () => done(g.result || null); }; })"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    """The seeded JUNHENG_HOME and its server, which can be killed (SIGKILL to its whole process
    group: master and workers at once) and started again on the same port and file."""

    def __init__(self, home: Path, seconds: float, pupils: int = 1, packages: Path | None = None) -> None:
        self.home, self.port, self.proc = home, _port(), None
        self.env = {**os.environ, "JUNHENG_HOME": str(home), "JUNHENG_DEBUG": "0", "JUNHENG_SECURE": "0",
                    "JUNHENG_ALLOWED_HOSTS": "localhost,127.0.0.1", "DJANGO_SETTINGS_MODULE": "junheng_web.settings",
                    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.env.pop("JUNHENG_DATABASE_URL", None)
        extra = [str(pupils), *([str(packages)] if packages else [])]
        out = subprocess.run([sys.executable, str(ROOT / "tests" / "e2e" / "faults_site.py"), str(seconds), *extra],
                             env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        self.world = json.loads(out.stdout.strip().splitlines()[-1])
        self.base = f"http://localhost:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "junheng_web.wsgi", "-b",
                                      f"127.0.0.1:{self.port}", "-w", "2", "--threads", "4", "--log-level", "warning"],
                                     env=self.env, cwd=ROOT, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(600):
            try:
                urllib.request.urlopen(self.base + "/test/", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail("gunicorn did not answer")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.kill()

    def rows(self) -> list[tuple]:
        """Every stored change: (uuid hex, item, raw, lease, seq)."""
        with sqlite3.connect(self.home / "junheng.sqlite3") as db:
            return db.execute("SELECT a.id, i.item_id, a.raw, a.lease, a.seq FROM delivery_answer a "
                              "JOIN assessment_item i ON i.id = a.item_id").fetchall()

    def current(self) -> dict[str, str]:
        """Each item's stored answer: the change with the highest (lease, seq)."""
        return {r[1]: r[2] for r in sorted(self.rows(), key=lambda r: (r[3], r[4]))}


@pytest.fixture
def site_factory(tmp_path):
    made = []

    def make(seconds: float) -> Site:
        site = Site(tmp_path / f"home{len(made)}", seconds)
        made.append(site)
        site.start()
        return site
    yield make
    for site in made:
        site.stop()


def _open(browser, site: Site):
    context = browser.new_context(locale="zh-CN")
    context.add_init_script(RECORD_ACKS)
    page = context.new_page()
    started(page, site.base, site.world["code"])
    return context, page


def _acked(page) -> set[str]:
    return {a.replace("-", "") for a in json.loads(page.evaluate("localStorage.getItem('__acks') || '[]'"))}


def _synced(page, timeout=60000) -> None:
    page.wait_for_selector("#sync[data-unsynced='0']", timeout=timeout)


def test_kills_and_a_reload_during_the_outage_lose_no_acknowledged_answer(site_factory, browser):
    site = site_factory(3600)
    context, page = _open(browser, site)
    attempt = page.evaluate("JSON.parse(document.getElementById('delivery-data').textContent).attempt")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=30000)
    page.check("#item input[value=B]")  # I1
    _synced(page)

    site.kill()  # the site node loses power
    page.click("#next")
    page.check("#item input[value=A]")  # I2 (multiple choice): A, then C
    page.check("#item input[value=C]")
    assert page.get_attribute("#sync", "data-unsynced") == "2"
    page.reload()  # during the outage: the service worker's kept copy, the answers from IndexedDB
    page.wait_for_selector("#delivery[data-ready=true]")
    page.click("#palette button[data-item=I2]")
    assert page.is_checked("#item input[value=A]") and page.is_checked("#item input[value=C]")
    assert page.get_attribute("#sync", "data-unsynced") == "2"
    page.screenshot(path=str(ARTIFACTS / "fault-1-reloaded-offline.png"), full_page=True)

    site.start()
    _synced(page)
    page.click("#palette button[data-item=I4]")
    for k in range(24):  # a burst of changes; the server is killed in the middle of it
        page.check(f"#item input[value={'AB'[k % 2]}]")
        if k == 10:
            site.kill()
        if k == 18:
            site.start()
        page.wait_for_timeout(60)
    _synced(page)

    state = page.evaluate(STATE, attempt)
    rows = site.rows()
    stored = {r[0] for r in rows}
    acked = _acked(page)
    assert acked and acked <= stored  # 0 acknowledged answers lost
    assert len(stored) == len(rows) == state["seq"]  # every change once: seqs 1..n, no repeats
    assert sorted(r[4] for r in rows) == list(range(1, state["seq"] + 1))
    assert site.current() == {item: a["raw"] for item, a in state["answers"].items()}  # 0 stale overwrites
    assert site.current()["I4"] == "B" and site.current()["I2"] == "AC" and site.current()["I1"] == "B"
    context.close()


def test_a_computer_swap_offline_past_the_end_overrides_nothing(site_factory, browser):
    site = site_factory(120)
    first, p1 = _open(browser, site)
    p1.check("#item input[value=A]")  # I1 = A on computer 1, stored
    _synced(p1)
    first.set_offline(True)
    p1.check("#item input[value=B]")  # I1 = B, given before the swap, queued
    p1.click("#next")
    p1.check("#item input[value=D]")  # I2 = D, given before the swap, queued
    p1.wait_for_timeout(1500)

    second, p2 = _open(browser, site)  # the pupil moves to computer 2
    p2.click("#palette button[data-item=I1]")
    assert p2.is_checked("#item input[value=A]")  # the server's copy: computer 1's queue has not arrived
    p2.check("#item input[value=C]")  # I1 = C on computer 2
    _synced(p2)
    p1.click("#next")
    p1.click("#next")
    p1.check("#item input[value=A]")  # I4 = A on computer 1 after the swap: must never count
    p2.screenshot(path=str(ARTIFACTS / "fault-2-second-computer.png"), full_page=True)

    ends = site.world["ends_at"]
    p1.wait_for_selector("#item[data-ended=true]", timeout=120000)  # time-up on computer 1, still offline
    from datetime import datetime

    while datetime.now().astimezone() <= datetime.fromisoformat(ends):
        time.sleep(1)
    first.set_offline(False)  # computer 1's network comes back after the end
    _synced(p1)
    p1.wait_for_selector("#timeup:not([hidden])")
    p1.screenshot(path=str(ARTIFACTS / "fault-3-first-computer-back.png"), full_page=True)

    current = site.current()
    assert current["I1"] == "C"  # 0 stale overwrites: computer 2's answer stands
    assert current["I2"] == "D"  # given on computer 1 before the swap: taken
    assert "I4" not in current  # given on computer 1 after the swap: refused
    rows = {(r[1], r[2]) for r in site.rows()}
    assert ("I1", "B") in rows and ("I1", "A") in rows  # kept as history, below computer 2's lease
    assert _acked(p1) <= {r[0] for r in site.rows()}
    first.close()
    second.close()
