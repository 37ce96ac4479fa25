"""The service worker's Background Sync (static/junheng/delivery-sw.js, ``drain``) run in Node with
a stand-in IndexedDB and ``fetch``: what each reply of the answers endpoint does to the stored queue
and to the ``sync`` event — whose rejection is what makes the browser try again later.

* 200: the acknowledged changes leave the stored queue, the event succeeds;
* a server error (500, 502, 503 from a proxy while the app restarts): the queue stays and the event
  fails, so the browser fires it again — not "done" with the answers still unsent;
* every batch names the stored queue's attempt (the server refuses, 409, another pupil's queue);
* 403 (signed out), 409 or 400: the queue stays for the page to deal with; the event succeeds (retrying
  cannot help);
* the network down: the queue stays, the event fails."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SW = Path(__file__).resolve().parents[3] / "src/junheng_web/static/junheng/delivery-sw.js"

HARNESS = r"""
const vm = require("vm"), fs = require("fs");
const status = process.argv[2];
const data = {a1: {attempt: "a1", queue: [{id: "c1", item: "I1", raw: "A", seq: 1}, {id: "c2", item: "I2", raw: "B", seq: 2}],
                   sender: {url: "https://node/test/answers/", csrf: "t", lease: 1, attempt: "a1"}}};
const clone = (v) => v === undefined ? undefined : JSON.parse(JSON.stringify(v));
function req(result) { const r = {}; setTimeout(() => { r.result = result; if (r.onsuccess) r.onsuccess(); }, 0); return r; }
const db = {
  close() {},
  transaction() {
    const tx = {objectStore: () => ({getAll: () => req(Object.values(data).map(clone)), get: (k) => req(clone(data[k])),
                                     put: (v) => { data[v.attempt] = clone(v); return req(undefined); }})};
    setTimeout(() => { if (tx.oncomplete) tx.oncomplete(); }, 20);
    return tx;
  },
};
const handlers = {}, sent = [];
const ctx = {
  self: {addEventListener: (t, f) => { handlers[t] = f; }, location: {origin: "https://node"}},
  indexedDB: {open: () => req(db)},
  fetch: (url, init) => {
    sent.push(JSON.parse(init.body));
    if (status === "offline") return Promise.reject(new TypeError("network"));
    const code = +status;
    return Promise.resolve({status: code, json: () => Promise.resolve(code === 200 ? {ack: ["c1", "c2"], refused: {}} : {error: "x"})});
  },
  URL, Promise, setTimeout, console,
};
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.env.SW, "utf8"), ctx);
let done;
handlers.sync({tag: "junheng-answers", waitUntil: (p) => { done = p; }});
done.then(() => "resolved", () => "rejected").then((outcome) => {
  console.log(JSON.stringify({outcome, sent: sent.length, left: data.a1.queue.map((e) => e.id),
                              named: sent.every((b) => b.attempt === "a1")}));
});
"""


def _sync(status: str, tmp_path: Path) -> dict:
    script = tmp_path / "harness.js"
    script.write_text(HARNESS, encoding="utf-8")
    out = subprocess.run(["node", str(script), status], capture_output=True, text=True, timeout=30, check=True,
                         env={"SW": str(SW), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout)


pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")


def test_acknowledged_answers_leave_the_queue(tmp_path):
    assert _sync("200", tmp_path) == {"outcome": "resolved", "sent": 1, "left": [], "named": True}


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_a_server_error_keeps_the_queue_and_fails_the_sync_so_the_browser_retries(tmp_path, status):
    assert _sync(status, tmp_path) == {"outcome": "rejected", "sent": 1, "left": ["c1", "c2"], "named": True}


@pytest.mark.parametrize("status", ["400", "403", "409"])  # 409: the queue of another pupil than the signed-in one
def test_a_refusal_keeps_the_queue_for_the_page(tmp_path, status):
    assert _sync(status, tmp_path) == {"outcome": "resolved", "sent": 1, "left": ["c1", "c2"], "named": True}


def test_the_network_down_fails_the_sync(tmp_path):
    assert _sync("offline", tmp_path) == {"outcome": "rejected", "sent": 1, "left": ["c1", "c2"], "named": True}
