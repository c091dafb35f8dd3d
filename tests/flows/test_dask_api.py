"""The docs/build.md Dask recipe end to end: a real Prefect server, `dask scheduler`, `dask worker`
(each with PREFECT_API_URL) and `seagull build --dask-address`: the chunk task runs, which run on the
worker, appear in the flow run's API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
TINY = ["--types", "blur", "--levels", "1", "--size", "64", "--chunk-size", "1"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _wait(check, process: subprocess.Popen, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        assert process.poll() is None, f"{what}: {process.args} exited with {process.returncode}"
        time.sleep(1)
    raise AssertionError(f"{what} did not come up within {seconds} s")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@pytest.mark.slow
def test_dask_chunks_report_to_the_flows_prefect_api(tools, tmp_path: Path):
    api_port, dask_port = _free_port(), _free_port()
    api = f"http://127.0.0.1:{api_port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "OMP_NUM_THREADS": "1",
    }
    log = open(tmp_path / "services.log", "w")  # noqa: SIM115
    started = []

    def start(*command: str) -> subprocess.Popen:
        process = subprocess.Popen(
            command, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
        )
        started.append(process)
        return process

    try:
        server = start(
            str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(api_port)
        )
        scheduler = start(
            str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(dask_port), "--no-dashboard"
        )
        address = f"tcp://127.0.0.1:{dask_port}"
        _wait(lambda: _port_open(dask_port), scheduler, 180, "dask scheduler")
        worker = start(
            str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"
        )
        _wait(
            lambda: urllib.request.urlopen(f"{api}/health", timeout=2).status == 200, server, 240, "prefect"
        )
        out = tmp_path / "out"
        build = subprocess.run(
            [
                str(BIN / "seagull"),
                "build",
                "--raw-dir",
                str(tools.SMALL_RAW),
                "--out",
                str(out),
                "--dask-address",
                address,
                *TINY,
            ],
            env=env,
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
    finally:
        for process in reversed(started):
            _stop(process)
        log.close()
