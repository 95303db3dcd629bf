// CostWidget: session cost, project spend against budget as a bar, a per-model table.
// Money arrives formatted from the kernel (summary_text, budget_text, each row's cost).

function render({ model, el }) {
  el.classList.add("qlayer-cost");
  const summary = document.createElement("div");
  summary.className = "qlayer-cost-summary";
  const budget = document.createElement("div");
  budget.className = "qlayer-cost-budget";
  const track = document.createElement("div");
  track.className = "qlayer-cost-track";
  const bar = document.createElement("div");
  bar.className = "qlayer-cost-bar";
  track.appendChild(bar);
  const table = document.createElement("table");
  table.className = "qlayer-cost-table";
  el.append(summary, budget, track, table);

  function update() {
    const spend = model.get("project_spend_usd");
    const limit = model.get("budget_usd");
    summary.textContent = model.get("summary_text");
    budget.textContent = model.get("budget_text");
    if (limit) {
      const pct = Math.min(100, (100 * spend) / limit);
      bar.style.width = `${pct}%`;
      bar.dataset.level = pct >= 90 ? "high" : pct >= 70 ? "mid" : "low";
      track.style.display = "";
    } else {
      track.style.display = "none";
    }
    const rows = model.get("rows") || [];
    table.replaceChildren();
    const head = table.insertRow();
    for (const name of ["model", "calls", "tokens in", "tokens out", "cost"]) {
      const th = document.createElement("th");
      th.textContent = name;
      head.appendChild(th);
    }
    for (const row of rows) {
      const tr = table.insertRow();
      for (const value of [row.model, row.calls, row.tokens_in, row.tokens_out, row.cost]) {
        tr.insertCell().textContent = String(value);
      }
    }
  }
  model.on("change", update);
  update();
  return () => model.off("change", update);
}

export default { render };
