// Apache ECharts for the progress and results pages; data comes from the pages' JSON endpoints,
// the same figures as the tables beside the charts. ECharts is served locally (static/vendor).
(function () {
  if (typeof echarts === "undefined") return;
  var zh = (document.documentElement.lang || "zh-hans").indexOf("zh") === 0;
  function get(url, fn) { fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(fn); }
  function pct(v) { return v == null ? null : Math.round(v * 1000) / 10; }

  // Many parts (200 schools, 157 counties) stay readable: one horizontal row per part, sorted so
  // the laggards come first, the chart as tall as its rows (the page scrolls), names never rotated
  // or dropped; the whole's figure is a vertical line.
  function rowsHeight(el, n) {
    var h = Math.max(260, n * 22 + 90);
    el.style.height = h + "px";
    return h;
  }
  function horizontal(el, names, series, opts) {
    rowsHeight(el, names.length);
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.resize();
    chart.setOption({animation: false, tooltip: {trigger: "axis", axisPointer: {type: "shadow"}}, legend: {top: 0},
      grid: {left: 10, right: 40, top: 58, bottom: 24, containLabel: true},
      yAxis: {type: "category", data: names, inverse: true, axisLabel: {interval: 0, fontSize: 12}},
      xAxis: {type: "value", min: 0, max: opts.max || 100, name: opts.unit || "%"},
      series: series}, true);
    el.dataset.rows = String(names.length);
    el.dataset.ready = "1";
    return chart;
  }
  function wholeLine(value, label) {
    return value == null ? undefined : {symbol: "none", silent: true, lineStyle: {color: "#b22a2a", type: "dashed"},
      // the label stands level above the line's top (its start), between the legend and the bars (along the
      // line it would be drawn rotated over the bars)
      label: {formatter: label + " " + value + "%", position: "start", distance: 6, color: "#b22a2a"},
      data: [{xAxis: value}]};
  }

  var p = document.getElementById("progress-chart");
  if (p) get(p.dataset.src, function (d) {
    if (d.schools && d.schools.length) {  // a county: each school's fitness and questionnaire completion
      var rows = d.schools.map(function (r) {
        return {name: r.name, fit: r.pupils ? pct(r.pupils_fitness / r.pupils) : 0,
                q: r.pupils ? pct(r.pupils_questionnaire / r.pupils) : 0};
      }).sort(function (a, b) { return (a.fit + a.q) - (b.fit + b.q); });
      horizontal(p, rows.map(function (r) { return r.name; }), [
        {name: zh ? "有体测数据学生" : "pupils with fitness data", type: "bar", data: rows.map(function (r) { return r.fit; })},
        {name: zh ? "有问卷数据学生" : "pupils with questionnaire data", type: "bar", data: rows.map(function (r) { return r.q; })}
      ], {});
      return;
    }
    // the province: its cities; a city: its counties; a county: its own row
    var parts = d.totals.filter(function (r) { return r.level === "city"; });
    var rows2 = (d.counties.length > 1 && !(parts.length > 1) ? d.counties : parts.length > 1 ? parts : d.counties)
      .map(function (r) { return {name: r.name, v: pct(r.report_rate)}; })
      .sort(function (a, b) { return (a.v == null ? -1 : a.v) - (b.v == null ? -1 : b.v); });
    var whole = d.totals.length ? d.totals[d.totals.length - 1] : null;
    var ref = whole ? pct(whole.report_rate) : null;
    horizontal(p, rows2.map(function (r) { return r.name; }), [
      {name: zh ? "上报率" : "reporting rate", type: "bar", data: rows2.map(function (r) {
        // a laggard (10 points or more below the whole, as in the table) in red
        return {value: r.v, itemStyle: ref != null && r.v != null && r.v < ref - 10 ? {color: "#b22a2a"} : undefined};
      }),
       markLine: whole && rows2.length > 1 ? wholeLine(pct(whole.report_rate), zh ? "合计" : "total") : undefined}
    ], {});
  });

  // fitness rates of the parts: a dot per part and rate with its ±1.96·SE whisker, sorted by 达标率
  var c = document.getElementById("rates-chart");
  if (c) get(c.dataset.src, function (d) {
    var parts = d.parts.slice().sort(function (a, b) { return (a.pass_rate || 0) - (b.pass_rate || 0); });
    var names = parts.map(function (r) { return r.name; });
    var defs = [["pass_rate", "达标率", "pass rate"], ["good_rate", "优良率", "good rate"],
                ["excellent_rate", "优秀率", "excellent rate"]];
    var series = [];
    defs.forEach(function (s) {
      series.push({name: zh ? s[1] : s[2], type: "scatter", symbolSize: 9,
                   data: parts.map(function (r) { return pct(r[s[0]]); })});
      series.push({name: zh ? s[1] : s[2], type: "custom", silent: true, encode: {x: [1, 2], y: 0},
        data: parts.map(function (r, i) {
          var se = r[s[0] + "_se"];
          return se == null || r[s[0]] == null ? [i, null, null] : [i, pct(r[s[0]] - 1.96 * se), pct(r[s[0]] + 1.96 * se)];
        }),
        renderItem: function (params, api) {
          if (api.value(1) == null || isNaN(api.value(1))) return;
          var lo = api.coord([api.value(1), api.value(0)]), hi = api.coord([api.value(2), api.value(0)]);
          return {type: "line", shape: {x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1]},
                  style: {stroke: api.visual("color"), lineWidth: 1.5}};
        }});
    });
    if (d.overall) series[0].markLine = wholeLine(pct(d.overall.pass_rate), zh ? "合计达标率" : "total pass rate");
    horizontal(c, names, series, {});
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
      if (names.length > 8) {  // many parts: one horizontal stacked bar each, as tall as needed
        rowsHeight(a, names.length);
        chart.resize();
        chart.setOption({animation: false, tooltip: {trigger: "axis", axisPointer: {type: "shadow"}}, legend: {top: 0},
          title: {text: title, left: "center", top: 24, textStyle: {fontSize: 14}},
          grid: {left: 10, right: 30, top: 56, bottom: 24, containLabel: true},
          yAxis: {type: "category", data: names, inverse: true, axisLabel: {interval: 0}},
          xAxis: {type: "value", max: 100, name: "%"},
          series: levels.map(function (l) {
            return {name: zh ? l[1] : l[2], type: "bar", stack: "levels",
                    data: rows.map(function (r) { return pct(r[l[0]]); })};
          })}, true);
        a.dataset.bars = String(rows.length);
        return;
      }
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
