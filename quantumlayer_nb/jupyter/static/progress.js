// ProgressWidget: done/total bar, passed/failed, cost so far, ETA, and a Cancel button.
function fmtSeconds(s) {
  if (s === null || s === undefined) return "";
  if (s < 60) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

function render({ model, el }) {
  el.classList.add("qlayer-progress");
  const label = document.createElement("div");
  label.className = "qlayer-progress-label";
  const track = document.createElement("div");
  track.className = "qlayer-progress-track";
  const bar = document.createElement("div");
  bar.className = "qlayer-progress-bar";
  track.appendChild(bar);
  const stats = document.createElement("div");
  stats.className = "qlayer-progress-stats";
  const last = document.createElement("div");
  last.className = "qlayer-progress-last";
  const cancel = document.createElement("button");
  cancel.className = "qlayer-progress-cancel";
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", () => {
    cancel.disabled = true;
    cancel.textContent = "Cancelling…";
    model.set("cancel_requested", true);
    model.save_changes();
    model.send({ event: "cancel" });
  });
  const row = document.createElement("div");
  row.className = "qlayer-progress-row";
  row.append(track, cancel);
  el.append(label, row, stats, last);

  function update() {
    const done = model.get("done");
    const total = model.get("total");
    const status = model.get("status");
    const pct = total ? Math.min(100, (100 * done) / total) : status === "running" ? 0 : 100;
    bar.style.width = `${pct}%`;
    el.dataset.status = status;
    el.dataset.done = String(done);
    const count = total === null ? `${done}` : `${done}/${total}`;
    label.textContent = `${model.get("description")} ${count}`.trim();
    const parts = [
      `${model.get("passed")} ok`,
      `${model.get("failed")} failed`,
      `$${model.get("cost_usd").toFixed(6)}`,
    ];
    const eta = model.get("eta_s");
    if (status === "running" && eta !== null) parts.push(`ETA ${fmtSeconds(eta)}`);
    else if (status !== "running") parts.push(`${status} in ${fmtSeconds(model.get("elapsed_s"))}`);
    stats.textContent = parts.join(" · ");
    last.textContent = model.get("last");
    const stopped = status !== "running" || model.get("cancel_requested");
    cancel.disabled = stopped;
    if (status !== "running") cancel.style.display = "none";
  }
  model.on("change", update);
  update();
  return () => model.off("change", update);
}

export default { render };
