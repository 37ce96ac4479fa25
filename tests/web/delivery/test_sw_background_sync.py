"""The service worker's Background Sync (static/junheng/delivery-sw.js, ``drain``) run in Node with
a stand-in IndexedDB and ``fetch``: what each reply of the answers endpoint does to the stored queue
and to the ``sync`` event — whose rejection is what makes the browser try again later.

* 200: the acknowledged changes leave the stored queue, the event succeeds;
* a server error (500, 502, 503 from a proxy while the app restarts): the queue stays and the event
  fails, so the browser fires it again — not "done" with the answers still unsent;
* every batch names the stored queue's attempt (the server refuses, 409, another pupil's queue);
* 403 (signed out), 409 or 400: the queue stays for the page to deal with, marked refused; the event
  succeeds (retrying cannot help); a refused queue is deleted 7 days after its session's end (by the
  server's clock), never one that never reached the server;
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
const status = process.argv[2], extra = JSON.parse(process.argv[3] || "{}"), DAY = 86400000;
const data = {a1: {attempt: "a1", queue: [{id: "c1", item: "I1", raw: "A", seq: 1}, {id: "c2", item: "I2", raw: "B", seq: 2}],
                   sender: {url: "https://node/test/answers/", csrf: "t", lease: 1, attempt: "a1"}}};
// the record's session ended `ended_days_ago` (by the computer's clock); `skew`: the server's clock ahead by days
if ("ended_days_ago" in extra) data.a1.sender.ends = new Date(Date.now() - extra.ended_days_ago * DAY).toISOString();
if ("skew_days" in extra) data.a1.skew = extra.skew_days * DAY;
if (extra.refused) data.a1.refused = {status: extra.refused};
const clone = (v) => v === undefined ? undefined : JSON.parse(JSON.stringify(v));
function req(result) { const r = {}; setTimeout(() => { r.result = result; if (r.onsuccess) r.onsuccess(); }, 0); return r; }
const db = {
  close() {},
  transaction() {
    const tx = {objectStore: () => ({getAll: () => req(Object.values(data).map(clone)), get: (k) => req(clone(data[k])),
                                     put: (v) => { data[v.attempt] = clone(v); return req(undefined); },
                                     delete: (k) => { delete data[k]; return req(undefined); }})};
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
    // `server_days`: the reply's Date header, the server's clock that many days from the computer's now
    const date = "server_days" in extra ? new Date(Date.now() + extra.server_days * DAY).toUTCString() : null;
    return Promise.resolve({status: code, headers: {get: (h) => (h.toLowerCase() === "date" ? date : null)},
                            json: () => Promise.resolve(code === 200 ? {ack: ["c1", "c2"], refused: {}} : {error: "x"})});
  },
  URL, Promise, setTimeout, console,
};
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.env.SW, "utf8"), ctx);
let done;
handlers.sync({tag: "junheng-answers", waitUntil: (p) => { done = p; }});
done.then(() => "resolved", () => "rejected").then((outcome) => {
  const rec = data.a1;
  console.log(JSON.stringify({outcome, sent: sent.length, left: rec ? rec.queue.map((e) => e.id) : "deleted",
                              named: sent.every((b) => b.attempt === "a1"), refused: rec && rec.refused ? rec.refused.status : null}));
});
"""


