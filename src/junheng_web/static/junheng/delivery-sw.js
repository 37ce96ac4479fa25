/* The test page's service worker (served at /test/sw.js, scope /test/; issue 15.3).
 *
 * It keeps the test usable across a reload during an outage: the test page (/test/take/) is
 * fetched from the network when there is one — every load opens a new lease on the server — and
 * its last copy is kept: every online load replaces it (here, and the page itself writes its copy:
 * delivery.js keepShell), so the kept page is the last the server gave — its lease, and the `now`
 * the page's clock offset was measured from (a stale copy would take the offset from an older
 * response; tests/e2e/test_pupil_test.py checks it).  Without a network the kept copy is served,
 * and the answers given since come from the page's own store (IndexedDB), not from this copy.  The page's scripts and style
 * sheet are kept the same way (served locally, never from a CDN).  Answers are never sent or
 * cached here: POSTs go to the network untouched, the page's queue sends them (each with its UUID,
 * so a repeat is a no-op on the server).  The page keeps its own first copy and its assets in the
 * same cache (delivery.js, keepShell): the first load happens before this worker controls it.
 *
 * Answers left behind by a closed tab.  The page keeps its queue in IndexedDB with what sending
 * needs (`sender`: the answers URL, the CSRF token, the page's lease and attempt — the server
 * refuses, 409, a queue of another attempt than the signed-in pupil's, and it stays stored).  When a page's send fails it
 * registers a Background Sync (tag `junheng-answers`, where the browser has the API); the browser
 * fires `sync` here once it is online again, even with no page of the site open, and `drain` sends
 * every stored queue — the same request as the page's, so the server takes each UUID once however
 * often it arrives — and removes what the server acknowledged or refused (a refusal for a hold is
 * parked, as the page does).  A failed send (no network, a server error) rejects the event, so the
 * browser tries again later.
 * Where the API is missing, or the browser has not fired yet, `drain` runs whenever a page of the
 * site (/test/…) is opened: the next page open sends what a closed tab left.
 *
 * Expiry (docs/guide/delivery.md, "Answers kept in the browser").  A queue the server refused as a
 * whole (403 signed out, 409 another pupil's cookie, 400 malformed) is marked `refused` and kept:
 * while its session's sign-in window is open its pupil may sign in again here, and the server then
 * takes every answer given before time-up.  Once the session has ended (`sender.ends`, the pupil's
 * end as the page last heard it) and KEEP_DAYS more have passed, no sign-in can bring that
 * attempt's cookie back, so the refusal is final: `drain` then deletes the record.  It deletes too a
 * record with nothing left to send (its queue empty) after that time.  A queue that was never
 * refused — it never reached the server — is kept whatever its age.
 * Whose clock: the server's, as the Date header of its last refusal gives it (`refused.server`);
 * else the earlier of the computer's clock and that clock corrected by the page's `skew`.  The skew
 * is measured once, at the page's load: a computer whose clock was set right after that (a flat
 * clock battery, then the network time) keeps a stale skew that may put "now" years ahead — it
 * must never make a queue the pupil may still send look old.
 */
"use strict";
var CACHE = "junheng-test-v1", DB = "junheng-delivery", STORE = "attempts", TAG = "junheng-answers";
var KEEP_DAYS = 7, DAY_MS = 86400000;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function kept(event, request, response) {  // keep a good copy, hand the response on
  if (response && response.ok && response.type === "basic") {
    var copy = response.clone();
    // the write within the event's lifetime: the browser may stop an idle worker once its events settle
    event.waitUntil(caches.open(CACHE).then(function (c) { return c.put(request, copy); }).catch(function () {}));
  }
  return response;
}

function store() {
  return new Promise(function (resolve, reject) {
    var r = indexedDB.open(DB, 1);
    r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: "attempt" }); };
    r.onsuccess = function () { resolve(r.result); };
    r.onerror = r.onblocked = function () { reject(r.error); };
  });
}

function records(db) {
  return new Promise(function (resolve, reject) {
    var r = db.transaction(STORE).objectStore(STORE).getAll();
    r.onsuccess = function () { resolve(r.result || []); };
    r.onerror = function () { reject(r.error); };
  });
}

function settle(db, key, body) {  // take the server's word off the stored queue (read and written in one transaction)
  return new Promise(function (resolve) {
    var tx = db.transaction(STORE, "readwrite"), os = tx.objectStore(STORE), g = os.get(key);
    g.onsuccess = function () {
      var rec = g.result, why = body.refused || {}, done = {};
      if (!rec) return;
      body.ack.concat(Object.keys(why)).forEach(function (id) { done[id] = true; });
      delete rec.refused;  // the server took the batch: the cookie is this attempt's
      rec.parked = rec.parked || [];
      rec.queue = rec.queue.filter(function (e) {
        if (why[e.id] === "paused" || why[e.id] === "terminated") rec.parked.push(e);
        return !done[e.id];
      });
      os.put(rec);
    };
    tx.oncomplete = tx.onerror = tx.onabort = function () { resolve(); };
  });
}

