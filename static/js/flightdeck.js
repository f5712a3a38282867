// The portal's only script besides htmx and plotly.js. Pages carry no inline scripts or event
// handler attributes, so the Content-Security-Policy can say script-src 'self'.
(function () {
  "use strict";

  // Charts: reporting.charts.figure_html writes a <div data-plotly="ID"> and a JSON data block
  // <script type="application/json" id="ID"> (data, not code: CSP lets it be).
  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-plotly]").forEach(function (element) {
      var spec = document.getElementById(element.dataset.plotly);
      if (!spec || element.dataset.drawn) return;
      element.dataset.drawn = "1";
      var figure = JSON.parse(spec.textContent);
      Plotly.newPlot(element, figure[0], figure[1], figure[2]).then(function () {
        // Inside [data-chart-links] a click on a point opens the page in its customdata.
        if (!element.closest("[data-chart-links]")) return;
        element.on("plotly_click", function (event) {
          var url = event.points && event.points[0] && event.points[0].customdata;
          if (typeof url === "string" && url.charAt(0) === "/") window.location.href = url;
        });
      });
    });
  }

  // <select data-autosubmit>: choosing an option submits its form.
  function autosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.autosubmitBound) return;
      select.dataset.autosubmitBound = "1";
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  // The CI source form shows only the fields the chosen kind uses (without script every field
  // shows; the server ignores the ones a kind does not use).
  function sourceKindFields(root) {
    var kind = root.querySelector("#source-form #id_kind");
    if (!kind || kind.dataset.kindBound) return;
    kind.dataset.kindBound = "1";
    function show() {
      document.querySelectorAll("#source-form [data-kinds]").forEach(function (row) {
        row.hidden = row.dataset.kinds.split(" ").indexOf(kind.value) < 0;
      });
    }
    kind.addEventListener("change", show);
    show();
  }

  function enhance(root) {
    drawCharts(root);
    autosubmit(root);
    sourceKindFields(root);
  }

  // Deferred: the document is parsed when this runs. htmx:load covers swapped-in fragments
  // (the DORA dashboard's charts arrive that way).
  enhance(document);
  document.addEventListener("htmx:load", function () { enhance(document); });
})();