def _sync(status: str, tmp_path: Path, **record) -> dict:
    script = tmp_path / "harness.js"
    script.write_text(HARNESS, encoding="utf-8")
    out = subprocess.run(["node", str(script), status, json.dumps(record)], capture_output=True, text=True, timeout=30,
                         check=True,
                         env={"SW": str(SW), "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout)


pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")


def test_acknowledged_answers_leave_the_queue(tmp_path):
    assert _sync("200", tmp_path) == {"outcome": "resolved", "sent": 1, "left": [], "named": True, "refused": None}


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_a_server_error_keeps_the_queue_and_fails_the_sync_so_the_browser_retries(tmp_path, status):
    assert _sync(status, tmp_path) == {"outcome": "rejected", "sent": 1, "left": ["c1", "c2"], "named": True,
                                       "refused": None}


@pytest.mark.parametrize("status", ["400", "403", "409"])  # 409: the queue of another pupil than the signed-in one
def test_a_refusal_keeps_the_queue_for_the_page_marked_refused(tmp_path, status):
    assert _sync(status, tmp_path) == {"outcome": "resolved", "sent": 1, "left": ["c1", "c2"], "named": True,
                                       "refused": int(status)}


def test_the_network_down_fails_the_sync(tmp_path):
    assert _sync("offline", tmp_path) == {"outcome": "rejected", "sent": 1, "left": ["c1", "c2"], "named": True,
                                          "refused": None}


# Expiry (delivery-sw.js; docs/guide/delivery.md "Answers kept in the browser"): a refused queue is
# kept while its pupil could still sign in again here, and deleted KEEP_DAYS (7) after its session.

@pytest.mark.parametrize("status", ["400", "403", "409"])
def test_a_refused_queue_is_kept_within_seven_days_of_its_session(tmp_path, status):
    got = _sync(status, tmp_path, ended_days_ago=6)
    assert (got["left"], got["refused"], got["outcome"]) == (["c1", "c2"], int(status), "resolved")


@pytest.mark.parametrize("status", ["400", "403", "409"])
def test_a_refused_queue_is_deleted_seven_days_after_its_session(tmp_path, status):
    got = _sync(status, tmp_path, ended_days_ago=8)
    assert (got["sent"], got["left"], got["outcome"]) == (1, "deleted", "resolved")  # tried once more first


@pytest.mark.parametrize(("days", "left"), [(6.5, ["c1", "c2"]), (7.5, "deleted")])
def test_the_expiry_is_seven_days_not_six_or_eight(tmp_path, days, left):
    """Half a day either side of the seventh day after the session (the tests above sit on whole
    days, where a keep of 6 or 8 days decides by the milliseconds the harness takes)."""
    assert _sync("409", tmp_path, ended_days_ago=days)["left"] == left


def test_the_servers_clock_decides_not_the_computers(tmp_path):
    """The computer's clock 3 days behind the server's (the refusal's Date header): its session
    ended 5 days ago by the computer's clock, 8 by the server's — deleted; 3 days ahead (skew -3):
    kept."""
    assert _sync("409", tmp_path, ended_days_ago=5, skew_days=3, server_days=3)["left"] == "deleted"
    assert _sync("409", tmp_path, ended_days_ago=8, skew_days=-3)["left"] == ["c1", "c2"]


def test_a_stale_skew_after_the_computers_clock_was_set_right_deletes_nothing(tmp_path):
    """The page was loaded while the computer's clock was 400 days behind (a school computer's
    flat clock battery; ``skew`` +400 days kept in the record), then the clock was set right. The
    session ended yesterday — by the server's Date header too — so the pupil may still sign in
    again: the refused queue is kept, not judged 399 days old by the stale skew."""
    got = _sync("409", tmp_path, ended_days_ago=1, skew_days=400, server_days=0)
    assert (got["left"], got["refused"]) == (["c1", "c2"], 409)
    assert _sync("409", tmp_path, ended_days_ago=1, skew_days=400)["left"] == ["c1", "c2"]  # no Date header


def test_a_queue_that_never_reached_the_server_is_kept_however_old(tmp_path):
    got = _sync("offline", tmp_path, ended_days_ago=400)
    assert (got["left"], got["refused"], got["outcome"]) == (["c1", "c2"], None, "rejected")


def test_a_queue_refused_before_is_deleted_when_old_even_with_the_network_down(tmp_path):
    assert _sync("offline", tmp_path, ended_days_ago=8, refused=409)["left"] == "deleted"


def test_a_queue_the_server_takes_is_sent_first_then_its_empty_record_goes(tmp_path):
    """The cookie is the queue's attempt's again (200): every answer is taken — even 8 days after
    the session, the server takes what was given before time-up — and only then the record goes."""
    got = _sync("200", tmp_path, ended_days_ago=8, refused=409)
    assert (got["sent"], got["left"], got["outcome"]) == (1, "deleted", "resolved")
    assert _sync("200", tmp_path, ended_days_ago=1, refused=409) == {
        "outcome": "resolved", "sent": 1, "left": [], "named": True, "refused": None}


def test_a_record_without_its_sessions_end_is_never_deleted(tmp_path):
    """Stored by a page from before the end was kept (no ``sender.ends``): nothing to judge by."""
    assert _sync("409", tmp_path, refused=409)["left"] == ["c1", "c2"]
