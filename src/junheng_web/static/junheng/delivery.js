/* The pupil's test page (plain JS, no framework).
 *
 * Every answer change goes first to localStorage and into a queue; the queue is POSTed to
 * /test/answers/ (JSON, CSRF token) and an entry leaves the queue only when the server has
 * acknowledged its UUID.  The queue is replayed on page load, on the browser's `online` event,
 * after every change and every few seconds, so nothing is lost while the network or the server
 * is away.  Each change carries a UUID (a replay is a no-op on the server) and a sequence number
 * (the server keeps the highest: last write wins by seq, whatever order requests arrive in).
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
  Object.keys(data.answers).forEach(function (id) {
    var s = data.answers[id], mine = state.answers[id];
    if (!mine || mine.seq < s.seq) state.answers[id] = { raw: s.raw, seq: s.seq };
  });
  state.seq = Math.max(state.seq, data.max_seq);
  function persist() { localStorage.setItem(KEY, JSON.stringify(state)); }
  persist();

  function change(itemId, raw) {
    var cur = state.answers[itemId];
    if (cur && cur.raw === raw) return;
    state.seq += 1;
    state.answers[itemId] = { raw: raw, seq: state.seq };
    state.queue.push({ id: uuid4(), item: itemId, raw: raw, seq: state.seq });
    persist();  // written locally before anything is sent
    showSync(); paletteMarks();
    flush();
  }

  // --- the queue -------------------------------------------------------------------------------
  var inflight = null, closed = false, retry = 2000, timer = null;
  function flush() {  // a promise that settles when this round of sending is over
    if (inflight) return inflight;
    if (closed || state.queue.length === 0) { showSync(); return Promise.resolve(); }
    var batch = state.queue.slice(0, 200);
    inflight = fetch("/test/answers/", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ answers: batch })
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      inflight = null;
      if (res.status === 200) {
        var acked = {};
        res.body.ack.forEach(function (id) { acked[id] = true; });
        state.queue = state.queue.filter(function (e) { return !acked[e.id]; });
        persist(); retry = 2000; $("message").textContent = "";
        if (state.queue.length) return flush();
      } else if (res.status === 409) {
        closed = true; $("message").textContent = res.body.error || T.closed;
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

  var debounce = null;
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
        clearTimeout(debounce);
        debounce = setTimeout(function () { change(it.id, ta.value); }, 500);
      });
      ta.addEventListener("blur", function () { clearTimeout(debounce); change(it.id, ta.value); });
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
    $("prev").disabled = state.current === 0;
    $("next").disabled = state.current === items.length - 1;
    $("flag").setAttribute("aria-pressed", state.flags[it.id] ? "true" : "false");
    $("flag").textContent = state.flags[it.id] ? T.flagged : T.flag;
    paletteMarks();
  }
  function go(k) {
    var ta = $("item").querySelector("textarea");
    if (ta) { clearTimeout(debounce); change(items[state.current].id, ta.value); }
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
      return fetch("/test/submit/", { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
        .then(function (r) {
          if (r.ok) { localStorage.removeItem(KEY); window.location.reload(); }
        });
    }).catch(function () { $("message").textContent = T.wait_sync; });
  }
  $("submit").addEventListener("click", function () { submit(true); });

  var skew = Date.parse(data.now) - Date.now(), ends = Date.parse(data.ends_at), lastTry = 0;
  function tick() {
    var left = Math.max(0, Math.floor((ends - (Date.now() + skew)) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    $("countdown").textContent = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    if (left === 0 && !closed && Date.now() - lastTry > 10000) {  // time is up: submit, again until it works
      lastTry = Date.now(); $("message").textContent = T.time_up; submit(false);
    }
  }
  setInterval(tick, 1000);

  palette(); render(); showSync(); tick(); flush();
})();
