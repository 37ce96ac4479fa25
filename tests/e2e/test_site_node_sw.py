"""The test page's service worker over a test-site node's HTTPS (issue 15.1, 15.3), in Debian's
Chromium driven by Playwright.

The centre prepares site TA01's package (``tests/e2e/faults_site.py``); ``junheng site serve``
unlocks it into the node's own SQLite and serves it with gunicorn over HTTPS under the site's
certificate from the package.  Chromium reaches the node by its fixed name
``ta01.kaodian.local`` (mapped to 127.0.0.1 by ``--host-resolver-rules``, as the school's LAN name
would be) and trusts the province test CA the way a test computer does: the CA is a trusted root
in the NSS database Chromium reads on Linux (``~/.pki/nssdb``, here under a throw-away ``HOME``,
made with ``certutil``).  Certificate errors are never ignored — Chromium refuses to register a
service worker for a page with a certificate error.

* The service worker controls the test page (the test fails otherwise); the pupil answers; the
  network goes; the page reloaded during the outage comes from the service worker (its response
  says so) with the answers from IndexedDB; more answers queue; the network comes back and every
  change reaches the node exactly once, each item's stored answer being the page's last.
* Background sync: the tab is closed while answers are still queued and the network is off; the
  network comes back with no page open; the service worker's ``sync`` event sends them (the
  browser fires it by itself); the node has each exactly once.
* The fallback where the Background Sync API is missing: a queue left by a closed tab is sent when
  another page of the site is opened (the service worker drains the stored queues on a navigation).
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.support import ARGS, ARTIFACTS, CHROMIUM, started
from tests.e2e.test_faults import RECORD_ACKS, STATE, Site, _acked, _synced

pytestmark = [pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
PROCTOR_PASSWORD = "proctor-pass-2026"
CONTROLLED = "navigator.serviceWorker && navigator.serviceWorker.controller !== null"


class Node(Site):
    """The centre prepares site TA01's package; ``junheng site serve`` serves it over HTTPS from
    the node's own folder (killed with SIGKILL to its process group and started again)."""

    def __init__(self, tmp: Path, seconds: float) -> None:
        centre, self.out = tmp / "centre", tmp / "packages"
        super().__init__(centre, seconds, pupils=2, packages=self.out)
        self.home = tmp / "node"
        self.env = {**self.env, "JUNHENG_HOME": str(self.home)}
        self.env.pop("JUNHENG_SECRET_KEY", None)
        self.ca = self.out / "junheng-test-ca.crt"
        self.host = f"{self.world['site'].lower()}.kaodian.local"
        self.base = f"https://{self.host}:{self.port}"
        self.loaded, self.log = False, tmp / "serve.log"

    def start(self) -> None:
        package = [] if self.loaded else [self.world["package"], "--unlock-code", self.world["unlock_code"],
                                          "--proctor-password", PROCTOR_PASSWORD]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "junheng_cli.main", "site", "serve", *package, "--site", self.world["site"],
             "--centre-key", str(self.out / "centre.pub.pem"), "--home", str(self.home), "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1", "--threads", "4"],
            env=self.env, cwd=ROOT, start_new_session=True, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        self.loaded = True
        trust = ssl.create_default_context(cafile=str(self.ca))
        for _ in range(600):
            try:
                urllib.request.urlopen(f"https://127.0.0.1:{self.port}/test/", timeout=2, context=trust).read()
                return
            except OSError:
                if self.proc.poll() is not None:
                    pytest.fail(self.log.read_text(errors="replace"))
                time.sleep(0.1)
        pytest.fail("the site node did not answer")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)


def nss_home(folder: Path, ca: Path) -> Path:
    """A throw-away HOME whose NSS database (``.pki/nssdb``, what Chromium reads on Linux) trusts
    ``ca`` as a root for servers — what installing the province test CA does on a test computer."""
    db = folder / ".pki" / "nssdb"
    db.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{db}", "-A", "-t", "C,,", "-n", "junheng province test CA", "-i", str(ca)],
                   check=True, capture_output=True)
    return folder


@pytest.fixture
def node(tmp_path):
    made = Node(tmp_path, 3600)
    made.start()
    yield made
    made.stop()


def background_sync(**params) -> list[str]:
    """Chromium switches setting its Background Sync parameters (the field trial ``BackgroundSync``
    that chrome/browser/background_sync reads: ``initial_retry_delay_sec``, ``retry_delay_factor``,
    ``max_sync_attempts``, ``disable``)."""
    return ["--force-fieldtrials=BackgroundSync/Test",
            "--force-fieldtrial-params=BackgroundSync.Test:" + "/".join(f"{k}/{v}" for k, v in params.items())]


