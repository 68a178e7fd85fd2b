// LifeTwin dashboard: draws the charts whose data the page carries as JSON, and follows an import.
"use strict";
function chartData(id) {
  const el = document.getElementById("chart-" + id);
  return el ? JSON.parse(el.textContent) : null;
}
function draw(id) {
  const spec = chartData(id);
  const target = document.getElementById(id);
  if (!spec || !target || typeof Plotly === "undefined") return;
  const layout = Object.assign({ margin: { l: 50, r: 10, t: 10, b: 40 }, showlegend: true,
    legend: { orientation: "h" }, font: { family: "system-ui, sans-serif" } }, spec.layout || {});
  Plotly.newPlot(target, spec.data, layout, { responsive: true, displaylogo: false });
  target.dataset.drawn = "true";
}
function followImport() {
  // The page shows a finished import itself (with the real counts); while one runs, poll
  // it and load the page again when it ends.
  const box = document.getElementById("job");
  if (!box || box.dataset.state !== "running") return;
  const url = box.dataset.jobUrl;
  const state = document.getElementById("job-state");
  const tick = () => fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then((job) => {
    if (job.state === "running") {
      state.textContent = "Importing: " + job.read.toLocaleString() + " values read so far";
      setTimeout(tick, 500);
      return;
    }
    window.location.reload();
  });
  tick();
}
window.addEventListener("DOMContentLoaded", () => {
  for (const id of ["timeline", "tir", "agp", "forecast"]) draw(id);
  for (const el of document.querySelectorAll(".chart[id], .chart[data-chart]")) if (!el.dataset.drawn) draw(el.id);
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  followImport();
});
