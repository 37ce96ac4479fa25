/* The pupil's test page (plain JS, no framework).
 *
 * Every answer change is first written to the browser's own store — IndexedDB (a strict-durability
 * transaction), localStorage where IndexedDB is missing — and into a queue; the queue is POSTed to
 * /test/answers/ (JSON, CSRF token) only once the write is done, and an entry leaves the queue only
 * when the server has acknowledged (or refused) its UUID.  The queue is replayed on page load, on
 * the browser's `online` event, after every change and every few seconds, so nothing is lost while
 * the network or the server is away.  Each change carries a UUID (a replay is a no-op on the
 * server), this page's lease and a sequence number (the server keeps the highest (lease, seq): a
 * newer page — another computer, a reload — always wins over an older one, and within a page the
 * last write wins by seq), and the time it was given by the server's clock (`at`), which decides
 * whether it came before time-up: the server takes it whenever it arrives if so.  At time-up the
 * inputs are disabled, a banner says so, and the page submits; the queue keeps draining.
 *
 * The page follows the proctor: every answers reply, and a light GET of /test/status/ while the
 * queue is idle (every `poll_ms`), carries the proctor's hold on this pupil ("" running, "paused",
 * "terminated") and the end as it is now (pauses and extra time move it).  The poll is also the
 * page's heartbeat (stamped `at`): sent only with an empty queue, it tells the server the page was
 * online with nothing unsent — the response forensics' evidence against backdated answers.  While held the inputs
 * and 交卷 are disabled, a banner says why and the countdown stands still; the end the server names
 * replaces the page's own (extra time moves the timer).  An answer the server refused because it
 * was given during a hold (in the moment before the page heard of it) is parked in the stored
 * state, not dropped: when the hold lifts it is queued again as a new change, if it is still the
 * pupil's answer to that item.
 *
 * A service worker (/test/sw.js, delivery-sw.js) keeps a copy of this page and its assets: a
 * reload during an outage shows the kept copy, whose answers come from the store above and whose
 * clock offset is the one measured when that copy was fresh (`pageNow`).  When a send fails the
 * page asks the browser for a Background Sync: if the tab is closed before the network returns,
 * the service worker sends the stored queue (with `sender`, kept beside it) once the browser is
 * online, or else when a page of the site is next opened.
 */
