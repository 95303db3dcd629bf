"""How often the offline model ``qlayer/recipes`` writes code that runs correctly.

Each line of ``benchmarks/data/recipe_requests.jsonl`` is a realistic request that names
notebook variables and columns (worded apart from the recipes' own descriptions), the sample
tables it needs (built below, a few rows each) and an expectation. For every request the
benchmark calls ``qlayer.generate(request, context={...})`` as a notebook user would, runs
the code with those variables defined (in a temporary folder), then runs the expectation.

Figures:

- **retrieved**: the intended recipe answered;
- **code**: code came back at all;
- **ran**: the code ran without an exception;
- **correct**: it ran and the expectation held (the headline figure).

The anchor is the same requests sent without a context (the model then only has the words
of the request), so the gain from reading the notebook is visible.

A second table runs the library's own suite (one task per recipe: its first description as
the request, its test's setup and check), once as ``qlayer eval recipes`` sends it (the
request alone) and once with the tables the setup builds passed as context, which is what a
notebook user's ``--context`` gives the model, and once with the request that states the
values the test checks (``llm/_recipe_suite.task_prompt``).

Run: ``python benchmarks/recipes_quality.py [--verbose] [--only ID]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "recipe_requests.jsonl"


def sample_frames() -> dict[str, Any]:
    """The small tables the requests refer to."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    months = ["2024-01", "2024-02", "2024-03"]
    sales = pd.DataFrame(
        [
            {"month": m, "region": r, "product": p, "revenue": float(10 * i + 3 * j + k),
             "units": int(1 + i + j + k)}
            for i, m in enumerate(months, 1)
            for j, r in enumerate(["north", "south"])
            for k, p in enumerate(["tea", "coffee"])
        ]
    )
    sales_2023 = sales.assign(month=lambda d: d["month"].str.replace("2024", "2023"))
    orders = pd.DataFrame(
        {
            "order_id": range(1, 9),
            "customer_id": [1, 2, 1, 3, 4, 2, 9, 1],
            "order_date": ["2024-01-03", "2024-01-15", "2024-02-01", "2024-02-20",
                           "2024-03-02", "2024-03-09", "2024-03-15", "2024-03-30"],
            "amount": [120.0, 80.0, 45.5, 300.0, 99.0, 150.0, 20.0, 101.0],
            "status": ["paid", "paid", "refunded", "paid", "open", "paid", "open", "paid"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 4],
            "name": [" Ann Lee", "Bob Stone ", "CARA Diaz", "Dan Wu", "Dan Wu"],
            "country": ["FR", "DE", "FR", "US", "US"],
            "email": ["ann@example.com", "bob@example.com", "cara@example.com",
                      "dan@example.com", "dan@example.com"],
        }
    )
    employees = pd.DataFrame(
        {
            "name": ["a", "b", "c", "d", "e", "f"],
            "department": ["ops", "ops", "sales", "sales", "it", "it"],
            "salary": [50.0, 55.0, 61.0, 58.0, 70.0, 72.0],
            "age": [31.0, None, 45.0, 28.0, None, 39.0],
            "hire_date": ["2020-01-01", "2021-06-01", "2019-03-15", "2022-09-01",
                          "2018-01-10", "2023-02-01"],
            "end_date": ["2024-01-01", "2024-06-01", "2024-03-15", "2024-09-01",
                         "2024-01-10", "2024-02-01"],
        }
    )
    visits = pd.DataFrame(
        {"date": pd.date_range("2024-01-01", periods=21, freq="D"),
         "visits": rng.integers(10, 50, 21)}
    )
    reviews = pd.DataFrame(
        {
            "review_id": [1, 2, 3, 4],
            "text": ["delivery was late again", "great tea, fast delivery", "late and cold",
                     "lovely coffee"],
            "rating": [1, 5, 2, 5],
            "notes": ["contact ann@example.com", "none", "cc bob@example.com", ""],
        }
    )
    n = 40
    churn = pd.DataFrame(
        {
            "tenure": rng.integers(1, 60, n),
            "monthly_charges": rng.normal(60, 15, n).round(2),
            "support_calls": rng.integers(0, 6, n),
        }
    )
    churn["churned"] = ((churn["support_calls"] > 2) | (churn["tenure"] < 6)).astype(int)
    houses = pd.DataFrame({"area": rng.normal(100, 25, n).round(1), "rooms": rng.integers(1, 6, n)})
    houses["price"] = (houses["area"] * 3 + houses["rooms"] * 20 + rng.normal(0, 5, n)).round(1)
    raw = pd.DataFrame({"Order ID": [1, 2, 3], "Price Text": ["1.5", "2", "x"],
                        "price_text": ["1.5", "2", "3.25"]})
    scores = pd.DataFrame({"student": ["a", "b", "c"], "math": [1, 2, 3], "art": [3, 2, 1]})
    posts = pd.DataFrame({"title": ["Hello World!", "Tea & Coffee: a Guide"],
                          "tags": ["a,b", "b,c,d"]})
    return {
        "sales": sales, "sales_2023": sales_2023, "orders": orders, "customers": customers,
        "employees": employees, "visits": visits, "reviews": reviews, "churn": churn,
        "houses": houses, "raw": raw, "scores": scores, "posts": posts,
    }


