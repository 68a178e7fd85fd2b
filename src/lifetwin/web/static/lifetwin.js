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
  const box = document.getElementById("job");
  if (!box) return;
  const url = box.dataset.jobUrl;
  const state = document.getElementById("job-state");
  const summary = document.getElementById("job-summary");
  const tick = () => fetch(url, { credentials: "same-origin" }).then((r) => r.json()).then((job) => {
    state.textContent = job.state + ": " + job.read.toLocaleString() + " values read";
    if (job.state === "running") { setTimeout(tick, 500); return; }
    box.dataset.state = job.state;
    if (job.error) { summary.innerHTML = ""; const p = document.createElement("p"); p.className = "error"; p.textContent = job.error; summary.appendChild(p); }
    if (job.summary) {
      const s = job.summary;
      const p = document.createElement("p");
      p.textContent = `${s.format}: read ${s.read}, stored ${s.stored} new, ${s.duplicates} already there, ${s.quarantined} quarantined, ${s.problem_count} problems.`;
      summary.appendChild(p);
      const list = document.createElement("ul");
      for (const problem of s.problems) {
        const li = document.createElement("li");
        li.textContent = `${problem.file}${problem.line ? " line " + problem.line : ""}: ${problem.reason}`;
        list.appendChild(li);
      }
      summary.appendChild(list);
    }
  });
  tick();
}
window.addEventListener("DOMContentLoaded", () => {
  for (const id of ["timeline", "tir", "agp", "forecast"]) draw(id);
  for (const el of document.querySelectorAll(".chart[data-chart]")) draw(el.id);  // packs' charts
  followImport();
});
