"""`prefect server start` (SQLite, temporary home) + `seagull serve` + `prefect deployment run --watch`:
the README's commands, end to end, give the same shards as an in-process build."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest


@pytest.mark.slow
def test_served_deployment_runs_from_the_prefect_cli(reference_build: Path, tools, services, tmp_path: Path):
    services.start_prefect_server()
    serve = services.start("seagull", "serve")
    deployment = f"{services.api}/deployments/name/seagull-100w/build-100w"
    services.wait(lambda: services.answers(deployment), serve, 120, "seagull serve")
    out = tmp_path / "served"
    params = {"source": str(tools.SMALL_RAW), "out": str(out), **tools.SMALL}
    command = [
        str(services.BIN / "prefect"),
        "deployment",
        "run",
        "seagull-100w/build-100w",
        "--watch",
        "--watch-timeout",
        "400",
    ]
    for name, value in params.items():
        command += ["--param", f"{name}={json.dumps(value) if not isinstance(value, str) else value}"]
    run = subprocess.run(command, env=services.env, capture_output=True, text=True, timeout=450)
    assert "Completed" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    assert tools.report(out)["ok"]
    assert tools.digests(out) == tools.digests(reference_build)
