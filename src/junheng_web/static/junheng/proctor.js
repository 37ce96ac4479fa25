// The proctor's console: refresh the pupils' states, counts and end times every 10 s
// (GET status.json); the actions themselves are plain forms.  A form is sent once: a second
// click while the first is on its way does nothing (a courtesy; the server refuses a form sent
// twice by its key and the state it was rendered against).
(function () {
  "use strict";
  const me = document.currentScript;
  for (const form of document.querySelectorAll("form.act")) {
    form.addEventListener("submit", (e) => {
      if (form.dataset.sent) e.preventDefault();
      else form.dataset.sent = "1";
    });
  }
  // a page shown again from the browser's history may act again (the server still checks)
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form.act")) delete form.dataset.sent;
  });
  const url = me.dataset.url;
  const words = JSON.parse(me.dataset.words);
  function time(iso) {
    return new Date(iso).toLocaleTimeString("zh-CN", {hour12: false});
  }
  async function refresh() {
    try {
      const r = await fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (!r.ok) return;
      const data = await r.json();
      for (const [k, n] of Object.entries(data.counts)) {
        const el = document.querySelector(`[data-count="${k}"]`);
        if (el) el.textContent = n;
      }
      document.getElementById("room").dataset.state = data.room;
      for (const row of data.rows) {
        const tr = document.querySelector(`tr[data-pupil="${row.key}"]`);
        if (!tr) continue;
        if (tr.dataset.state !== row.state) {
          tr.dataset.state = row.state;
          tr.querySelector(".state").textContent = words[row.state] || row.state;
        }
        tr.querySelector(".changes").textContent = row.changes;
        tr.querySelector(".ends").textContent = time(row.ends_at);
        tr.querySelector(".late").textContent = row.late ? row.late + " · " + time(row.late_last) : "";
      }
    } catch (e) {
      // offline for a moment: the next poll tries again
    }
  }
  setInterval(refresh, 10000);
})();
