"""A build killed with SIGKILL and run again loses and duplicates nothing, and its shards are
byte-identical to an uninterrupted build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.build_state import chunk_record_path, report_path


def _build_command(raw: Path, out: Path, small_cli: list[str]) -> list[str]:
    # --workers 1: chunks run one after another, so the kill lands between (or inside) chunks.
    return [
        sys.executable,
        "-m",
        "seagull.cli",
        "build",
        "--raw-dir",
        str(raw),
        "--out",
        str(out),
        *small_cli,
        "--workers",
        "1",
    ]


@pytest.mark.slow
def test_killed_build_resumes_to_identical_shards(env, reference_build: Path, tools, tmp_path):
    out = tmp_path / "out"
    command = _build_command(tools.SMALL_RAW, out, tools.SMALL_CLI)
    build = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    first_record = chunk_record_path(out, 0)
    deadline = time.monotonic() + 240
    try:
        while not first_record.exists() and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(build.pid, signal.SIGKILL)  # the build and anything it started
        build.wait(timeout=30)
    assert first_record.exists(), "the build never finished its first chunk"
    assert not chunk_record_path(out, 2).exists(), "the build ended before the kill"
    assert not report_path(out).exists()

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = json.loads(report_path(out).read_text())
    assert report["chunks"]["skipped"] >= 1 and report["chunks"]["built"] >= 1
    assert tools.digests(out) == tools.digests(reference_build)
    keys = tools.keys(out)
    assert len(keys) == len(set(keys)) == len(tools.keys(reference_build))
    assert not list(out.glob(".*.tmp")), "temporary files left behind"
    assert tools.same_manifest(out, reference_build)
