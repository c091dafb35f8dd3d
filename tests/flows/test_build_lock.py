"""The build lock without a build: atomic holder record, refusal naming the holder, stale takeover."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.build_lock import LOCK_NAME, BuildLock, BuildLocked


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _plant(out, **holder) -> None:
    record = {"host": "here", "pid": 1, "started": "then", "process_start": None, "token": "t0", **holder}
    out.mkdir(exist_ok=True)
    (out / LOCK_NAME).write_text(json.dumps(record))


def test_lock_records_its_holder_and_refuses_a_second_build(tmp_path):
    with BuildLock(tmp_path, host="here") as lock:
        record = json.loads((tmp_path / LOCK_NAME).read_text())
        assert record["pid"] == os.getpid() and record["host"] == "here" and record["started"]
        assert lock.took_over is None
        with pytest.raises(BuildLocked, match=f"in use by another build \\(PID {os.getpid()} on host here"):
            BuildLock(tmp_path, host="here").acquire()
    assert not (tmp_path / LOCK_NAME).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = _dead_pid()
    _plant(tmp_path, pid=dead)
    with BuildLock(tmp_path, host="here") as lock:
        assert lock.took_over is not None and lock.took_over.pid == dead
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_reused_pid_is_recognised_by_its_start_time(tmp_path):
    _plant(tmp_path, pid=os.getpid(), process_start=1)  # this PID, but a process started at tick 1
    with BuildLock(tmp_path, host="here") as lock:
        assert lock.took_over is not None


def test_unreadable_lock_is_taken_over(tmp_path):
    (tmp_path / LOCK_NAME).write_text("{half a reco")
    with BuildLock(tmp_path, host="here") as lock:
        assert lock.took_over is not None


def test_lock_from_another_host_is_not_guessed_stale(tmp_path):
    _plant(tmp_path, host="elsewhere", pid=_dead_pid())
    with pytest.raises(BuildLocked, match=f"another host.*remove {tmp_path / LOCK_NAME}"):
        BuildLock(tmp_path, host="here").acquire()


def test_release_never_removes_another_builds_lock(tmp_path):
    lock = BuildLock(tmp_path, host="here").acquire()
    _plant(tmp_path, pid=os.getpid(), token="someone-else")  # e.g. taken over meanwhile
    lock.release()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["token"] == "someone-else"
