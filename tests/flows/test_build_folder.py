"""The output folder with real `seagull build` processes: one build at a time (lock, stale lock after
kill -9), the folder always matches the plan, colliding reference ids and odd RAW entries.

Builds are tiny (1 type x 1 level at 64 px, one reference per chunk): a few seconds each.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.build_state import chunks_dir, lock_path, parts_dir, report_path

TINY = ["--types", "blur", "--levels", "1", "--size", "64", "--chunk-size", "1"]


def _seagull(*args: str) -> list[str]:
    return [sys.executable, "-m", "seagull.cli", *args]


def _build(env, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(_seagull("build", *args), env=env, capture_output=True, text=True, timeout=timeout)


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def _shards(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("seagull100w-*.tar"))


class _HeldRaw(http.server.BaseHTTPRequestHandler):
    """Serves one RAW file, but holds the body (dripping a byte a second) until `release` is set: the
    first build then sits inside its lock, fetching, for as long as the test needs."""

    data = b""
    requested = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requested.set()
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.data)))
        self.end_headers()
        sent = 0
        while not self.release.wait(timeout=1.0) and sent < len(self.data) - 1:
            self.wfile.write(self.data[sent : sent + 1])
            self.wfile.flush()
            sent += 1
        self.wfile.write(self.data[sent:])

    def log_message(self, *args) -> None:
        pass


def test_second_build_into_the_same_folder_fails_at_once_naming_the_holder(env, tools, tmp_path):
    raw = sorted(tools.SMALL_RAW.glob("*.dng"))[0]
    handler = type(
        "Held",
        (_HeldRaw,),
        {"data": raw.read_bytes(), "requested": threading.Event(), "release": threading.Event()},
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    csv = tmp_path / "RAISE_held.csv"
    csv.write_text(
        f"File,NEF,Device\n{raw.stem},http://127.0.0.1:{server.server_address[1]}/{raw.name},Sample\n"
    )
    out = tmp_path / "out"
    first = subprocess.Popen(
        _seagull("build", "--raise-csv", str(csv), "--out", str(out), *TINY),
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert handler.requested.wait(timeout=300), "the first build never started fetching"
        second = _build(env, "--raw-dir", str(tools.SMALL_RAW), "--out", str(out), *TINY, "--levels", "2,19")
        assert first.poll() is None, "the first build ended while it was held"
        handler.release.set()
        first_output, _ = first.communicate(timeout=300)
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert second.returncode == 1, second.stdout[-2000:] + second.stderr[-2000:]
    message = second.stdout + second.stderr
    assert "in use by another build" in message and f"PID {first.pid}" in message
    assert first.returncode == 0, first_output[-3000:]
    report = json.loads(report_path(out).read_text())
    assert report["ok"] and report["config"]["levels"] == [1]
    assert _shards(out) == ["seagull100w-000000.tar"]
    assert not lock_path(out).exists(), "the lock outlived its build"
    verify = subprocess.run(_seagull("verify", str(out)), env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_lock_of_a_killed_build_is_taken_over(env, tools, tmp_path):
    out = tmp_path / "out"
    args = ["--raw-dir", str(tools.SMALL_RAW), "--out", str(out), *TINY]
    killed = subprocess.Popen(
        _seagull("build", *args),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lock_path(out), killed)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
    lock = json.loads(lock_path(out).read_text())
    assert lock["pid"] == killed.pid and lock["host"] and lock["started"]
    leftover = out / f".seagull100w-000000.tar.{killed.pid}.tmp"  # what a killed writer leaves
    leftover.write_bytes(b"half a shard")

    resumed = _build(env, *args)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    said = resumed.stdout + resumed.stderr  # Prefect logs the flow's prints to stderr
    assert "took over the lock of a build that is gone" in said and f"PID {killed.pid}" in said
    assert not leftover.exists() and not lock_path(out).exists()
    assert _shards(out) == [f"seagull100w-{i:06d}.tar" for i in range(tools.N_REFS)]


def test_folder_follows_the_plan_sample_and_chunk_size(env, tmp_path):
    out = tmp_path / "out"
    first = _build(env, "--sample", "4", "--out", str(out), *TINY, "--chunk-size", "2")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert _shards(out) == ["seagull100w-000000.tar", "seagull100w-000001.tar"]

    # --sample 2 after --sample 4: two references, one shard; shard 1 of the earlier plan is gone
    second = _build(env, "--sample", "2", "--out", str(out), *TINY, "--chunk-size", "2")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    report = json.loads(report_path(out).read_text())
    assert report["references"]["written"] == 2
    assert _shards(out) == ["seagull100w-000000.tar"]
    assert sorted(p.name for p in parts_dir(out).glob("*.parquet")) == ["part-000000.parquet"]
    assert sorted(p.name for p in chunks_dir(out).glob("chunk-*.json")) == ["chunk-000000.json"]

    # a re-planned build (--chunk-size 4): exactly one shard with four references, no duplicates
    third = _build(env, "--sample", "4", "--out", str(out), *TINY, "--chunk-size", "4")
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert _shards(out) == ["seagull100w-000000.tar"]
    assert sorted(p.name for p in out.glob("*_stats.json")) == ["seagull100w-000000_stats.json"]
    import pyarrow.parquet as pq

    manifest = pq.read_table(out / "manifest.parquet").to_pandas()
    assert manifest["ref_id"].nunique() == 4 and not manifest.duplicated(["key", "roi_id"]).any()
    assert "| reference images | 4 |" in (out / "README.md").read_text()
    verify = subprocess.run(_seagull("verify", str(out)), env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_verify_names_the_command_that_repairs_a_stale_manifest(env, tools, tmp_path):
    out = tmp_path / "out"
    args = ["--raw-dir", str(tools.SMALL_RAW), "--out", str(out), *TINY]
    assert _build(env, *args).returncode == 0
    # A build with other levels killed after its chunks, before finalize: what it leaves, made directly.
    from pipeline.build_config import BuildConfig
    from pipeline.chunk import plan_chunks, process_chunk

    config = BuildConfig(
        source=str(tools.SMALL_RAW), out=str(out), types=("blur",), levels=(2,), size=64, chunk_size=1
    )
    for spec in plan_chunks(sorted(tools.SMALL_RAW.glob("*.dng")), 1):
        process_chunk(spec, config)
    verify = subprocess.run(_seagull("verify", str(out)), env=env, capture_output=True, text=True)
    assert verify.returncode == 1, verify.stdout
    assert "keys listed for seagull100w-000000.tar are not the keys it holds" in verify.stderr
    fix = next(line for line in verify.stderr.splitlines() if line.startswith("Fix:"))
    command = fix.split("`")[1]
    assert command.startswith("cd ") and "seagull build --raw-dir" in command
    path = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}  # `seagull`
    repaired = subprocess.run(command, shell=True, env=path, capture_output=True, text=True, timeout=600)
    assert repaired.returncode == 0, repaired.stdout[-3000:] + repaired.stderr[-3000:]
    verify = subprocess.run(_seagull("verify", str(out)), env=env, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.parametrize(
    ("names", "clash"),
    [(("p.q.dng", "p-q.dng"), "p-q"), (("x.NEF", "x.dng"), "x")],
)
def test_colliding_reference_ids_are_refused_listing_the_files(env, tools, tmp_path, names, clash):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = sorted(tools.SMALL_RAW.glob("*.dng"))
    for name, source in zip(names, good, strict=False):
        shutil.copy(source, raw / name)
    out = tmp_path / "out"
    result = _build(env, "--raw-dir", str(raw), "--out", str(out), *TINY)
    assert result.returncode == 1
    message = result.stdout + result.stderr
    assert "reference id" in message and f"{clash}:" in message
    assert all(str(raw / name) in message for name in names)
    assert _shards(out) == []
    report = json.loads(report_path(out).read_text())
    assert not report["ok"] and "ReferenceIdCollision" in report["error"]


def test_odd_entries_with_raw_suffixes_are_reported_as_bad_input(env, tools, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = sorted(tools.SMALL_RAW.glob("*.dng"))[0]
    shutil.copy(good, raw / good.name)
    (raw / "dangling.dng").symlink_to(raw / "nowhere.dng")
    (raw / "folder.dng").mkdir()
    os.mkfifo(raw / "pipe.dng")
    out = tmp_path / "out"
    result = _build(env, "--raw-dir", str(raw), "--out", str(out), *TINY)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(report_path(out).read_text())
    failed = {f["ref_id"]: (f["stage"], f["error"]) for f in report["failures"]}
    assert set(failed) == {"dangling", "folder", "pipe"}
    assert "symbolic link" in failed["dangling"][1]
    assert "folder" in failed["folder"][1]
    assert "not a regular file" in failed["pipe"][1]
    assert report["references"] == {"total": 4, "written": 1, "failed": 3}