function serverDate(r) {  // the server's clock as a reply's Date header gives it; NaN without one
  return Date.parse((r.headers && r.headers.get && r.headers.get("Date")) || "");
}

function refuse(db, key, status, server) {  // the whole queue refused: kept, marked (see Expiry above)
  return new Promise(function (resolve) {
    var tx = db.transaction(STORE, "readwrite"), os = tx.objectStore(STORE), g = os.get(key);
    g.onsuccess = function () {
      var rec = g.result;
      if (!rec) return;
      rec.refused = { status: status };  // its time: `server`, by the server's clock (see Expiry above)
      if (!isNaN(server)) rec.refused.server = server;
      os.put(rec);
    };
    tx.oncomplete = tx.onerror = tx.onabort = function () { resolve(); };
  });
}

function expired(rec) {  // the session ended more than KEEP_DAYS ago (whose clock: see Expiry above)
  var end = Date.parse((rec.sender && rec.sender.ends) || ""), now = Date.now();
  if (isNaN(end)) return false;
  var server = rec.refused && rec.refused.server;
  var clock = typeof server === "number" ? server : Math.min(now, now + (rec.skew || 0));
  return clock > end + KEEP_DAYS * DAY_MS;
}

function prune(db) {  // delete what can no longer reach the server (see Expiry above); never fails
  return new Promise(function (resolve) {
    var tx = db.transaction(STORE, "readwrite"), os = tx.objectStore(STORE), all = os.getAll();
    all.onsuccess = function () {
      (all.result || []).forEach(function (rec) {
        if (expired(rec) && (rec.refused || !(rec.queue && rec.queue.length))) os.delete(rec.attempt);
      });
    };
    tx.oncomplete = tx.onerror = tx.onabort = function () { resolve(); };
  });
}

function sendQueue(db, rec) {  // one stored queue, in batches; rejects when the network fails
  var s = rec.sender, batch = rec.queue.slice(0, 200);
  if (!s || !batch.length) return Promise.resolve();
  return fetch(s.url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": s.csrf },
    // the attempt named: the cookie is whoever is signed in now — maybe another pupil on a shared computer
    body: JSON.stringify({ attempt: s.attempt, lease: s.lease, answers: batch })
  }).then(function (r) {
    // a server error (a proxy's 502 while the node restarts): the event fails, the browser tries again
    if (r.status >= 500) throw new Error("answers: HTTP " + r.status);
    if (r.status !== 200) return refuse(db, rec.attempt, r.status, serverDate(r));  // signed out, another pupil, malformed
    return r.json().then(function (body) {
      return settle(db, rec.attempt, body).then(function () {
        var why = body.refused || {}, left = rec.queue.filter(function (e) { return body.ack.indexOf(e.id) < 0 && !why[e.id]; });
        if (!left.length || left.length === rec.queue.length) return null;  // all sent, or no progress
        return sendQueue(db, { attempt: rec.attempt, sender: s, queue: left });
      });
    });
  });
}

var draining = null;
function drain() {  // every stored queue to the server; one run at a time
  if (draining) return draining;
  draining = store().then(function (db) {
    return records(db).then(function (all) {
      return Promise.all(all.filter(function (r) { return r.queue && r.queue.length; })
        .map(function (r) { return sendQueue(db, r); }));
    }).finally(function () { return prune(db).then(function () { db.close(); }); });
  }).finally(function () { draining = null; });
  return draining;
}

self.addEventListener("sync", function (event) {
  if (event.tag === TAG) event.waitUntil(drain());
});

self.addEventListener("fetch", function (event) {
  var req = event.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (req.mode === "navigate") event.waitUntil(drain().catch(function () {}));  // a page of the site opened
  var page = url.pathname === "/test/take/";
  var asset = url.pathname.indexOf("/static/junheng/") === 0;
  if (!page && !asset) return;
  var key = page ? "/test/take/" : req;
  event.respondWith(fetch(req).then(function (r) {
    // a redirect (signed out) or a finished test: the kept page is no longer the pupil's
    if (page && (r.redirected || !r.ok)) {
      event.waitUntil(caches.open(CACHE).then(function (c) { return c.delete(key); }).catch(function () {}));
      return r;
    }
    return kept(event, key, r);  // every online load: the kept page is the last one the server gave
  }).catch(function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});
