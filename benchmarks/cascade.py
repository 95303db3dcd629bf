"""Cost per solved task: a test-verified cascade against always using the strong model.

HumanEval (all 164 tasks), two loopback deployments scripted to solve a share of the tasks
(``LoopbackServer.solve(p, exact=True)``: the canonical solution for exactly p of the tasks,
a seeded choice independent per model, a wrong answer for the others; ``--per-task-draws``
draws each task with probability p instead): ``cheap`` (p = 0.70, 1/20 of the price) and
``strong`` (p = 0.95). In one run, each in a fresh project with the default settings:

* the anchor: ``evaluate(humaneval(), models=["strong"])``;
* the cascade: ``evaluate(humaneval(), models=["cascade"])``, a ``policy = "cascade"`` route
  over ``["cheap", "strong"]``: each stage's code runs in the sandbox against the task's
  visible tests (the docstring's examples), a failure escalates, and pass@1 is scored on the
  full tests.

Target: the cascade >= 97% pass@1 at <= 40% of always-strong's cost (ideal: about 98.5% at
35%). Both EvalReports print, with the cascade's stages and cost per solved task.

    python benchmarks/cascade.py [--cheap 0.70] [--strong 0.95] [--seed 0] [--tasks 164]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

STRONG_PRICE = 2e-6  # USD per token, in and out
CHEAP_PRICE = STRONG_PRICE / 20


def project_toml(url: str) -> str:
    deployments = "".join(
        f'[deployments.{name}]\nmodel = "openai/{name}"\napi_base = "{url}"\n'
        f"input_cost_per_token = {price}\noutput_cost_per_token = {price}\n"
        for name, price in (("cheap", CHEAP_PRICE), ("strong", STRONG_PRICE)))
    return ('project = "bench"\nuser = "bench"\n' + deployments
            + '[routes.cascade]\npolicy = "cascade"\ndeployments = ["cheap", "strong"]\n')


def run_in_fresh_project(url: str, model: str, tasks: int) -> tuple[object, float]:
    from quantumlayer_nb.eval import evaluate, humaneval

    folder = Path(tempfile.mkdtemp(prefix="qlayer-cascade-"))
    (folder / "qlayer.toml").write_text(project_toml(url))
    old = os.getcwd()
    os.chdir(folder)  # the settings follow the working folder
    try:
        suite = humaneval()
        if tasks < len(suite):
            suite = suite.subset([task.id for task in suite.tasks[:tasks]])
        started = time.perf_counter()
        report = evaluate(suite, models=[model], data_dir=folder / ".qlayer")
        return report, time.perf_counter() - started
    finally:
        os.chdir(old)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cheap", type=float, default=0.70, help="share cheap solves")
    parser.add_argument("--strong", type=float, default=0.95, help="share strong solves")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=164)
    parser.add_argument("--per-task-draws", action="store_true",
                        help="a draw per task (the share solved varies with the seed) "
                        "instead of exactly the given shares")
    args = parser.parse_args()

    import pandas as pd

    from quantumlayer_nb.testing import LoopbackServer

    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    with LoopbackServer.spawn() as server:
        exact = not args.per_task_draws
        server.solve(args.cheap, model="cheap", seed=args.seed, exact=exact)
        server.solve(args.strong, model="strong", seed=args.seed, exact=exact)
        strong, strong_s = run_in_fresh_project(server.url, "strong", args.tasks)
        cascade, cascade_s = run_in_fresh_project(server.url, "cascade", args.tasks)
        solved = server.stats()["solved"]

    strong_row = strong.summary.iloc[0]  # type: ignore[attr-defined]
    cascade_row = cascade.summary.iloc[0]  # type: ignore[attr-defined]
    ratio = cascade_row["cost_usd"] / strong_row["cost_usd"]
    how = "a draw per task" if args.per_task_draws else "exactly that share of the 164"
    print(f"HumanEval, {args.tasks} tasks; scripted: cheap solves {args.cheap:.0%}, strong "
          f"{args.strong:.0%} ({how}, seed {args.seed}); cheap costs 1/20 of strong\n")
    print(f"{'':34}{'pass@1':>8}{'cost USD':>12}{'cost/solved':>13}{'wall s':>9}")
    print(f"{'cascade cheap->strong (default)':34}{cascade_row['pass@1']:>8.3f}"
          f"{cascade_row['cost_usd']:>12.6f}{cascade_row['cost per solved']:>13.7f}"
          f"{cascade_s:>9.1f}")
    print(f"{'always strong (anchor, same run)':34}{strong_row['pass@1']:>8.3f}"
          f"{strong_row['cost_usd']:>12.6f}{strong_row['cost per solved']:>13.7f}"
          f"{strong_s:>9.1f}")
    print(f"\ncascade cost / always-strong cost: {ratio:.1%} (target <= 40%); cascade pass@1 "
          f"{cascade_row['pass@1']:.1%} (target >= 97%)")
    print("\nCascade report (EvalReport.cascade):")
    print(cascade.cascade.to_string(index=False))  # type: ignore[attr-defined]
    print("\nScripted answers served (solved / wrong):",
          {model: f"{v['solved']}/{v['wrong']}" for model, v in solved.items()})


if __name__ == "__main__":
    main()
