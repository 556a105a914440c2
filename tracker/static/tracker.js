/* Behaviours the templates ask for with data attributes, so no page needs inline script
 * (the Content-Security-Policy allows scripts from this origin only).
 *   data-confirm="question"     on a form: ask before it submits; on a button: before its click
 *   data-print                  on a button: print the page
 *   data-progress-url="url"     on an element holding #progress-bar and #progress-text: poll the
 *                               job's progress and reload the page when it has finished
 *   class="table-cards"         on a table: cells without data-label get their column's header
 *                               text, shown beside the value when the list stacks as cards
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-confirm], [data-print]") : null;
    if (!target || target.tagName === "FORM") {
      return;
    }
    if (target.hasAttribute("data-print")) {
      window.print();
      return;
    }
    if (!window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  function poll(holder) {
    var url = holder.getAttribute("data-progress-url");
    fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (p.finished) { window.location.reload(); return; }
        var pct = p.total ? Math.round(100 * p.done / p.total) : 0;
        var bar = document.getElementById("progress-bar");
        var text = document.getElementById("progress-text");
        if (bar) { bar.style.width = pct + "%"; }
        if (text) { text.textContent = p.done + " / " + (p.total || "?"); }
        setTimeout(function () { poll(holder); }, 1500);
      })
      .catch(function () { setTimeout(function () { poll(holder); }, 5000); });
  }

  function labelCells(table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) { return; }
    var rows = table.querySelectorAll("tbody > tr");
    for (var r = 0; r < rows.length; r++) {
      var cells = rows[r].children;
      for (var c = 0; c < cells.length && c < heads.length; c++) {
        if (!cells[c].hasAttribute("data-label")) {
          cells[c].setAttribute("data-label", heads[c].textContent.replace(/[▲▼]/g, "").trim());
        }
      }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var lists = document.querySelectorAll("table.table-cards");
    for (var t = 0; t < lists.length; t++) {
      labelCells(lists[t]);
    }
    var holders = document.querySelectorAll("[data-progress-url]");
    for (var i = 0; i < holders.length; i++) {
      poll(holders[i]);
    }
  });
})();

/* data-select-all="form-id" on a checkbox: ticks or clears every name="ids" box of that form
 * on this page (the list's "select all on this page"). */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    var formId = box.getAttribute && box.getAttribute("data-select-all");
    if (!formId) {
      return;
    }
    var boxes = document.querySelectorAll('input[type="checkbox"][name="ids"][form="' + formId + '"]');
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].checked = box.checked;
    }
  });
})();