@pytest.fixture
def chromium(node, tmp_path, request):
    """Debian's Chromium trusting the test CA (``nss_home``), reaching the node by its name; the
    test's ``request.param`` (indirect) adds switches."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    home = nss_home(tmp_path / "browser-home", node.ca)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, env={**os.environ, "HOME": str(home)},
                              args=[*ARGS, f"--host-resolver-rules=MAP {node.host} 127.0.0.1",
                                    *getattr(request, "param", [])])
        yield b
        b.close()


def _sign_in(context, node: Node, code: str):
    page = context.new_page()
    started(page, node.base, code)
    try:
        page.wait_for_function(CONTROLLED, timeout=30000)
    except Exception:  # noqa: BLE001 — Playwright's TimeoutError: say what it means
        pytest.fail("the service worker does not control the test page over the site node's HTTPS")
    return page


def _stored(node: Node, ids: set[str]) -> list[str]:
    return [r[0] for r in node.rows() if r[0] in ids]


def test_the_service_worker_keeps_the_test_across_a_reload_in_an_outage_over_the_nodes_https(node, chromium):
    context = chromium.new_context(locale="zh-CN")
    context.add_init_script(RECORD_ACKS)
    page = _sign_in(context, node, node.world["codes"][0])
    assert page.evaluate("location.protocol") == "https:" and page.evaluate("window.isSecureContext")
    attempt = page.evaluate("JSON.parse(document.getElementById('delivery-data').textContent).attempt")
    page.check("#item input[value=B]")  # I1
    _synced(page)

    lease = page.evaluate("JSON.parse(document.getElementById('delivery-data').textContent).lease")
    node.kill()  # the outage: the node is unreachable for the page and its service worker alike
    context.set_offline(True)  # and the page knows it is offline
    page.click("#next")
    page.check("#item input[value=A]")  # I2 (multiple choice): A, then C
    page.check("#item input[value=C]")
    assert page.get_attribute("#sync", "data-unsynced") == "2"
    response = page.reload()  # during the outage
    assert response is not None and response.from_service_worker and response.ok
    page.wait_for_selector("#delivery[data-ready=true]")
    assert page.evaluate(CONTROLLED)
    # the kept copy: a page from the node would carry a new lease
    assert page.evaluate("JSON.parse(document.getElementById('delivery-data').textContent).lease") == lease
    page.click("#palette button[data-item=I2]")
    assert page.is_checked("#item input[value=A]") and page.is_checked("#item input[value=C]")
    page.click("#next")
    page.fill("#item textarea", "秋高气爽，满山红叶。")  # I3, typed on the kept copy, still offline
    page.click("#next")
    assert page.get_attribute("#sync", "data-unsynced") == "3"
    page.screenshot(path=str(ARTIFACTS / "site-node-sw-reloaded-offline.png"), full_page=True)

    node.start()
    context.set_offline(False)
    _synced(page)
    state = page.evaluate(STATE, attempt)
    rows = node.rows()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == state["seq"] == 4  # every change exactly once
    assert _acked(page) == set(ids)
    assert node.current() == {"I1": "B", "I2": "AC", "I3": "秋高气爽，满山红叶。"}
    context.close()


def _queued_then_closed(chromium, node: Node):
    """A pupil answers I1 (sent); the node goes down; the pupil answers I2 — queued: the page's send
    fails and it asks for a Background Sync, which Chromium fires at once (it is online) and which
    fails too; the tab is closed.  Returns the context (the browser keeps running) and the queued
    change's id."""
    context = chromium.new_context(locale="zh-CN")
    page = _sign_in(context, node, node.world["codes"][1])
    attempt = page.evaluate("JSON.parse(document.getElementById('delivery-data').textContent).attempt")
    page.check("#item input[value=A]")
    _synced(page)
    node.kill()
    page.click("#next")
    page.check("#item input[value=D]")
    page.wait_for_function("document.getElementById('sync').getAttribute('data-unsynced') === '1'")
    queued = [e["id"].replace("-", "") for e in page.evaluate(STATE, attempt)["queue"]]
    assert len(queued) == 1
    page.wait_for_timeout(1000)
    page.close()
    return context, queued[0]


def _wait_stored(node: Node, change: str, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if _stored(node, {change}):
            return True
        time.sleep(0.25)
    return False


def _once_more_changes_nothing(context, node: Node, change: str) -> None:
    page = context.new_page()  # the pupil opens the test again: the answer is there, nothing is sent twice
    page.goto(f"{node.base}/test/take/")
    page.wait_for_selector("#delivery[data-ready=true]")
    _synced(page)
    page.click("#palette button[data-item=I2]")
    assert page.is_checked("#item input[value=D]")
    assert [r[0] for r in node.rows()].count(change) == 1 and len(node.rows()) == 2
    assert node.current() == {"I1": "A", "I2": "D"}


@pytest.mark.parametrize("chromium", [background_sync(initial_retry_delay_sec=3, retry_delay_factor=1,
                                                     max_sync_attempts=100)], indirect=True)
def test_answers_queued_when_the_tab_closed_are_sent_by_background_sync(node, chromium):
    """With no page of the site open, Chromium retries the failed ``sync`` event by itself and the
    service worker sends the closed tab's answer once the node is back.  (Chromium's own first
    retry comes 5 minutes after a failure; the switches make it 3 seconds so that a test can wait.)"""
    context, change = _queued_then_closed(chromium, node)
    time.sleep(4)
    assert not _stored(node, {change})
    node.start()  # the network returns; no page of the site is open
    assert _wait_stored(node, change, 60), "the sync event did not send the queued answer"
    _once_more_changes_nothing(context, node, change)
    context.close()


@pytest.mark.parametrize("chromium", [background_sync(disable="true")], indirect=True)
def test_without_background_sync_the_next_page_of_the_site_sends_a_closed_tabs_answers(node, chromium):
    """The fallback, in a Chromium whose Background Sync is switched off (as in a browser without
    the API): the node comes back, no page is open and nothing arrives; the pupil opens the
    sign-in page (another page of the site) and the service worker sends the stored queue."""
    context, change = _queued_then_closed(chromium, node)
    node.start()
    time.sleep(5)
    assert not _stored(node, {change})  # no page open, no sync event: nothing sent
    page = context.new_page()
    page.goto(f"{node.base}/test/")
    assert _wait_stored(node, change, 30), "opening a page of the site did not send the stored queue"
    page.close()
    _once_more_changes_nothing(context, node, change)
    context.close()
