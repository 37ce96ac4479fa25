// Apache ECharts for the progress and results pages; data comes from the pages' JSON endpoints,
// the same figures as the tables beside the charts. ECharts is served locally (static/vendor).
(function () {
  if (typeof echarts === "undefined") return;
  var zh = (document.documentElement.lang || "zh-hans").indexOf("zh") === 0;
  function get(url, fn) { fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(fn); }
  function pct(v) { return v == null ? null : Math.round(v * 1000) / 10; }

  var p = document.getElementById("progress-chart");
  if (p) get(p.dataset.src, function (d) {
    // many counties (a province): one bar per city; otherwise one per county
    var rows = d.counties.length > 30 ? d.totals.filter(function (r) { return r.level === "city"; }) : d.counties;
    var names = rows.map(function (r) { return r.name; });
    echarts.init(p).setOption({animation: false,
      tooltip: {trigger: "axis"}, legend: {},
      grid: {left: 50, right: 20, bottom: 110},
      xAxis: {type: "category", data: names, axisLabel: {rotate: names.length > 8 ? 45 : 0, interval: 0}},
      yAxis: {type: "value", max: 100, name: "%"},
      series: [
        {name: zh ? "已交名册学校" : "schools with roster", type: "bar",
         data: rows.map(function (r) { return r.schools ? pct(r.schools_with_roster / r.schools) : 0; })},
        {name: zh ? "有体测数据学生" : "pupils with fitness data", type: "bar",
         data: rows.map(function (r) { return r.pupils ? pct(r.pupils_fitness / r.pupils) : 0; })},
        {name: zh ? "有问卷数据学生" : "pupils with questionnaire data", type: "bar",
         data: rows.map(function (r) { return r.pupils ? pct(r.pupils_questionnaire / r.pupils) : 0; })}
      ]
    });
  });

  var c = document.getElementById("rates-chart");
  if (c) get(c.dataset.src, function (d) {
    var names = d.parts.map(function (r) { return r.name; });
    var series = [["pass_rate", "达标率", "pass rate"], ["good_rate", "优良率", "good rate"],
                  ["excellent_rate", "优秀率", "excellent rate"]].map(function (s) {
      return {name: zh ? s[1] : s[2], type: "bar", data: d.parts.map(function (r) { return pct(r[s[0]]); })};
    });
    echarts.init(c).setOption({animation: false, tooltip: {trigger: "axis"}, legend: {}, grid: {left: 50, right: 20, bottom: 110},
      xAxis: {type: "category", data: names, axisLabel: {rotate: names.length > 8 ? 45 : 0, interval: 0}}, yAxis: {type: "value", max: 100, name: "%"},
      series: series});
  });
})();
