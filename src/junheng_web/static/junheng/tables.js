// Sorting, filtering and paging of the computed tables (progress, results, 优质均衡): click a header
// to sort (numbers by data-sort, else the text), type or choose in a .table-filters bar to filter
// rows by their data-* attributes or text.  Rows stay in the page — these tables have at most a few
// hundred rows (the counties of the province, the sampled schools of a county) — and are shown
// PAGE at a time with a pager under the table; a long table without a filter bar gets a text filter.
(function () {
  var PAGE = 50;
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  function page(table) {
    // show the rows of the current page among those the filter keeps (data-out: filtered out)
    var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (r) { return !r.hasAttribute("data-out"); });
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    var at = Math.min(Math.max(parseInt(table.dataset.page || "0", 10), 0), pages - 1);
    table.dataset.page = String(at);
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) { r.hidden = true; });
    rows.forEach(function (r, i) { r.hidden = Math.floor(i / PAGE) !== at; });
    var pager = table.pager;
    if (!pager) return;
    pager.hidden = pages < 2;
    pager.querySelector(".at").textContent = (zh ? "第 " + (at + 1) + " / " + pages + " 页，共 " + rows.length + " 行"
      : "page " + (at + 1) + " of " + pages + ", " + rows.length + " rows");
    pager.querySelector(".prev").disabled = at === 0;
    pager.querySelector(".next").disabled = at >= pages - 1;
  }
  function pageable(table) {
    if (table.pager || table.tBodies[0].rows.length <= PAGE) return;
    var pager = document.createElement("div");
    pager.className = "pager";
    pager.innerHTML = '<button type="button" class="prev"></button> <span class="at"></span> <button type="button" class="next"></button>';
    pager.querySelector(".prev").textContent = zh ? "上一页" : "previous";
    pager.querySelector(".next").textContent = zh ? "下一页" : "next";
    pager.querySelector(".prev").addEventListener("click", function () { table.dataset.page = String(+table.dataset.page - 1); page(table); });
    pager.querySelector(".next").addEventListener("click", function () { table.dataset.page = String(+table.dataset.page + 1); page(table); });
    table.parentNode.insertBefore(pager, table.nextSibling);
    table.pager = pager;
    if (!table.id || !document.querySelector('.table-filters[data-table="' + table.id + '"]')) {
      // a long list without its own filter bar: a text filter over its rows
      if (!table.id) table.id = "table-" + Math.random().toString(36).slice(2);
      var bar = document.createElement("div");
      bar.className = "table-filters";
      bar.dataset.table = table.id;
      bar.innerHTML = '<input data-field="text"> <span class="hint"></span>';
      var input = bar.querySelector("input");
      input.placeholder = zh ? "按名称或代码筛选" : "filter by name or code";
      input.setAttribute("aria-label", input.placeholder);
      bar.querySelector(".hint").innerHTML = (zh ? "显示 " : "shown ") + '<b class="shown"></b> / ' + table.tBodies[0].rows.length;
      table.parentNode.insertBefore(bar, table);
    }
  }
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
    table.dataset.page = "0";
    page(table);
  }
  document.querySelectorAll("table.sortable, table.academic").forEach(pageable);
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
        if (ok) r.removeAttribute("data-out"); else r.setAttribute("data-out", "");
        if (ok) shown++;
      });
      if (count) count.textContent = String(shown);
      table.dataset.page = "0";
      page(table);
    }
    bar.addEventListener("input", apply);
    bar.addEventListener("change", apply);
    apply();
  });
  document.querySelectorAll("table.sortable, table.academic").forEach(function (table) {
    if (table.tBodies.length && !table.dataset.page) page(table);
  });
})();
