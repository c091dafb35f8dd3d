"""The docs/build.md Dask recipe end to end: a real Prefect server, `dask scheduler`, `dask worker`
(each with PREFECT_API_URL) and `seagull build --dask-address`: the chunk task runs, which run on the
worker, appear in the flow run's API."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

TINY = ["--types", "blur", "--levels", "1", "--size", "64", "--chunk-size", "1"]


def _post(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_dask_chunks_report_to_the_flows_prefect_api(tools, services, tmp_path: Path):
    dask_port, api = services.free_port(), services.api
    server = services.start_prefect_server()
    scheduler = services.start(
        "dask", "scheduler", "--host", "127.0.0.1", "--port", str(dask_port), "--no-dashboard"
    )
    address = f"tcp://127.0.0.1:{dask_port}"
    services.wait(lambda: services.port_open(dask_port), scheduler, 180, "dask scheduler")
    worker = services.start("dask", "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard")
    assert server.poll() is None
    out = tmp_path / "out"
    build = subprocess.run(
        [
            str(services.BIN / "seagull"),
            "build",
            "--raw-dir",
            str(tools.SMALL_RAW),
            "--out",
            str(out),
            "--dask-address",
            address,
            *TINY,
        ],
        env=services.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert worker.poll() is None
    flow_runs = _post(f"{api}/flow_runs/filter", {"flows": {"name": {"any_": ["seagull-100w"]}}})
    assert len(flow_runs) == 1 and flow_runs[0]["state_type"] == "COMPLETED"
    task_runs = _post(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_runs[0]["id"]]}}})
    chunks = {run["name"]: run["state_type"] for run in task_runs if run["name"].startswith("chunk-")}
    assert chunks == {f"chunk-{i:06d}": "COMPLETED" for i in range(tools.N_REFS)}
