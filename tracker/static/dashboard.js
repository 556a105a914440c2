/* The dashboard's charts: each element with data-chart-url gets its panels from that JSON
 * endpoint and draws them with the vendored ECharts (no inline script: the CSP forbids it).
 * Every value carries the URL of the list it counts; clicking a bar, a point or a number in
 * the table under the chart opens that list. The toolbox saves a chart as PNG offline.
 */
(function () {
  "use strict";

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function option(panel, labels) {
    var category = {type: "category", data: panel.categories,
                    axisLabel: {interval: "auto", hideOverlap: true}};
    var value = {type: "value", name: panel.unit || ""};
    if (panel.horizontal) { category.inverse = true; }
    return {
      animation: false,
      tooltip: {trigger: "axis"},
      legend: {type: "scroll", top: 0},
      grid: {left: 8, right: 24, top: 56, bottom: 8, containLabel: true},
      toolbox: {right: 0, top: 24, feature: {saveAsImage: {title: labels.save, name: panel.id,
                                                           type: "png", pixelRatio: 2}}},
      xAxis: panel.horizontal ? value : category,
      yAxis: panel.horizontal ? category : value,
      series: panel.series.map(function (s) {
        return {
          name: s.name, type: panel.kind, stack: s.stack || undefined,
          emphasis: {focus: "series"}, cursor: "pointer",
          data: s.values.map(function (v, i) { return {value: v, url: s.urls[i]}; })
        };
      })
    };
  }

  function table(panel, labels) {
    var details = el("details", null, "mt-2 chart-table");
    details.appendChild(el("summary", labels.table, "small text-muted"));
    var wrap = el("div", null, "table-responsive");
    var t = el("table", null, "table table-sm small mb-0");
    var head = el("tr");
    head.appendChild(el("th", labels.item));
    panel.series.forEach(function (s) { head.appendChild(el("th", s.name, "num")); });
    var thead = el("thead");
    thead.appendChild(head);
    t.appendChild(thead);
    var body = el("tbody");
    panel.categories.forEach(function (category, i) {
      var row = el("tr");
      row.appendChild(el("td", category));
      panel.series.forEach(function (s) {
        var cell = el("td", null, "num");
        var v = s.values[i];
        var text = v === null || v === undefined ? "—" : v.toLocaleString();
        if (s.urls[i] && v !== null && v !== undefined) {
          var a = el("a", text);
          a.href = s.urls[i];
          a.setAttribute("data-series", s.name);
          a.setAttribute("data-category", category);
          cell.appendChild(a);
        } else {
          cell.textContent = text;
        }
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    t.appendChild(body);
    wrap.appendChild(t);
    details.appendChild(wrap);
    return details;
  }

  function draw(card, data) {
    var labels = {item: card.getAttribute("data-label-item"),
                  save: card.getAttribute("data-label-save"),
                  table: card.getAttribute("data-label-table")};
    var holder = card.querySelector(".chart-panels");
    holder.textContent = "";
    var age = card.querySelector(".chart-age");
    if (age) {
      age.textContent = card.getAttribute("data-label-age") + " " + data.computed_local;
    }
    if (!data.panels.length) {
      holder.appendChild(el("div", card.getAttribute("data-label-empty"), "col text-muted small"));
    }
    data.panels.forEach(function (panel) {
      var col = el("div", null, "col-lg-6 chart-panel");
      col.id = panel.id;
      col.appendChild(el("h2", panel.title, "h6 mb-1"));
      if (panel.note) { col.appendChild(el("div", panel.note, "small text-muted mb-1")); }
      var canvas = el("div", null, "chart-canvas");
      var rows = panel.horizontal ? Math.max(panel.categories.length, 3) : 0;
      canvas.style.height = (panel.horizontal ? 80 + rows * 36 : 320) + "px";
      col.appendChild(canvas);
      col.appendChild(table(panel, labels));
      holder.appendChild(col);
      if (!panel.categories.length || typeof echarts === "undefined") { return; }
      var chart = echarts.init(canvas);
      chart.setOption(option(panel, labels));
      chart.on("click", function (p) {
        if (p.data && p.data.url) { window.location.href = p.data.url; }
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
    card.setAttribute("data-loaded", "1");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var cards = document.querySelectorAll("[data-chart-url]");
    Array.prototype.forEach.call(cards, function (card) {
      fetch(card.getAttribute("data-chart-url"), {credentials: "same-origin"})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) { draw(card, data); })
        .catch(function () {
          var holder = card.querySelector(".chart-panels");
          holder.textContent = "";
          holder.appendChild(el("div", card.getAttribute("data-label-failed"),
                                "col text-danger small"));
          card.setAttribute("data-loaded", "error");
        });
    });
  });
})();
