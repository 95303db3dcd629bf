"""Scoring on a Dask cluster (a LocalCluster of worker processes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quantumlayer_nb.eval import evaluate, humaneval

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    import asyncio

    loop = asyncio.new_event_loop()  # a loop for dask, whatever an async test left behind
    asyncio.set_event_loop(loop)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as dask_client:
        yield dask_client
    asyncio.set_event_loop(asyncio.new_event_loop())  # not None: later tests ask for one too
    loop.close()


def test_samples_scored_on_dask_match_local(client: Any, tmp_path: Path) -> None:
    suite = humaneval().subset([f"HumanEval/{i}" for i in range(6)])
    path = tmp_path / "samples.jsonl"
    with path.open("w") as handle:
        for task in suite:
            completion = task.canonical_solution if task.id.endswith(("0", "2", "4")) \
                else "    return None\n"
            handle.write(json.dumps({"task_id": task.id, "completion": completion}) + "\n")
    on_dask = evaluate(suite, samples=path, executor="dask", client=client,
                       data_dir=tmp_path / "dask")
    local = evaluate(suite, samples=path, data_dir=tmp_path / "local")
    assert on_dask.pass_at_k("samples:samples.jsonl") == 0.5
    assert on_dask.per_task.equals(local.per_task)


def test_dask_workers_run_samples_in_the_sandbox(client: Any, tmp_path: Path) -> None:
    suite = humaneval().subset(["HumanEval/0"])
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0",
                                "completion": "    while True:\n        pass\n"}) + "\n")
    from quantumlayer_nb.eval import SandboxLimits

    report = evaluate(suite, samples=path, executor="dask", client=client,
                      data_dir=tmp_path, limits=SandboxLimits(timeout_s=1))
    assert report.samples["outcome"].tolist() == ["timeout"]
