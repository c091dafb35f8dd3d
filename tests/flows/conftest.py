"""Fixtures of the build-flow tests: a small RAW folder, a Prefect test server, a reference build.

Builds here are SMALL (3 references, 256 px, 2 types x 2 levels, one reference per chunk) so that the
whole folder runs in a few minutes on 2 cores.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

N_REFS = 3
SMALL: dict[str, Any] = {"types": ["blur", "noise"], "levels": [1, 20], "size": 256, "chunk_size": 1}
SMALL_CLI = ["--types", "blur,noise", "--levels", "1,20", "--size", "256", "--chunk-size", "1"]


@pytest.fixture(scope="session")
def small_raw(sample_raw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the first 3 sample DNG files."""
    out = tmp_path_factory.mktemp("small_raw")
    for path in sorted(sample_raw_dir.glob("*.dng"))[:N_REFS]:
        shutil.copy(path, out / path.name)
    return out


@pytest.fixture(scope="session")
def prefect_server() -> str:
    """A temporary Prefect API (SQLite) for in-process flows; yields its URL for subprocesses."""
    import prefect.settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield prefect.settings.PREFECT_API_URL.value()


class Tools:
    """Helpers for the tests (conftest modules cannot be imported in importlib mode)."""

    N_REFS = N_REFS
    SMALL = SMALL
    SMALL_CLI = SMALL_CLI

    @staticmethod
    def run_flow(*args: Any, **kwargs: Any) -> tuple[Any, dict]:
        return run_flow(*args, **kwargs)

    @staticmethod
    def report(out: Path) -> dict:
        return read_report(out)

    @staticmethod
    def copy_build(source: Path, target: Path) -> Path:
        """Copy a build folder with its build state (beside it), as a build that can resume."""
        from pipeline.build_state import state_dir

        shutil.copytree(source, target)
        shutil.copytree(state_dir(source), state_dir(target))
        return target

    @staticmethod
    def digests(out: Path) -> dict[str, str]:
        return shard_digests(out)

    @staticmethod
    def keys(out: Path) -> list[str]:
        return shard_keys(out)

    @staticmethod
    def same_manifest(a: Path, b: Path) -> bool:
        """The two builds' manifests hold the same rows (the shard names and keys included)."""
        import pyarrow.parquet as pq

        return pq.read_table(a / "manifest.parquet").equals(pq.read_table(b / "manifest.parquet"))


@pytest.fixture(scope="session")
def tools(small_raw: Path) -> type[Tools]:
    Tools.SMALL_RAW = small_raw
    return Tools


def run_flow(source: Path | str, out: Path, task_runner: Any = None, **params: Any) -> tuple[Any, dict]:
    """Run the build flow in-process; return (final state, build report)."""
    from flows.build_100w import build_100w, with_task_runner

    flow = build_100w.with_options(task_runner=task_runner) if task_runner else with_task_runner(build_100w)
    state = flow(source=str(source), out=str(out), **{**SMALL, **params}, return_state=True)
    return state, read_report(out)


def read_report(out: Path) -> dict:
    """The build report of the folder `out` (in its build state, beside it)."""
    import json

    from pipeline.build_state import report_path

    return json.loads(report_path(out).read_text())


@pytest.fixture(scope="session")
def reference_build(prefect_server: str, small_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted in-process build of `small_raw`: the bytes every other build must match."""
    out = tmp_path_factory.mktemp("reference_build")
    state, report = run_flow(small_raw, out)
    assert state.is_completed(), report
    return out


def shard_digests(out: Path) -> dict[str, str]:
    """{shard name: sha256} of the shards in a build folder."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("seagull100w-*.tar"))}


def shard_keys(out: Path) -> list[str]:
    """Every sample key in the build's shards, in order (duplicates kept, to be counted)."""
    import tarfile

    keys = []
    for path in sorted(out.glob("seagull100w-*.tar")):
        with tarfile.open(path) as tar:
            keys += [m.name.split(".")[0] for m in tar.getmembers() if m.name.endswith(".json")]
    return keys


def prefect_env(api_url: str, home: Path) -> dict[str, str]:
    """The environment of a `seagull build` or Prefect subprocess: the given API, a home of its own, no
    analytics, one OpenMP thread (the chunks are the parallelism)."""
    return {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(home),
        "OMP_NUM_THREADS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


@pytest.fixture
def env(prefect_server: str, tmp_path: Path) -> dict[str, str]:
    """`prefect_env` for a subprocess reporting to the session's test server."""
    return prefect_env(prefect_server, tmp_path / "home")


class Services:
    """Background processes of one test (a Prefect server, a Dask scheduler and worker, `seagull
    serve`): each in its own session with the same environment, all logging to one file, all stopped
    (SIGTERM, then SIGKILL) when the test ends."""

    BIN = Path(sys.executable).parent

    def __init__(self, tmp_path: Path) -> None:
        self.api_port = self.free_port()
        self.api = f"http://127.0.0.1:{self.api_port}/api"
        self.env = prefect_env(self.api, tmp_path / "home")
        self.log = open(tmp_path / "services.log", "w")  # closed in stop_all
        self.started: list[subprocess.Popen] = []

    @staticmethod
    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def start(self, program: str, *args: str) -> subprocess.Popen:
        """Start `program` (a script beside this Python) with `args`, in its own session."""
        command = [str(self.BIN / program), *args]
        process = subprocess.Popen(
            command, env=self.env, start_new_session=True, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.started.append(process)
        return process

    def start_prefect_server(self) -> subprocess.Popen:
        """`prefect server start` on the API port, answering within 240 s."""
        server = self.start("prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.api_port))
        self.wait(lambda: self.answers(f"{self.api}/health"), server, 240, "prefect server")
        return server

    @staticmethod
    def answers(url: str) -> bool:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200

    @staticmethod
    def port_open(port: int) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    @staticmethod
    def wait(check: Any, process: subprocess.Popen, seconds: float, what: str) -> None:
        """Poll `check()` each second until it is true; fail if `process` exits or time runs out."""
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

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def services(tmp_path: Path) -> Services:
    """A `Services` for this test; its processes are stopped when the test ends, passed or failed."""
    running = Services(tmp_path)
    yield running
    running.stop_all()