(function () {
  "use strict";
  var SHELL = "<!doctype html>\n" + document.documentElement.outerHTML;  // this page as served, before rendering
  var data = JSON.parse(document.getElementById("delivery-data").textContent);
  var T = JSON.parse(document.getElementById("delivery-text").textContent);
  var csrf = document.querySelector("#delivery input[name=csrfmiddlewaretoken]").value;
  // the test, or the questionnaire after it (data.mode): each its own record, endpoints and items
  var KEY = data.attempt + (data.mode ? ":" + data.mode : ""), LEGACY = "junheng.delivery." + KEY, CACHE = "junheng-test-v1";
  var ANSWERS = data.answers_url || "/test/answers/", SUBMIT = data.submit_url || "/test/submit/";
  var items = data.items;
  var $ = function (id) { return document.getElementById(id); };

  function fmt(s, v) { return s.replace(/%\((\w+)\)s/g, function (_, k) { return v[k]; }); }

  function uuid4() { // crypto.randomUUID needs a secure context; a site node may serve plain http
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // --- the local store: IndexedDB, else localStorage --------------------------------------------
  var db = null;
  function openStore() {
    return new Promise(function (resolve) {
      var req;
      try { req = window.indexedDB && indexedDB.open("junheng-delivery", 1); } catch (e) { req = null; }
      if (!req) { resolve(null); return; }
      req.onupgradeneeded = function () { req.result.createObjectStore("attempts", { keyPath: "attempt" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = req.onblocked = function () { resolve(null); };
    });
  }
  function readState() {
    if (!db) { try { return Promise.resolve(JSON.parse(localStorage.getItem(LEGACY) || "null")); } catch (e) { return Promise.resolve(null); } }
    return new Promise(function (resolve) {
      var r = db.transaction("attempts").objectStore("attempts").get(KEY);
      r.onsuccess = function () { resolve(r.result || null); };
      r.onerror = function () { resolve(null); };
    });
  }
  function write(snap) {
    if (!db) { try { localStorage.setItem(LEGACY, JSON.stringify(snap)); } catch (e) { /* full: the server still gets it */ } return Promise.resolve(); }
    return new Promise(function (resolve) {
      var tx = db.transaction("attempts", "readwrite", { durability: "strict" });
      tx.objectStore("attempts").put(snap);
      tx.oncomplete = tx.onerror = tx.onabort = function () { resolve(); };
    });
  }
  function forget() {
    try { localStorage.removeItem(LEGACY); } catch (e) { /* nothing kept */ }
    if (window.caches) caches.open(CACHE).then(function (c) { return c.delete("/test/take/"); }).catch(function () {});
    if (!db) return Promise.resolve();
    return new Promise(function (resolve) {
      var tx = db.transaction("attempts", "readwrite", { durability: "strict" });
      tx.objectStore("attempts").delete(KEY);
      tx.oncomplete = tx.onerror = tx.onabort = function () { resolve(); };
    });
  }
  var writing = Promise.resolve();
  function persist() {  // the state as it is now, written after the writes before it
    var snap = JSON.parse(JSON.stringify(state));
    writing = writing.then(function () { return write(snap); });
    return writing;
  }
  function written() {  // settles when every write asked for so far is done
    var w = writing;
    return w.then(function () { return w === writing ? null : written(); });
  }
  function keepShell() {  // the service worker and this page's first copy (it was loaded before the worker ran)
    if (!("serviceWorker" in navigator) || !window.caches) return;
    navigator.serviceWorker.register("/test/sw.js", { scope: "/test/" }).catch(function () {});
    var assets = Array.prototype.map.call(document.querySelectorAll("script[src], link[rel=stylesheet]"),
      function (e) { return e.src || e.href; }).filter(function (u) { return u.indexOf(location.origin + "/static/") === 0; });
    caches.open(CACHE).then(function (c) {
      return c.put("/test/take/", new Response(SHELL, { headers: { "Content-Type": "text/html; charset=utf-8" } }))
        .then(function () { return c.addAll(assets); });
    }).catch(function () {});
  }

  var state, skew, monoSkew = NaN, ends = Date.parse(data.ends_at), ended = false, held = "", heldLeft = 0;
  function newer(a, b) { // (lease, seq) of a above b's
    var la = a.lease || 0, lb = b.lease || 0;
    return la > lb || (la === lb && a.seq > b.seq);
  }
  // The server's time now: this computer's clock plus the offset measured at load — unless the clock has
  // been set back since (a time sync stepping a fast clock back, someone fixing the clock by hand): then
  // the monotonic clock (performance.now, which no setting of the clock moves) is ahead and is taken.
  // Stamped by the stepped-back clock, every answer would look given that much earlier, and one arriving
  // after an answer given just before the step would look backdated while the page was online (the
  // response forensics' serious flag).  The larger of the two: the monotonic clock stands still while the
  // computer sleeps (some systems), the wall clock does not, so after a sleep the wall clock is taken.
  function serverNow() {
    var wall = Date.now() + skew, mono = performance.now() + monoSkew;
    return mono > wall ? mono : wall;  // (NaN before the offset is known: the wall clock)
  }
  // when this page's response arrived, by this computer's clock: the server's `now` in it was taken just
  // before.  Not when this script runs: parsing, the scripts' loading and opening the store come in
  // between (seconds on a slow or busy computer), and a skew measured then would stamp every answer
  // that much early — an answer given just after the proctor's pause or time-up would count as before it.
  // Clamped: a value that is 0 or missing, later than now, or more than MAX_LOAD_MS before now (a page
  // restored from the back/forward cache, a browser's odd entry) is not this load's: then now is taken
  // (the page's clock lags by its load time at most) — never an hours-wide skew that would stamp every
  // answer before the session opened or after time-up.
  var MAX_LOAD_MS = 30000;
  function arrived() {
    var now = Date.now(), nav = null;
    try { nav = window.performance && performance.getEntriesByType && performance.getEntriesByType("navigation")[0]; } catch (e) { nav = null; }
    var at = nav && nav.responseStart > 0 && performance.timeOrigin > 0 ? performance.timeOrigin + nav.responseStart : NaN;
    return isFinite(at) && at <= now && at >= now - MAX_LOAD_MS ? at : now;
  }

  function change(itemId, raw, at) {  // at: when it was typed (a text box's last keystroke), else now
    var cur = state.answers[itemId], when = at || serverNow();
    if (cur && cur.raw === raw) return;
    if (closed || when >= ends) { timeUp(); return; }  // given after time-up or on a closed page: not taken
    state.seq += 1;
    state.answers[itemId] = { raw: raw, seq: state.seq, lease: data.lease };
    state.queue.push({ id: uuid4(), item: itemId, raw: raw, seq: state.seq, lease: data.lease, at: when });
    persist();  // flush sends it only once this write is done
    showSync(); paletteMarks();
    flush();
  }

  // --- the queue -------------------------------------------------------------------------------
  var inflight = null, closed = false, retry = 2000, timer = null;
  function flush() {  // a promise that settles when this round of sending is over
    if (inflight) return inflight;
    inflight = written().then(send);
    return inflight;
  }
  function send() {
    if (state.queue.length === 0) { inflight = null; showSync(); return Promise.resolve(); }
    var batch = state.queue.slice(0, 200);
    return fetch(ANSWERS, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ attempt: data.attempt, lease: data.lease, answers: batch })
    }).then(function (r) {
      var server = Date.parse(r.headers.get("Date") || "");  // the server's clock (delivery-sw.js, Expiry)
      return r.json().then(function (body) { return { status: r.status, body: body, server: server }; });
    }).then(function (res) {
      inflight = null;
      if (res.status === 200) {
        delete state.refused;
        var done = {}, why = res.body.refused || {}, refused = Object.keys(why), lost = 0;
        res.body.ack.concat(refused).forEach(function (id) { done[id] = true; });
        state.parked = state.parked || [];
        state.queue = state.queue.filter(function (e) {
          if (why[e.id] === "paused" || why[e.id] === "terminated") state.parked.push(e);  // given during a hold: kept
          else if (why[e.id]) lost += 1;
          return !done[e.id];
        });
        persist(); retry = 2000; $("message").textContent = lost ? fmt(T.refused, { n: lost }) : "";
        follow(res.body);
        if (state.queue.length) return flush();
      } else {
        $("message").textContent = res.body.error || "";
        if (res.status >= 500) requestSync();
        else {  // kept (delivery-sw.js, Expiry)
          state.refused = { status: res.status };
          if (!isNaN(res.server)) state.refused.server = res.server;
          persist();
        }
        later();
      }
      showSync();
    }).catch(function () { inflight = null; showSync(); requestSync(); later(); });
  }
  function requestSync() {  // the service worker sends the stored queue once the browser is online, tab open or not
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      return reg.sync && reg.sync.register("junheng-answers");
    }).catch(function () {});
  }
  function follow(body) {  // the server's word on this attempt: the proctor's hold, the end now, closed, moved
    var e = Date.parse(body.ends_at || "");
    if (!isNaN(e)) ends = e;
    if (!isNaN(e) && state.sender.ends !== body.ends_at) { state.sender.ends = body.ends_at; persist(); }
    if (typeof body.hold === "string") hold(body.hold);
    // parked answers go again stamped with the server's time of this word (the page's own clock
    // may lag the server's by the page's load time: it could stamp them inside the hold again)
    if (!held && !closed && state.parked && state.parked.length) unpark(Date.parse(body.now || "") || serverNow());
    if (held) heldLeft = ends - serverNow();
    if (body.moved) { closed = true; timeUp(T.moved); }
    else if (body.closed) timeUp();
  }
  var polling = false;
  function poll() {  // the idle page asks whether the proctor has paused, resumed or given extra time
    if (!data.status_url || polling || inflight || closed || state.queue.length) return;
    polling = true;
    // at: the heartbeat's stamp — the server counts it as this page's contact only when it arrives promptly
    fetch(data.status_url + "?lease=" + data.lease + "&at=" + Math.round(serverNow()), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { polling = false; if (body) follow(body); })
      .catch(function () { polling = false; });
  }
  function hold(h) {  // "" running, "paused", "terminated": the banner, the inputs, the parked answers
    if (h === held) return;
    var box = textBox();
    if (h && !ended && box && typed) { clearTimeout(debounce); change(items[state.current].id, box.value, typed); typed = 0; }
    held = h;
    $("hold").textContent = h ? (T[h] || T.paused) : "";
    $("hold").hidden = !h;
    $("delivery").setAttribute("data-hold", h || "none");
    lockInputs();
  }
  function unpark(now) {  // the hold is over: answers given during it go again, if still the pupil's
    var parked = state.parked;
    parked.forEach(function (e) {
      var cur = state.answers[e.item];
      if (!cur || cur.raw !== e.raw || cur.seq !== e.seq) return;  // changed again since: that change counts
      state.seq += 1;
      state.answers[e.item] = { raw: e.raw, seq: state.seq, lease: data.lease };
      state.queue.push({ id: uuid4(), item: e.item, raw: e.raw, seq: state.seq, lease: data.lease, at: now });
    });
    state.parked = [];
    persist(); showSync(); flush();
  }
  function later() {
    if (timer) return;
    timer = setTimeout(function () { timer = null; flush(); }, retry);
    retry = Math.min(retry * 2, 30000);
  }

  function showSync() {
    var el = $("sync"), n = state.queue.length + (state.parked ? state.parked.length : 0);  // parked: not on the server yet
    el.textContent = n ? fmt(T.unsynced, { n: n }) + (navigator.onLine ? "" : " · " + T.offline) : T.saved;
    el.className = n ? "pending" : "ok";
    el.setAttribute("data-unsynced", String(n));
  }

  // --- rendering -------------------------------------------------------------------------------
  function palette() {
    var nav = $("palette");
    nav.textContent = "";
    items.forEach(function (it, k) {
      var b = document.createElement("button");
      b.type = "button"; b.textContent = String(k + 1); b.setAttribute("data-item", it.id);
      b.addEventListener("click", function () { go(k); });
      nav.appendChild(b);
    });
    paletteMarks();
  }
  function paletteMarks() {
    Array.prototype.forEach.call($("palette").children, function (b, k) {
      var a = state.answers[items[k].id];
      b.classList.toggle("answered", !!(a && a.raw !== ""));
      b.classList.toggle("flagged", !!state.flags[items[k].id]);
      b.classList.toggle("current", k === state.current);
    });
  }

  function figure(src, k) {  // only pictures of the item bank: data:image/… or this server's paths
    var img = document.createElement("img");
    if (/^data:image\//.test(src) || /^\/[^/]/.test(src)) img.src = src;
    img.alt = fmt(T.figure, { k: k + 1 }); img.className = "figure";
    return img;
  }
  function stemNode(text, media) {
    // paragraphs; lines starting with "|" form a table (first row the header, a |---| row skipped);
    // a line "[图k]" places picture k of the item's media there (the rest follow the text)
    var box = document.createElement("div"), para = [], table = null, placed = {};
    box.className = "stem";
    function endPara() {
      if (!para.length) return;
      var p = document.createElement("p"); p.textContent = para.join("\n"); box.appendChild(p); para = [];
    }
    String(text || "").split("\n").forEach(function (line) {
      var fig = /^\s*\[图(\d+)\]\s*$/.exec(line);
      if (/^\s*\|/.test(line)) {
        endPara();
        var cells = line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|");
        if (cells.every(function (c) { return /^\s*:?-{2,}:?\s*$/.test(c); })) return;
        if (!table) { table = document.createElement("table"); table.className = "stem-table"; box.appendChild(table); }
        var tr = document.createElement("tr"), head = table.rows.length === 0;
        cells.forEach(function (c) { var td = document.createElement(head ? "th" : "td"); td.textContent = c.trim(); tr.appendChild(td); });
        table.appendChild(tr);
        return;
      }
      table = null;
      if (fig && media[+fig[1] - 1]) { endPara(); placed[+fig[1] - 1] = true; box.appendChild(figure(media[+fig[1] - 1], +fig[1] - 1)); }
      else if (line.trim() === "") endPara();
      else para.push(line);
    });
    endPara();
    media.forEach(function (src, k) { if (!placed[k]) box.appendChild(figure(src, k)); });
    return box;
  }

  function textBox() { return $("item").querySelector("textarea, input.entry"); }
  function lockInputs() {  // disabled after time-up and while the proctor holds the pupil
    var off = ended || !!held;
    Array.prototype.forEach.call($("item").querySelectorAll("input, textarea"), function (x) { x.disabled = off; });
    $("submit").disabled = !!held;
  }
  function timeUp(message) {  // no more changes on this page: the inputs go grey, the page says why
    var box = textBox();
    if (!ended && box && typed) { clearTimeout(debounce); change(items[state.current].id, box.value, typed); }
    ended = true;
    lockInputs();
    $("item").setAttribute("data-ended", "true");
    $("timeup").textContent = message || T.closed;
    $("timeup").hidden = false;
    $("message").textContent = "";
  }

  var debounce = null, typed = 0;
  function typing(it, box) {  // a text box: saved half a second after the last keystroke, and on leaving it
    box.addEventListener("input", function () {
      clearTimeout(debounce); typed = serverNow();
      debounce = setTimeout(function () { change(it.id, box.value, typed); }, 500);
    });
    box.addEventListener("blur", function () { clearTimeout(debounce); if (typed) change(it.id, box.value, typed); });
  }
  function render() {
    var it = items[state.current], box = $("item"), a = state.answers[it.id], raw = a ? a.raw : "";
    box.textContent = "";
    box.setAttribute("data-item", it.id);
    var head = document.createElement("p");
    head.className = "hint"; head.textContent = fmt(T.position, { k: state.current + 1, n: items.length });
    box.appendChild(head); box.appendChild(stemNode(it.stem, it.media || []));
    if (it.format === "number") {
      var label = document.createElement("label"), input = document.createElement("input");
      input.className = "entry"; input.name = "answer"; input.type = "text"; input.value = raw;
      input.setAttribute("inputmode", "decimal"); input.setAttribute("autocomplete", "off");
      input.maxLength = 20;
      label.textContent = T.number_here + " ";
      label.appendChild(input);
      if (it.unit) label.appendChild(document.createTextNode(" " + it.unit));
      typing(it, input);
      box.appendChild(label);
    } else if (it.format === "scale") {  // a questionnaire question: options with their codes
      it.options.forEach(function (pair) {
        var option = document.createElement("label"), choice = document.createElement("input");
        option.className = "option";
        choice.type = "radio"; choice.name = "answer"; choice.value = pair[0]; choice.checked = raw === pair[0];
        choice.addEventListener("change", function () { change(it.id, choice.value); });
        option.appendChild(choice);
        option.appendChild(document.createTextNode(" " + pair[1]));
        box.appendChild(option);
      });
    } else if (it.format === "constructed") {
      var ta = document.createElement("textarea");
      ta.name = "answer"; ta.value = raw; ta.placeholder = T.answer_here;
      typing(it, ta);
      box.appendChild(ta);
    } else {
      var multi = it.format === "multiple_choice";
      it.options.forEach(function (text, k) {
        var letter = String.fromCharCode(65 + k);
        var option = document.createElement("label"), choice = document.createElement("input");
        option.className = "option";
        choice.type = multi ? "checkbox" : "radio"; choice.name = "answer"; choice.value = letter;
        choice.checked = raw.indexOf(letter) >= 0;
        choice.addEventListener("change", function () {
          var chosen = Array.prototype.filter.call(box.querySelectorAll("input[name=answer]"),
            function (x) { return x.checked; }).map(function (x) { return x.value; });
          change(it.id, chosen.sort().join(""));
        });
        option.appendChild(choice);
        option.appendChild(document.createTextNode(" " + letter + ". " + text));
        box.appendChild(option);
      });
    }
    lockInputs();
    $("prev").disabled = state.current === 0;
    $("next").disabled = state.current === items.length - 1;
    $("flag").setAttribute("aria-pressed", state.flags[it.id] ? "true" : "false");
    $("flag").textContent = state.flags[it.id] ? T.flagged : T.flag;
    paletteMarks();
  }
  function go(k) {
    var box = textBox();
    if (box && !ended && typed) { clearTimeout(debounce); change(items[state.current].id, box.value, typed); }
    typed = 0;
    state.current = Math.max(0, Math.min(items.length - 1, k));
    persist(); render();
  }

  // --- submit and the countdown ----------------------------------------------------------------
  function submit(ask) {
    go(state.current); // keep a text box's last keystrokes
    var blank = items.filter(function (it) { var a = state.answers[it.id]; return !a || a.raw === ""; }).length;
    if (ask && !window.confirm((blank ? fmt(T.unanswered, { n: blank }) + "\n" : "") + T.confirm_submit)) return;
    flush().then(function () {
      if (state.queue.length) { $("message").textContent = T.wait_sync; return; }
      return fetch(SUBMIT, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ lease: data.lease })
      }).then(function (r) {
        if (r.ok) return forget().then(function () { window.location.reload(); });
        if (r.status === 409) { closed = true; timeUp(T.moved); }  // the pupil went on elsewhere
      });
    }).catch(function () { $("message").textContent = T.wait_sync; });
  }

  var lastTry = 0;
  function tick() {
    if (held) ends = serverNow() + heldLeft;  // the clock stands while held (the server moves the end)
    var left = Math.max(0, Math.ceil((ends - serverNow()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    $("countdown").textContent = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    if (held) return;
    if (left === 0 && !ended) timeUp(T.time_up);
    if (left === 0 && !closed && Date.now() - lastTry > 10000) {  // time is up: submit, again until it works
      lastTry = Date.now(); submit(false);
    }
  }

  // --- start: the stored state, then whatever the server has with a higher (lease, seq) --------
  function start(stored) {
    state = stored || { attempt: KEY, answers: {}, queue: [], seq: 0, flags: {}, current: 0 };
    state.attempt = KEY;
    // what the service worker needs to send this queue when no page is open (delivery-sw.js, drain)
    // (the attempt named: on a shared computer the server refuses the queue under another pupil's cookie)
    // ends: the pupil's end — the service worker drops a refused queue KEEP_DAYS after it (delivery-sw.js, Expiry)
    state.sender = { url: new URL(ANSWERS, location.href).href, csrf: csrf, lease: data.lease, attempt: data.attempt,
                     ends: data.ends_at };
    delete state.refused;  // this page is open: the cookie is this attempt's again
    Object.keys(data.answers).forEach(function (id) {
      var s = data.answers[id], mine = state.answers[id];
      if (!mine || newer(s, mine)) state.answers[id] = { raw: s.raw, seq: s.seq, lease: s.lease };
    });
    state.seq = Math.max(state.seq, data.max_seq);
    if (state.pageNow === data.now && typeof state.skew === "number") skew = state.skew;  // the kept copy of a page
    else { skew = Date.parse(data.now) - arrived(); state.pageNow = data.now; state.skew = skew; }
    monoSkew = skew + Date.now() - performance.now();  // the same offset on the monotonic clock, from now on
    state.current = Math.max(0, Math.min(items.length - 1, state.current || 0));
    persist();
    $("prev").addEventListener("click", function () { go(state.current - 1); });
    $("next").addEventListener("click", function () { go(state.current + 1); });
    $("flag").addEventListener("click", function () {
      var id = items[state.current].id;
      state.flags[id] = !state.flags[id];
      persist(); render();
    });
    $("submit").addEventListener("click", function () { submit(true); });
    window.addEventListener("online", function () { retry = 2000; flush(); });
    window.addEventListener("offline", showSync);
    setInterval(flush, 5000);
    setInterval(tick, 1000);
    setInterval(poll, data.poll_ms || 10000);
    palette(); render(); showSync();
    if (data.hold) { hold(data.hold); heldLeft = ends - serverNow(); }
    tick(); flush();
    $("delivery").setAttribute("data-ready", "true");
  }
  openStore().then(function (d) { db = d; return readState(); }).then(function (stored) {
    if (!stored && db) {  // a page from before the store moved to IndexedDB
      try { stored = JSON.parse(localStorage.getItem(LEGACY) || "null"); } catch (e) { stored = null; }
    }
    start(stored);
    keepShell();
  });
})();
