// ProgressWidget: done/total bar, passed/failed, cost so far, ETA, and a Cancel button.
// Money and durations arrive formatted from the kernel (one formatting function there).
//
// A busy kernel does not hear a click until its cell ends, so Cancel goes through the
// Jupyter server when the batch has a job record (job_id): POST /qlayer/api/jobs/<id>/cancel
// sets the flag file the batch checks before each call. Without a job record Cancel is
// hidden while the batch runs; the stop button is the way to stop it then.
function fmtSeconds(s) {
  if (s === null || s === undefined) return "";
  if (s < 60) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

function pageConfig() {
  const node = document.getElementById("jupyter-config-data");
  if (!node) return {};
  try {
    return JSON.parse(node.textContent || "{}");
  } catch (_) {
    return {};
  }
}

function xsrfToken() {
  const match = document.cookie.match("\\b_xsrf=([^;]*)\\b");
  return match ? decodeURIComponent(match[1]) : "";
}

async function cancelThroughServer(jobId) {
  const config = pageConfig();
  const base = (config.baseUrl || "/").replace(/\/?$/, "/");
  const headers = { "Content-Type": "application/json" };
  const xsrf = xsrfToken();
  if (xsrf) headers["X-XSRFToken"] = xsrf;
  if (config.token) headers["Authorization"] = `token ${config.token}`;
  const response = await fetch(`${base}qlayer/api/jobs/${encodeURIComponent(jobId)}/cancel`, {
    method: "POST",
    headers,
    credentials: "same-origin",
    body: "{}",
  });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
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
  let failure = "";
  cancel.addEventListener("click", async () => {
    const jobId = model.get("job_id");
    if (!jobId) return;
    cancel.disabled = true;
    cancel.textContent = "Cancelling…";
    try {
      await cancelThroughServer(jobId);
      failure = "";
    } catch (error) {
      failure = `Cancel failed (${error.message}); use the stop button.`;
      cancel.disabled = false;
      cancel.textContent = "Cancel";
    }
    update();
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
    const parts = [`${model.get("passed")} ok`];
    if (model.get("failed")) parts.push(`${model.get("failed")} failed`);
    parts.push(model.get("cost_text"));
    const eta = model.get("eta_s");
    if (status === "running" && eta !== null) parts.push(`ETA ${fmtSeconds(eta)}`);
    else if (status !== "running") parts.push(`${status} in ${fmtSeconds(model.get("elapsed_s"))}`);
    stats.textContent = parts.join(" · ");
    last.textContent = failure || model.get("last");
    const running = status === "running";
    const reachable = Boolean(model.get("job_id"));
    // Done, or no way to reach the batch while the kernel is busy: no Cancel to press.
    cancel.style.display = running && reachable ? "" : "none";
    if (model.get("cancel_requested")) {
      cancel.disabled = true;
      cancel.textContent = "Cancelling…";
    }
    if (!running) cancel.disabled = true;
  }
  model.on("change", update);
  update();
  return () => model.off("change", update);
}

export default { render };
