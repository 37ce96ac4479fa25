// Sorting and filtering of the computed tables (progress, 优质均衡): click a header to sort (numbers
// by data-sort, else the text), type or choose in a .table-filters bar to filter rows by their
// data-* attributes or text.  Rows stay in the page: these tables have at most a few hundred rows.
(function () {
  function key(cell) {
    if (!cell) return "";
    var v = cell.getAttribute("data-sort");
    if (v === null) v = cell.textContent.trim();
    var n = parseFloat(v);
    return v !== "" && !isNaN(n) && /^-?[\d.]+(e-?\d+)?$/.test(v) ? n : v;
  }
  function sortBy(table, th) {
    var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return !r.classList.contains("pinned"); });
    rows.sort(function (a, b) {
      var x = key(a.cells[idx]), y = key(b.cells[idx]);
      if (x === "" || x === "—") return 1;
      if (y === "" || y === "—") return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh")) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th) {
      if (th.classList.contains("nosort")) return;
      th.tabIndex = 0;
      th.title = document.documentElement.lang.indexOf("zh") === 0 ? "点击排序" : "click to sort";
      th.addEventListener("click", function () { sortBy(table, th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(table, th); });
    });
  });
  document.querySelectorAll(".table-filters").forEach(function (bar) {
    var table = document.getElementById(bar.dataset.table);
    if (!table) return;
    var count = bar.querySelector(".shown");
    function apply() {
      var fields = bar.querySelectorAll("[data-field]");
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        var ok = Array.prototype.every.call(fields, function (f) {
          var v = f.value.trim();
          if (!v) return true;
          if (f.dataset.field === "text") return r.textContent.indexOf(v) >= 0;
          return (r.dataset[f.dataset.field] || "") === v;
        });
        r.hidden = !ok;
        if (ok) shown++;
      });
      if (count) count.textContent = String(shown);
    }
    bar.addEventListener("input", apply);
    bar.addEventListener("change", apply);
    apply();
  });
})();
