// Dashboard charts. The figures come from the page itself (a JSON block, not executed), so the page
// needs no inline script and makes no further request.
(function () {
  "use strict";

  function draw() {
    var data = JSON.parse(document.getElementById("dashboard-data").textContent);
    var days = data.days.map(function (d) { return d.day.slice(5); });
    var colours = { answered: "#1f7a4d", fallback: "#d18a00", dontKnow: "#b3261e", pending: "#9aa5b1", accent: "#2f5fd0" };
    var base = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } };

    function rate(part, d) {
      var finished = d.answered + d.fallback + d.dont_know;
      return finished ? Math.round((part / finished) * 1000) / 10 : null;
    }

    new Chart(document.getElementById("chart-outcomes"), {
      type: "bar",
      data: { labels: days, datasets: [
        { label: "answered", data: data.days.map(function (d) { return d.answered; }), backgroundColor: colours.answered },
        { label: "fallback", data: data.days.map(function (d) { return d.fallback; }), backgroundColor: colours.fallback },
        { label: "don't know", data: data.days.map(function (d) { return d.dont_know; }), backgroundColor: colours.dontKnow },
        { label: "pending", data: data.days.map(function (d) { return d.questions - d.answered - d.fallback - d.dont_know; }), backgroundColor: colours.pending }
      ] },
      options: Object.assign({}, base, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } })
    });

    new Chart(document.getElementById("chart-rates"), {
      type: "line",
      data: { labels: days, datasets: [
        { label: "answered %", data: data.days.map(function (d) { return rate(d.answered, d); }), borderColor: colours.answered, spanGaps: true },
        { label: "fallback %", data: data.days.map(function (d) { return rate(d.fallback, d); }), borderColor: colours.fallback, spanGaps: true },
        { label: "don't know %", data: data.days.map(function (d) { return rate(d.dont_know, d); }), borderColor: colours.dontKnow, spanGaps: true }
      ] },
      options: Object.assign({}, base, { scales: { y: { min: 0, max: 100 } } })
    });

    new Chart(document.getElementById("chart-thumbs"), {
      type: "line",
      data: { labels: days, datasets: [{
        label: "👍 %",
        data: data.days.map(function (d) { var n = d.thumbs_up + d.thumbs_down; return n ? Math.round((d.thumbs_up / n) * 1000) / 10 : null; }),
        borderColor: colours.accent, spanGaps: true
      }] },
      options: Object.assign({}, base, { scales: { y: { min: 0, max: 100 } } })
    });

    new Chart(document.getElementById("chart-latency"), {
      type: "line",
      data: { labels: days, datasets: [
        { label: "p50", data: data.days.map(function (d) { return d.p50_ms === null ? null : d.p50_ms / 1000; }), borderColor: colours.accent, spanGaps: true },
        { label: "p95", data: data.days.map(function (d) { return d.p95_ms === null ? null : d.p95_ms / 1000; }), borderColor: colours.dontKnow, spanGaps: true }
      ] },
      options: Object.assign({}, base, { scales: { y: { beginAtZero: true } } })
    });

    var weeks = Array.from(new Set(data.weekly_askers.map(function (w) { return w.week; }))).sort();
    var channels = Array.from(new Set(data.weekly_askers.map(function (w) { return w.channel; }))).sort();
    var palette = ["#2f5fd0", "#1f7a4d", "#d18a00", "#7b3fb5", "#b3261e", "#0f7f8c"];
    new Chart(document.getElementById("chart-askers"), {
      type: "bar",
      data: { labels: weeks, datasets: channels.map(function (channel, i) {
        return { label: channel, backgroundColor: palette[i % palette.length], data: weeks.map(function (week) {
          var row = data.weekly_askers.find(function (w) { return w.week === week && w.channel === channel; });
          return row ? row.askers : 0;
        }) };
      }) },
      options: Object.assign({}, base, { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } })
    });
    new Chart(document.getElementById("chart-cost"), {
      type: "bar",
      data: { labels: data.cost_days.map(function (d) { return d.day.slice(5); }), datasets: [{
        label: data.currency, data: data.cost_days.map(function (d) { return d.cost; }), backgroundColor: colours.accent
      }] },
      options: Object.assign({}, base, { scales: { y: { beginAtZero: true } } })
    });
    document.body.setAttribute("data-charts", "drawn");
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
    draw();
  });
})();
