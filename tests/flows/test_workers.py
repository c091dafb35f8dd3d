"""Bounded concurrency: the flow builds at most `workers` chunks at once even on Prefect's default
(unbounded) thread pool, as the served deployment runs; its parameters carry descriptions."""

from __future__ import annotations

import threading

from flows import build_100w as module
from pipeline.build_config import BuildConfig
from pipeline.chunk import ChunkResult, ChunkSpec


def test_deployment_parameters_include_workers_and_all_have_descriptions():
    properties = module.build_100w.parameters.properties
    assert "workers" in properties
    missing = [name for name, spec in properties.items() if not spec.get("description")]
    assert missing == []
    assert "cores" in properties["workers"]["description"]


def test_chunks_at_once_never_exceed_workers_on_the_default_thread_pool(
    prefect_server, monkeypatch, tmp_path
):
    from prefect import flow
    from prefect.task_runners import ThreadPoolTaskRunner

    changed, state = threading.Condition(), {"running": 0, "most": 0}

    def fake_chunk(spec, config, progress=None):
        with changed:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
            changed.notify_all()
            # Stay until a third chunk runs beside this one (an unbounded pool) or a second passes.
            changed.wait_for(lambda: state["running"] > 2, timeout=1.0)
            state["running"] -= 1
        return ChunkResult(spec.index, "f", [])

    monkeypatch.setattr(module, "process_chunk", fake_chunk)
    chunks = [ChunkSpec(i, (f"/raw/{i}.dng",)) for i in range(6)]
    config = BuildConfig(source="raw", out=str(tmp_path))

    @flow(task_runner=ThreadPoolTaskRunner())  # max_workers None: Prefect's unbounded default
    def run_all(workers: int) -> list[int]:
        results, errors = module._run_chunks(chunks, [], config, workers)
        assert errors == {}
        return [r.index for r in results]

    assert run_all(2) == list(range(6))
    assert 1 <= state["most"] <= 2
