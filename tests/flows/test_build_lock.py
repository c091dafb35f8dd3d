"""The build lock without a build: atomic holder record, refusal naming the holder, stale takeover."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.build_lock import BuildLock, BuildLocked
from pipeline.build_state import LEGACY_GUARD, LEGACY_LOCK, lock_path


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _plant(out, path=None, **holder) -> None:
    record = {"host": "here", "pid": 1, "started": "then", "process_start": None, "token": "t0", **holder}
    path = path or lock_path(out)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record))


def test_lock_records_its_holder_and_refuses_a_second_build(tmp_path):
    with BuildLock(tmp_path, host="here") as lock:
        record = json.loads(lock_path(tmp_path).read_text())
        assert record["pid"] == os.getpid() and record["host"] == "here" and record["started"]
        assert lock.took_over is None
        with pytest.raises(BuildLocked, match=f"in use by another build \\(PID {os.getpid()} on host here"):
            BuildLock(tmp_path, host="here").acquire()
    assert not lock_path(tmp_path).exists()
    assert [p.name for p in lock_path(tmp_path).parent.iterdir() if p.name.endswith(".tmp")] == []
    assert list(tmp_path.iterdir()) == []  # the lock lives beside the folder, not in it


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = _dead_pid()
    _plant(tmp_path, pid=dead)
    with BuildLock(tmp_path, host="here") as lock:
        assert lock.took_over is not None and lock.took_over.pid == dead
        assert json.loads(lock_path(tmp_path).read_text())["pid"] == os.getpid()


def test_reused_pid_is_recognised_by_its_start_time(tmp_path):
    _plant(tmp_path, pid=os.getpid(), process_start=1)  # this PID, but a process started at tick 1
    with BuildLock(tmp_path, host="here") as lock:
        assert lock.took_over is not None


def test_unreadable_lock_is_taken_over(tmp_path):
    lock_path(tmp_path).parent.mkdir()
    lock_path(tmp_path).write_text("{half a reco")
    with BuildLock(tmp_path, host="here") as lock:
        assert lock.took_over is not None


def test_lock_from_another_host_is_not_guessed_stale(tmp_path):
    _plant(tmp_path, host="elsewhere", pid=_dead_pid())
    with pytest.raises(BuildLocked, match=f"another host.*remove {lock_path(tmp_path)}"):
        BuildLock(tmp_path, host="here").acquire()


def test_release_never_removes_another_builds_lock(tmp_path):
    lock = BuildLock(tmp_path, host="here").acquire()
    _plant(tmp_path, pid=os.getpid(), token="someone-else")  # e.g. taken over meanwhile
    lock.release()
    assert json.loads(lock_path(tmp_path).read_text())["token"] == "someone-else"


def test_a_live_lock_of_the_earlier_layout_refuses_the_build(tmp_path):
    legacy = tmp_path / LEGACY_LOCK  # `<out>/.seagull-build.lock`, taken by an earlier version
    _plant(tmp_path, legacy, pid=os.getpid(), token="old")
    with pytest.raises(BuildLocked, match=f"in use by another build \\(PID {os.getpid()}"):
        BuildLock(tmp_path, host="here").acquire()
    assert not lock_path(tmp_path).exists(), "the refused build kept its own lock"
    assert legacy.exists()


def test_a_dead_lock_of_the_earlier_layout_is_removed(tmp_path):
    _plant(tmp_path, tmp_path / LEGACY_LOCK, pid=_dead_pid())
    (tmp_path / LEGACY_GUARD).write_text("")
    with BuildLock(tmp_path, host="here"):
        assert lock_path(tmp_path).exists()
    assert list(tmp_path.iterdir()) == []
