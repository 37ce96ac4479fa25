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
         data: rows.map(function (r) { return r.pupils ? pct(r.pupils_questionnaire / r.pupils) : 0; })},
        {name: zh ? "有学业数据学生" : "pupils with academic data", type: "bar",
         data: rows.map(function (r) { return r.pupils ? pct((r.pupils_academic || 0) / r.pupils) : 0; })}
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

  // academic results: the shares at 水平Ⅰ–Ⅳ stacked.  With parts that have reported estimates
  // (cities, counties): one subject at a time, a bar for the region and one per part; when every
  // part is withheld by the minimum reporting rule (a county's schools): one bar per subject.
  var a = document.getElementById("academic-chart");
  if (a) get(a.dataset.src, function (d) {
    var subjects = d.overall.map(function (r) { return r.subject; });
    if (!subjects.length) return;
    var chart = echarts.init(a);
    var levels = [["level1", "水平Ⅰ", "Level I"], ["level2", "水平Ⅱ", "Level II"], ["level3", "水平Ⅲ", "Level III"],
                  ["level4", "水平Ⅳ", "Level IV"]];
    function plot(rows, names, title) {
      chart.setOption({animation: false, tooltip: {trigger: "axis"}, legend: {}, grid: {left: 50, right: 20, bottom: 110},
        title: {text: title, left: "center", top: 24, textStyle: {fontSize: 14}},
        xAxis: {type: "category", data: names, axisLabel: {rotate: names.length > 8 ? 45 : 0, interval: 0}},
        yAxis: {type: "value", max: 100, name: "%"},
        series: levels.map(function (l) {
          return {name: zh ? l[1] : l[2], type: "bar", stack: "levels",
                  data: rows.map(function (r) { return pct(r[l[0]]); })};
        })}, true);
      a.dataset.bars = String(rows.length);
    }
    var reported = d.parts.some(function (r) { return r.level1 != null; });
    if (!reported) {
      plot(d.overall, subjects, "");
      a.dataset.subject = "";
      a.dataset.ready = "1";
      return;
    }
    var bar = document.createElement("div");
    bar.className = "subject-switch";
    a.parentNode.insertBefore(bar, a);
    function draw(subject) {
      var total = Object.assign({name: zh ? "合计" : "total"},
                                d.overall.filter(function (r) { return r.subject === subject; })[0]);
      var rows = [total].concat(d.parts.filter(function (r) { return r.subject === subject && r.level1 != null; }));
      plot(rows, rows.map(function (r) { return r.name; }), subject);
      a.dataset.subject = subject;
      Array.prototype.forEach.call(bar.children, function (b) { b.classList.toggle("on", b.textContent === subject); });
    }
    subjects.forEach(function (s) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = s;
      b.addEventListener("click", function () { draw(s); });
      bar.appendChild(b);
    });
    draw(subjects[0]);
    a.dataset.ready = "1";
  });
})();
