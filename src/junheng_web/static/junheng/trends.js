// Trends over cycles: one line per indicator (or subject), each point with its ±1.96·SE bar.
// Data: <script id="trend-data">{"years": [...], "percent": bool,
// "series": [{"name": str, "points": [[year, estimate, se], ...]}]}</script>, drawn in #trend-chart.
(function () {
  var el = document.getElementById("trend-chart");
  var src = document.getElementById("trend-data");
  if (!el || !src || typeof echarts === "undefined") return;
  var d = JSON.parse(src.textContent);
  var k = d.percent ? 100 : 1;
  function r(v) { return v == null ? null : Math.round(v * k * 10) / 10; }
  var series = [];
  d.series.forEach(function (s) {
    series.push({name: s.name, type: "line", symbolSize: 8,
                 data: s.points.map(function (p) { return [String(p[0]), r(p[1])]; })});
    series.push({name: s.name, type: "custom", silent: true, encode: {x: 0, y: [1, 2]},
      data: s.points.filter(function (p) { return p[2] != null; }).map(function (p) {
        return [String(p[0]), r(p[1] - 1.96 * p[2]), r(p[1] + 1.96 * p[2])]; }),
      renderItem: function (params, api) {
        var lo = api.coord([api.value(0), api.value(1)]), hi = api.coord([api.value(0), api.value(2)]);
        var w = 6, style = {stroke: api.visual("color"), lineWidth: 1.5};
        return {type: "group", children: [
          {type: "line", shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]}, style: style},
          {type: "line", shape: {x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1]}, style: style},
          {type: "line", shape: {x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1]}, style: style}]};
      }});
  });
  echarts.init(el).setOption({animation: false, legend: {data: d.series.map(function (s) { return s.name; })},
    tooltip: {trigger: "axis"}, grid: {left: 60, right: 30, top: 60, bottom: 40},
    xAxis: {type: "category", data: d.years.map(String)}, yAxis: {type: "value", scale: true, name: d.percent ? "%" : ""},
    series: series});
  el.dataset.ready = "1";
  el.dataset.lines = String(d.series.length);
})();