def load_requests() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def run_one(case: dict[str, Any], frames: dict[str, Any], with_context: bool) -> dict[str, Any]:
    """Generate, execute and check one request in a fresh temporary folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import quantumlayer_nb as qlayer

    row: dict[str, Any] = {"id": case["id"], "retrieved": False, "code": False, "ran": False,
                           "correct": False, "error": None}
    originals = {name: frame.copy() for name, frame in frames.items()}
    variables = {name: frames[name].copy() for name in case.get("frames", [])}
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            for file_name, frame_name in case.get("files", {}).items():
                frames[frame_name].to_csv(file_name, index=False)
            result = qlayer.generate(
                case["request"], context=variables if with_context and variables else None,
                cache=False,
            )
            row["recipe"] = result.text.split("# recipe: ", 1)[-1].split(" ", 1)[0]
            row["retrieved"] = row["recipe"] == case["recipe"]
            if result.code is None:
                row["error"] = result.text[:160]
                return row
            row["code"] = True
            namespace: dict[str, Any] = {"__name__": "__main__", **variables, "ORIG": originals}
            try:
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("ignore")
                    exec(compile(result.code, f"<{case['id']}>", "exec"), namespace)
                row["ran"] = True
                exec(compile(case["expect"], f"<expect {case['id']}>", "exec"), namespace)
                row["correct"] = True
            except Exception as exc:  # any failure is a benchmark result
                row["error"] = f"{type(exc).__name__}: {str(exc)[:140]}"
        finally:
            plt.close("all")
            os.chdir(previous)
    return row


def library_suite(with_context: bool, stated: bool = False) -> float:
    """Share of the library's own tasks whose generated code passes the recipe's check."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from quantumlayer_nb._context import compose_user_message, describe_context
    from quantumlayer_nb.llm._recipe_answer import answer
    from quantumlayer_nb.llm._recipe_index import get_index
    from quantumlayer_nb.llm._recipe_suite import task_prompt

    passed = total = 0
    previous = os.getcwd()
    for recipe in get_index().recipes:
        if recipe.test is None:
            continue
        total += 1
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)
            namespace: dict[str, Any] = {"__name__": "__main__"}
            try:
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("ignore")
                    exec(compile(recipe.test.setup, "<setup>", "exec"), namespace)
                    frames = {k: v for k, v in namespace.items()
                              if type(v).__name__ == "DataFrame"}
                    context = describe_context(frames) if with_context and frames else None
                    request = task_prompt(recipe) if stated else recipe.descriptions[0]
                    reply = answer(compose_user_message(request, context))
                    code = reply.text.removeprefix("```python\n").removesuffix("```")
                    if reply.kind != "code":
                        continue
                    exec(compile(code, "<generated>", "exec"), namespace)
                    exec(compile(recipe.test.check, "<check>", "exec"), namespace)
                passed += 1
            except Exception:  # a failed task is a benchmark result
                pass
            finally:
                plt.close("all")
                os.chdir(previous)
    return passed / (total or 1)


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    total = len(rows) or 1
    return {key: sum(bool(r[key]) for r in rows) / total
            for key in ("retrieved", "code", "ran", "correct")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="one line per request")
    parser.add_argument("--only", default=None, help="run one request id")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    os.environ.pop("OPENAI_API_KEY", None)
    with tempfile.TemporaryDirectory() as project:
        os.chdir(project)  # a fresh project: offline default, its own ledger
        frames = sample_frames()
        cases = [c for c in load_requests() if args.only in (None, c["id"])]
        figures = {}
        for label, with_context in (("with context", True), ("anchor: no context", False)):
            rows = [run_one(case, frames, with_context) for case in cases]
            figures[label] = summarise(rows)
            if args.verbose:
                for row in rows:
                    mark = "ok " if row["correct"] else "BAD"
                    print(f"  {mark} {label[:6]} {row['id']:<22} {row.get('recipe', '-'):<30} "
                          f"{row['error'] or ''}", file=sys.stderr)
        suite = {"request only (as qlayer eval recipes)": library_suite(False),
                  "with the setup's tables as context": library_suite(True),
                  "request stating the test's values": library_suite(False, stated=True)}
    if args.json:
        print(json.dumps({"requests": len(cases), **figures, "library suite": suite}, indent=2))
        return
    print(f"qlayer/recipes on {len(cases)} notebook requests (benchmarks/data/recipe_requests.jsonl)")
    print(f"{'':<20} {'retrieved':>10} {'code':>8} {'ran':>8} {'correct':>8}")
    for label, values in figures.items():
        print(f"{label:<20} " + " ".join(f"{values[k]:>9.0%}" if k == "retrieved"
                                         else f"{values[k]:>8.0%}"
                                         for k in ("retrieved", "code", "ran", "correct")))
    print("\nthe library's own suite (one task per recipe), share passing its check:")
    for label, value in suite.items():
        print(f"  {label:<40} {value:>6.0%}")


if __name__ == "__main__":
    main()
