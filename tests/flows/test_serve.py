"""`prefect server start` (SQLite, temporary home) + `seagull serve` + `prefect deployment run --watch`:
the README's commands, end to end, give the same shards as an in-process build."""

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_for(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(url):
            return
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        time.sleep(1)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@pytest.mark.slow
def test_served_deployment_runs_from_the_prefect_cli(reference_build: Path, tools, tmp_path: Path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "OMP_NUM_THREADS": "1",
    }
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("server", "serve")}  # noqa: SIM115
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        start_new_session=True,
        stdout=logs["server"],
        stderr=subprocess.STDOUT,
    )
    serve = None
    try:
        _wait_for(f"{api}/health", server, 180)
        serve = subprocess.Popen(
            [str(BIN / "seagull"), "serve"],
            env=env,
            start_new_session=True,
            stdout=logs["serve"],
            stderr=subprocess.STDOUT,
        )
        _wait_for(f"{api}/deployments/name/seagull-100w/build-100w", serve, 120)
        out = tmp_path / "served"
        params = {"source": str(tools.SMALL_RAW), "out": str(out), **tools.SMALL}
        command = [
            str(BIN / "prefect"),
            "deployment",
            "run",
            "seagull-100w/build-100w",
            "--watch",
            "--watch-timeout",
            "400",
        ]
        for name, value in params.items():
            command += ["--param", f"{name}={json.dumps(value) if not isinstance(value, str) else value}"]
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=450)
        assert "Completed" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
        assert tools.report(out)["ok"]
        assert tools.digests(out) == tools.digests(reference_build)
    finally:
        for process in (serve, server):
            if process is not None:
                _stop(process)
        for log in logs.values():
            log.close()
