"""``EvalReport``: pass@k, cost and latency per model and task, plots, HTML and Markdown."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantumlayer_nb.eval._store import SAMPLE_COLUMNS, samples_relation
from quantumlayer_nb.eval.passk import mean_pass_at_k

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["EvalReport"]


class EvalReport:
    """The results of an evaluation, as DataFrames and plots.

    Attributes:
        samples: one row per sample and round (typed columns, see ``SAMPLE_COLUMNS``).
        suite: the suite's name.
        models: the models compared.
        k: the k values of pass@k.
        elapsed_s: wall-clock seconds of the run that built the report.
        stopped_for_budget: whether generation stopped because the budget ran out.
        cancelled: whether the run was cancelled (``cancel_event`` or KeyboardInterrupt)
            before every sample started; run it again to do the rest.
    """

    def __init__(self, samples: pd.DataFrame, suite: str, models: list[str], k: list[int],
                 *, elapsed_s: float = 0.0, stopped_for_budget: bool = False,
                 cancelled: bool = False, cascades: list[str] | None = None) -> None:
        self.samples = samples
        self.suite = suite
        self.models = models
        self.k = k
        self.elapsed_s = elapsed_s
        self.stopped_for_budget = stopped_for_budget
        self.cancelled = cancelled
        self.cascades = list(cascades or [])

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], suite: str, *, models: list[str],
                  k: list[int] | None = None, elapsed_s: float = 0.0,
                  stopped_for_budget: bool = False, cancelled: bool = False,
                  cascades: list[str] | None = None) -> EvalReport:
        """Build the report from the sample rows an evaluation just recorded (the dicts
        given to ``record_sample``), without reading the ledger back."""
        import pandas as pd

        frame = pd.DataFrame([{column: row.get(column) for column in SAMPLE_COLUMNS}
                              for row in rows], columns=list(SAMPLE_COLUMNS))
        for column in ("sample", "round"):
            frame[column] = frame[column].astype("int64")
        for column in ("final", "passed"):
            frame[column] = frame[column].astype(bool)
        for column in ("duration_ms", "latency_ms", "cost_usd"):
            frame[column] = frame[column].astype("float64")
        frame = frame.sort_values(["task_id", "model", "sample", "round"], kind="stable")
        frame = frame.drop_duplicates(["task_id", "model", "sample", "round"], keep="last")
        return cls(frame.reset_index(drop=True), suite, list(models), k or [1],
                   elapsed_s=elapsed_s, stopped_for_budget=stopped_for_budget,
                   cancelled=cancelled, cascades=cascades)

    @classmethod
    def load(cls, data_dir: Path, suite: str, *, models: list[str] | None = None,
             k: list[int] | None = None, n: int | None = None, elapsed_s: float = 0.0,
             stopped_for_budget: bool = False, cancelled: bool = False,
             cascades: list[str] | None = None) -> EvalReport:
        """Build the report from the samples recorded on the ledger.

        Args:
            data_dir: the project's data folder.
            suite: the suite's name.
            models: only these models (default: every model with samples).
            k: the k values (default ``[1]``).
            n: only samples ``0..n-1`` of each task (default: all).
            elapsed_s: wall-clock seconds of the run.
            stopped_for_budget: whether the run stopped because the budget ran out.
            cancelled: whether the run was cancelled before every sample started.
            cascades: which of the models are cascade routes (default: those whose
                samples record the stages they went through).
        """
        relation = samples_relation(data_dir)
        quoted = suite.replace("'", "''")
        frame = relation.filter(f"suite = '{quoted}'").order("task_id, model, sample, round").df()
        if models is not None:
            frame = frame[frame["model"].isin(models)]
        if n is not None:
            frame = frame[frame["sample"] < n]
        frame = frame.drop_duplicates(["task_id", "model", "sample", "round"], keep="last")
        chosen = models if models is not None else sorted(frame["model"].unique())
        if cascades is None:
            cascades = sorted(frame.loc[frame["stages"].notna(), "model"].unique())
        return cls(frame.reset_index(drop=True), suite, list(chosen), k or [1],
                   elapsed_s=elapsed_s, stopped_for_budget=stopped_for_budget,
                   cancelled=cancelled, cascades=cascades)

    def _final(self) -> pd.DataFrame:
        return self.samples[self.samples["final"].astype(bool)]

    def pass_at_k(self, model: str, k: int = 1, *, first_round: bool = False) -> float:
        """Mean unbiased pass@k of ``model`` over tasks (``nan`` without enough samples)."""
        frame = self.samples[self.samples["round"] == 0] if first_round else self._final()
        frame = frame[frame["model"] == model]
        grouped = frame.groupby("task_id")["passed"].agg(["count", "sum"])
        return mean_pass_at_k(((int(r["count"]), int(r["sum"])) for _, r in grouped.iterrows()), k)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per model: tasks, samples, pass@k (after repair and first try), cost."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for model in self.models:
            mine = self.samples[self.samples["model"] == model]
            row: dict[str, Any] = {"model": model, "tasks": mine["task_id"].nunique(),
                                   "samples": int(mine["final"].astype(bool).sum())}
            for k in self.k:
                row[f"pass@{k}"] = self.pass_at_k(model, k)
            if (mine["round"] > 0).any():
                for k in self.k:
                    row[f"pass@{k} first try"] = self.pass_at_k(model, k, first_round=True)
                row["repair rounds"] = int((mine["round"] > 0).sum())
            row["cost_usd"] = float(mine["cost_usd"].fillna(0).sum())
            solved = int(mine.loc[mine["final"].astype(bool), "passed"].astype(bool).sum())
            row["cost per solved"] = row["cost_usd"] / solved if solved else float("nan")
            row["tokens"] = int(mine["tokens_in"].fillna(0).sum()
                                + mine["tokens_out"].fillna(0).sum())
            row["mean sandbox ms"] = float(mine["duration_ms"].mean()) if len(mine) else 0.0
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def cascade(self) -> pd.DataFrame:
        """One row per cascade route: pass@1 on the full tests, how often the serving stage
        passed the visible tests, the share of samples that escalated, which stage served
        how often, cost and cost per solved task."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for model in self.cascades:
            mine = self._final()
            mine = mine[mine["model"] == model]
            solved = int(mine["passed"].astype(bool).sum())
            cost = float(self.samples.loc[self.samples["model"] == model, "cost_usd"]
                         .fillna(0).sum())
            stages = mine["stages"].fillna(1).astype(int)
            row: dict[str, Any] = {
                "model": model, "samples": len(mine), "pass@1": self.pass_at_k(model, 1),
                "visible tests passed": float(mine["check_passed"].fillna(False)
                                              .astype(bool).mean()) if len(mine) else 0.0,
                "escalated": float((stages > 1).mean()) if len(mine) else 0.0,
            }
            for deployment, count in mine["deployment"].fillna("?").value_counts().items():
                row[f"served by {deployment}"] = int(count)
            row["cost_usd"] = cost
            row["cost per solved"] = cost / solved if solved else float("nan")
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def per_task(self) -> pd.DataFrame:
        """Pass rate (last round) per task (rows) and model (columns)."""
        final = self._final()
        return final.pivot_table(index="task_id", columns="model", values="passed",
                                 aggfunc="mean")

    @property
    def outcomes(self) -> pd.DataFrame:
        """How many final samples ended in each outcome, per model."""
        return self._final().groupby(["model", "outcome"]).size().unstack(fill_value=0)

    def plot_cost(self) -> Figure:
        """pass@1 against total cost, one point per model."""
        from matplotlib.figure import Figure

        summary = self.summary
        figure = Figure(figsize=(5, 3.5))
        axes = figure.subplots()
        axes.scatter(summary["cost_usd"], summary.get("pass@1", []))
        for _, row in summary.iterrows():
            axes.annotate(str(row["model"]), (row["cost_usd"], row.get("pass@1", 0.0)))
        axes.set_xlabel("cost (USD)")
        axes.set_ylabel("pass@1")
        axes.set_ylim(-0.05, 1.05)
        axes.set_title(f"{self.suite}: pass@1 against cost")
        figure.tight_layout()
        return figure

    def plot_heatmap(self) -> Figure:
        """Pass rate per task (rows) and model (columns)."""
        from matplotlib.figure import Figure

        table = self.per_task
        figure = Figure(figsize=(2 + 1.2 * max(1, len(table.columns)),
                                 1 + 0.18 * max(1, len(table))))
        axes = figure.subplots()
        image = axes.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="RdYlGn",
                            vmin=0, vmax=1)
        axes.set_xticks(range(len(table.columns)), [str(c) for c in table.columns],
                        rotation=30, ha="right")
        axes.set_yticks(range(len(table.index)), [str(i) for i in table.index], fontsize=6)
        figure.colorbar(image, ax=axes, label="pass rate")
        figure.tight_layout()
        return figure

    def to_markdown(self) -> str:
        """The summary and outcomes as Markdown tables."""
        lines = [f"# Evaluation: {self.suite}", ""]
        lines.append(_markdown_table(self.summary))
        if self.cascades:
            lines += ["", "## Cascades", "", _markdown_table(self.cascade)]
        lines += ["", "## Outcomes", "", _markdown_table(self.outcomes.reset_index())]
        if self.stopped_for_budget:
            lines += ["", "Generation stopped early: the budget ran out."]
        if self.cancelled:
            lines += ["", "Cancelled before every sample ran: run the evaluation again to "
                      "do the rest (finished samples are skipped)."]
        return "\n".join(lines) + "\n"

    def to_html(self, path: str | Path | None = None) -> str:
        """A self-contained HTML page (tables and plots); written to ``path`` if given."""
        parts = [f"<h1>Evaluation: {html.escape(self.suite)}</h1>",
                 self.summary.to_html(index=False, float_format="{:.3f}".format)]
        if self.cascades:
            parts += ["<h2>Cascades</h2>",
                      self.cascade.to_html(index=False, float_format="{:.3f}".format)]
        parts += ["<h2>Outcomes</h2>", self.outcomes.to_html()]
        if len(self.samples):
            for figure in (self.plot_cost(), self.plot_heatmap()):
                parts.append(f'<img src="data:image/png;base64,{_png(figure)}"/>')
        page = "<!doctype html><meta charset='utf-8'>\n" + "\n".join(parts)
        if path is not None:
            Path(path).write_text(page)
        return page

    def _repr_html_(self) -> str:
        return str(self.summary.to_html(index=False, float_format="{:.3f}".format))

    def __repr__(self) -> str:
        scores = ", ".join(f"{m}: pass@1={self.pass_at_k(m):.3f}" for m in self.models)
        note = ", cancelled" if self.cancelled else ""
        return f"EvalReport({self.suite!r}, {scores}{note})"


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _markdown_table(frame: pd.DataFrame) -> str:
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
