// County maps without tiles: each county-level unit is a dot at its centroid (lon, lat), coloured by
// the chosen indicator.  When the operator has uploaded an approved boundary file, the same values
// colour the counties' shapes instead (a choropleth).  Data: the page's <script id="map-points">.
(function () {
  var el = document.getElementById("county-map");
  var src = document.getElementById("map-points");
  if (!el || !src || typeof echarts === "undefined") return;
  var zh = (document.documentElement.lang || "zh-hans").indexOf("zh") === 0;
  var points = JSON.parse(src.textContent);
  var select = document.getElementById("map-indicator");
  var chart = echarts.init(el);
  var shapes = null;
  var COLORS = {"达到": "#1d7a46", "未达到": "#b22a2a", "无法判定": "#d9a400"};
  function visual(key) {
    var vals = points.map(function (p) { return p[key]; }).filter(function (v) { return v != null; });
    if (vals.length && typeof vals[0] === "string") {
      return {type: "piecewise", left: 10, bottom: 10, dimension: 2, outOfRange: {color: "#c0c6cc"},
              pieces: Object.keys(COLORS).map(function (k, i) { return {value: i, label: k, color: COLORS[k]}; })};
    }
    var lo = Math.min.apply(null, vals.concat([0])), hi = Math.max.apply(null, vals.concat([1]));
    var reversed = key === "cv";  // a high CV is bad
    return {type: "continuous", min: lo, max: hi, calculable: true, left: 10, bottom: 10, dimension: 2,
            inRange: {color: reversed ? ["#1d7a46", "#f2e6a0", "#b22a2a"] : ["#b22a2a", "#f2e6a0", "#1d7a46"]},
            text: [zh ? "高" : "high", zh ? "低" : "low"]};
  }
  function val(p, key) {  // a verdict as its index in COLORS (visualMap pieces), a number as it is
    var v = p[key];
    return typeof v === "string" ? Object.keys(COLORS).indexOf(v) : v;
  }
  function fmt(v) { return v == null ? "—" : typeof v === "number" ? (Math.round(v * 1000) / 1000) : v; }
  function draw() {
    var key = select ? select.value : "value";
    var label = select ? select.options[select.selectedIndex].text : "";
    var vm = visual(key);
    var byName = {};
    points.forEach(function (p) { byName[p.code] = p; byName[p.name] = p; });
    // the tooltip is HTML: every name (the registry's, the boundary file's) and value goes in escaped
    function esc(v) { return echarts.format.encodeHTML(String(v)); }
    function tip(name) { var p = byName[name] || {}; return esc(p.name || name) + (p.city ? "（" + esc(p.city) + "）" : "") + "<br>" + esc(label) + "：" + esc(fmt(p[key])); }
    var tooltip = {formatter: function (p) { return tip(p.name); }};
    if (shapes) {
      vm.dimension = undefined;
      chart.setOption({animation: false, tooltip: tooltip,
        visualMap: vm, series: [{type: "map", map: "junheng-counties", roam: true, nameProperty: "code",
          data: points.map(function (p) { return {name: p.code, value: val(p, key)}; }),
          label: {show: false}, emphasis: {label: {show: false}}}]}, true);
      el.dataset.mode = "choropleth";
    } else {
      var lats = points.map(function (p) { return p.lat; }), lons = points.map(function (p) { return p.lon; });
      var x0 = Math.min.apply(null, lons) - 0.2, x1 = Math.max.apply(null, lons) + 0.2;
      var y0 = Math.min.apply(null, lats) - 0.2, y1 = Math.max.apply(null, lats) + 0.2;
      var k = Math.cos((y0 + y1) / 2 * Math.PI / 180);  // keep the shape: a degree of longitude is shorter
      var h = el.clientHeight - 40, w = Math.min(el.clientWidth - 40, h * (x1 - x0) * k / (y1 - y0));
      chart.setOption({animation: false, tooltip: tooltip, visualMap: vm,
        grid: {width: w, height: h, left: (el.clientWidth - w) / 2, top: 20},
        xAxis: {type: "value", min: x0, max: x1, show: false}, yAxis: {type: "value", min: y0, max: y1, show: false},
        series: [{type: "scatter", symbolSize: points.length > 40 ? 13 : 22,
          data: points.map(function (p) { return {name: p.name, value: [p.lon, p.lat, val(p, key)]}; }),
          label: {show: points.length <= 40, formatter: function (p) { return p.data.name; }, position: "right", fontSize: 11},
          itemStyle: {borderColor: "#fff", borderWidth: 1}}]}, true);
      el.dataset.mode = "dots";
    }
    el.dataset.points = String(points.length);
    el.dataset.ready = "1";
  }
  if (select) select.addEventListener("change", draw);
  var url = el.dataset.boundaries;
  if (!url) { draw(); return; }
  fetch(url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (g) {
    if (g && g.features && g.features.length) { echarts.registerMap("junheng-counties", g); shapes = g; }
    draw();
  }, draw);
})();
