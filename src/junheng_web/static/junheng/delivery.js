/* The pupil's test page (plain JS, no framework).
 *
 * Every answer change goes first to localStorage and into a queue; the queue is POSTed to
 * /test/answers/ (JSON, CSRF token) and an entry leaves the queue only when the server has
 * acknowledged its UUID.  The queue is replayed on page load, on the browser's `online` event,
 * after every change and every few seconds, so nothing is lost while the network or the server
 * is away.  Each change carries a UUID (a replay is a no-op on the server), this page's lease and
 * a sequence number (the server keeps the highest (lease, seq): a newer page — another computer, a
 * reload — always wins over an older one, and within a page the last write wins by seq), and the
 * time it was given by the server's clock (`at`), which decides whether it came before time-up:
 * the server takes it whenever it arrives if so.  At time-up the inputs are disabled and the page
 * submits; the queue keeps draining (every entry is acknowledged or refused by the server).
 */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("delivery-data").textContent);
  var T = JSON.parse(document.getElementById("delivery-text").textContent);
  var csrf = document.querySelector("#delivery input[name=csrfmiddlewaretoken]").value;
  var KEY = "junheng.delivery." + data.attempt;
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

  // --- state: local first, then whatever the server has with a higher seq ---------------------
  var state;
  try { state = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { state = null; }
  state = state || { answers: {}, queue: [], seq: 0, flags: {}, current: 0 };
  function newer(a, b) { // (lease, seq) of a above b's
    var la = a.lease || 0, lb = b.lease || 0;
    return la > lb || (la === lb && a.seq > b.seq);
  }
  Object.keys(data.answers).forEach(function (id) {
    var s = data.answers[id], mine = state.answers[id];
    if (!mine || newer(s, mine)) state.answers[id] = { raw: s.raw, seq: s.seq, lease: s.lease };
  });
  state.seq = Math.max(state.seq, data.max_seq);
  function persist() { localStorage.setItem(KEY, JSON.stringify(state)); }
  persist();

  var skew = Date.parse(data.now) - Date.now(), ends = Date.parse(data.ends_at), ended = false;
  function serverNow() { return Date.now() + skew; }

  function change(itemId, raw, at) {  // at: when it was typed (a text box's last keystroke), else now
    var cur = state.answers[itemId], when = at || serverNow();
    if (cur && cur.raw === raw) return;
    if (closed || when >= ends) { timeUp(); return; }  // given after time-up or on a closed page: not taken
    state.seq += 1;
    state.answers[itemId] = { raw: raw, seq: state.seq, lease: data.lease };
    state.queue.push({ id: uuid4(), item: itemId, raw: raw, seq: state.seq, lease: data.lease, at: when });
    persist();  // written locally before anything is sent
    showSync(); paletteMarks();
    flush();
  }

  // --- the queue -------------------------------------------------------------------------------
  var inflight = null, closed = false, retry = 2000, timer = null;
  function flush() {  // a promise that settles when this round of sending is over
    if (inflight) return inflight;
    if (state.queue.length === 0) { showSync(); return Promise.resolve(); }
    var batch = state.queue.slice(0, 200);
    inflight = fetch("/test/answers/", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ lease: data.lease, answers: batch })
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      inflight = null;
      if (res.status === 200) {
        var done = {}, refused = Object.keys(res.body.refused || {});
        res.body.ack.concat(refused).forEach(function (id) { done[id] = true; });
        state.queue = state.queue.filter(function (e) { return !done[e.id]; });
        persist(); retry = 2000; $("message").textContent = refused.length ? fmt(T.refused, { n: refused.length }) : "";
        if (res.body.moved) { closed = true; timeUp(T.moved); }
        else if (res.body.closed) timeUp();
        if (state.queue.length) return flush();
      } else {
        $("message").textContent = res.body.error || "";
        later();
      }
      showSync();
    }).catch(function () { inflight = null; showSync(); later(); });
    return inflight;
  }
  function later() {
    if (timer) return;
    timer = setTimeout(function () { timer = null; flush(); }, retry);
    retry = Math.min(retry * 2, 30000);
  }
  window.addEventListener("online", function () { retry = 2000; flush(); });
  window.addEventListener("offline", showSync);
  setInterval(flush, 5000);

  function showSync() {
    var el = $("sync"), n = state.queue.length;
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

  function disableInputs() {
    Array.prototype.forEach.call($("item").querySelectorAll("input, textarea"), function (x) { x.disabled = true; });
  }
  function timeUp(message) {  // no more changes on this page: the inputs go grey, the page says why
    var ta = $("item").querySelector("textarea");
    if (!ended && ta && typed) { clearTimeout(debounce); change(items[state.current].id, ta.value, typed); }
    ended = true;
    disableInputs();
    $("item").setAttribute("data-ended", "true");
    $("message").textContent = message || T.closed;
  }

  var debounce = null, typed = 0;
  function render() {
    var it = items[state.current], box = $("item"), a = state.answers[it.id], raw = a ? a.raw : "";
    box.textContent = "";
    box.setAttribute("data-item", it.id);
    var head = document.createElement("p");
    head.className = "hint"; head.textContent = fmt(T.position, { k: state.current + 1, n: items.length });
    var stem = document.createElement("div");
    stem.className = "stem"; stem.textContent = it.stem;
    box.appendChild(head); box.appendChild(stem);
    if (it.format === "constructed") {
      var ta = document.createElement("textarea");
      ta.name = "answer"; ta.value = raw; ta.placeholder = T.answer_here;
      ta.addEventListener("input", function () {
        clearTimeout(debounce); typed = serverNow();
        debounce = setTimeout(function () { change(it.id, ta.value, typed); }, 500);
      });
      ta.addEventListener("blur", function () { clearTimeout(debounce); if (typed) change(it.id, ta.value, typed); });
      box.appendChild(ta);
    } else {
      var multi = it.format === "multiple_choice";
      it.options.forEach(function (text, k) {
        var letter = String.fromCharCode(65 + k);
        var label = document.createElement("label"), input = document.createElement("input");
        label.className = "option";
        input.type = multi ? "checkbox" : "radio"; input.name = "answer"; input.value = letter;
        input.checked = raw.indexOf(letter) >= 0;
        input.addEventListener("change", function () {
          var chosen = Array.prototype.filter.call(box.querySelectorAll("input[name=answer]"),
            function (x) { return x.checked; }).map(function (x) { return x.value; });
          change(it.id, chosen.sort().join(""));
        });
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + letter + ". " + text));
        box.appendChild(label);
      });
    }
    if (ended) disableInputs();
    $("prev").disabled = state.current === 0;
    $("next").disabled = state.current === items.length - 1;
    $("flag").setAttribute("aria-pressed", state.flags[it.id] ? "true" : "false");
    $("flag").textContent = state.flags[it.id] ? T.flagged : T.flag;
    paletteMarks();
  }
  function go(k) {
    var ta = $("item").querySelector("textarea");
    if (ta && !ended && typed) { clearTimeout(debounce); change(items[state.current].id, ta.value, typed); }
    typed = 0;
    state.current = Math.max(0, Math.min(items.length - 1, k));
    persist(); render();
  }
  $("prev").addEventListener("click", function () { go(state.current - 1); });
  $("next").addEventListener("click", function () { go(state.current + 1); });
  $("flag").addEventListener("click", function () {
    var id = items[state.current].id;
    state.flags[id] = !state.flags[id];
    persist(); render();
  });

  // --- submit and the countdown ----------------------------------------------------------------
  function submit(ask) {
    go(state.current); // keep a textarea's last keystrokes
    var blank = items.filter(function (it) { var a = state.answers[it.id]; return !a || a.raw === ""; }).length;
    if (ask && !window.confirm((blank ? fmt(T.unanswered, { n: blank }) + "\n" : "") + T.confirm_submit)) return;
    flush().then(function () {
      if (state.queue.length) { $("message").textContent = T.wait_sync; return; }
      return fetch("/test/submit/", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ lease: data.lease })
      }).then(function (r) {
        if (r.ok) { localStorage.removeItem(KEY); window.location.reload(); }
        else if (r.status === 409) { closed = true; timeUp(T.moved); }  // the pupil went on elsewhere
      });
    }).catch(function () { $("message").textContent = T.wait_sync; });
  }
  $("submit").addEventListener("click", function () { submit(true); });

  var lastTry = 0;
  function tick() {
    var left = Math.max(0, Math.ceil((ends - serverNow()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    $("countdown").textContent = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    if (left === 0 && !ended) timeUp(T.time_up);
    if (left === 0 && !closed && Date.now() - lastTry > 10000) {  // time is up: submit, again until it works
      lastTry = Date.now(); submit(false);
    }
  }
  setInterval(tick, 1000);

  palette(); render(); showSync(); tick(); flush();
})();
