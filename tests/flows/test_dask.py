"""The same build on a Dask LocalCluster (2 worker processes) gives the same bytes as in-process."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_dask_cluster_build_equals_in_process_build(reference_build: Path, tools, tmp_path: Path):
    from distributed import LocalCluster
    from prefect_dask import DaskTaskRunner

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        runner = DaskTaskRunner(address=cluster.scheduler_address)
        state, report = tools.run_flow(tools.SMALL_RAW, tmp_path / "dask", task_runner=runner)
    assert state.is_completed(), report
    assert report["chunks"]["built"] == 3
    assert tools.digests(tmp_path / "dask") == tools.digests(reference_build)
    assert tools.same_manifest(tmp_path / "dask", reference_build)
