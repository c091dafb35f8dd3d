"""Fixtures of the build-flow tests: a small RAW folder, a Prefect test server, a reference build.

Builds here are SMALL (3 references, 256 px, 2 types x 2 levels, one reference per chunk) so that the
whole folder runs in a few minutes on 2 cores.
"""

from __future__ import annotations

import hashlib
import shutil
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
