"""generate_many on a Dask cluster: `executor=client.get_executor()` on a LocalCluster."""

from __future__ import annotations

from pathlib import Path

import pytest

import quantumlayer_nb as qlayer
from quantumlayer_nb.ledger.query import events
from quantumlayer_nb.testing import LoopbackServer

distributed = pytest.importorskip("dask.distributed")
pytestmark = pytest.mark.slow


@pytest.mark.usefixtures("event_loop_for_dask")
def test_generate_many_runs_on_a_local_cluster_executor(
    loop_project: Path, loopback_server: LoopbackServer
) -> None:
    prompts = [f"write function number {i}" for i in range(6)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        results = qlayer.generate_many(prompts, model="loop", format="text", workers=2,
                                       executor=client.get_executor())
    assert len(results) == 6
    assert all(not isinstance(r, BaseException) and r.text for r in results)
    assert loopback_server.request_count == 6
    calls = events(loop_project / ".qlayer").filter("kind = 'call'").fetchall()
    assert len(calls) == 6
