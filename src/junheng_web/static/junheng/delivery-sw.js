/* The test page's service worker (served at /test/sw.js, scope /test/; issue 15.3).
 *
 * It keeps the test usable across a reload during an outage: the test page (/test/take/) is
 * fetched from the network when there is one — every load opens a new lease on the server — and
 * its last copy is kept; without a network the kept copy is served, and the answers given since
 * come from the page's own store (IndexedDB), not from this copy.  The page's scripts and style
 * sheet are kept the same way (served locally, never from a CDN).  Answers are never sent or
 * cached here: POSTs go to the network untouched, the page's queue sends them (each with its UUID,
 * so a repeat is a no-op on the server).  The page keeps its own first copy and its assets in the
 * same cache (delivery.js, keepShell): the first load happens before this worker controls it.
 */
"use strict";
var CACHE = "junheng-test-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function kept(request, response) {  // keep a good copy, hand the response on
  if (response && response.ok && response.type === "basic") {
    var copy = response.clone();
    caches.open(CACHE).then(function (c) { c.put(request, copy); });
  }
  return response;
}

self.addEventListener("fetch", function (event) {
  var req = event.request, url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  var page = url.pathname === "/test/take/";
  var asset = url.pathname.indexOf("/static/junheng/") === 0;
  if (!page && !asset) return;
  var key = page ? "/test/take/" : req;
  event.respondWith(fetch(req).then(function (r) {
    // a redirect (signed out) or a finished test: the kept page is no longer the pupil's
    if (page && (r.redirected || !r.ok)) { caches.open(CACHE).then(function (c) { c.delete(key); }); return r; }
    return kept(key, r);
  }).catch(function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});
