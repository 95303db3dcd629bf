"""Per-call cost of project enforcement, against the loopback server.

Measures in one run, each next to its anchor:

- the project lookup with no ``[projects]`` table, next to a plain dict lookup;
- ``qlayer.generate`` (cache off) with no ``[projects]`` table, next to the same call with
  ``[projects.NAME]`` setting allowed_models, rpm, tokens_per_day and usd_per_month (the
  quota counters are one sqlite transaction per call, shared by processes).

    python benchmarks/projects.py [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def median_us(call: Callable[[], object], calls: int, warmup: int = 20) -> float:
    from routing import p50  # the same timing loop as the router's benchmark, in ms

    return p50(call, calls, warmup) * 1000


def write_config(folder: Path, url: str, projects: str) -> None:
    (folder / "qlayer.toml").write_text(
        'project = "bench"\nuser = "bench"\ndefault_route = "loop"\n'
        f'[deployments.loop]\nmodel = "openai/gpt-4o-mini"\napi_base = "{url}"\n{projects}'
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    calls = parser.parse_args().calls

    import quantumlayer_nb as qlayer
    from quantumlayer_nb.config import get_settings, reset_configuration
    from quantumlayer_nb.routing import projects
    from quantumlayer_nb.testing import LoopbackServer

    with LoopbackServer.spawn() as srv, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)
        write_config(folder, srv.url, "")
        reset_configuration()
        settings = get_settings()
        plain: dict[str, int] = {}
        lookup = median_us(lambda: projects.config_for(settings), calls * 50)
        anchor = median_us(lambda: plain.get("bench"), calls * 50)
        print(f"project lookup, no [projects]: {lookup:8.3f} us   | dict.get: {anchor:8.3f} us")

        counter = iter(range(10**9))
        bare = median_us(lambda: qlayer.generate(f"p {next(counter)}", cache=False), calls)
        write_config(folder, srv.url, (
            '[projects.bench]\nallowed_models = ["loop"]\nrpm = 1000000\n'
            "tokens_per_day = 1000000000\nusd_per_month = 1000000\n"))
        reset_configuration()
        enforced = median_us(lambda: qlayer.generate(f"q {next(counter)}", cache=False), calls)
        print(f"generate, all project limits:  {enforced / 1000:8.3f} ms   "
              f"| generate, no [projects]: {bare / 1000:8.3f} ms "
              f"(+{(enforced - bare) / 1000:.3f} ms)")


if __name__ == "__main__":
    main()
