"""One build per output folder at a time: an exclusive lock file `build.lock` in the folder's build
state (`pipeline.build_state`: `<out>.seagull-build/build.lock`).

The lock holds JSON `{"host", "pid", "started", "process_start", "token"}`. It is taken atomically:
the record is written whole to a private temporary file and hard-linked to the lock name, which fails
when a lock already exists, so no build ever sees a half-written lock. A second build into the same
folder fails at once with `BuildLocked`, naming the holder.

A lock whose holder is dead (same host, and that PID is gone or is another process started later: a
`kill -9`, a power cut) is stale and taken over. Takeovers are serialised by `flock` on a guard file,
and the stale record is re-read under it, so two builds that both find the same stale lock cannot
both take it. A lock taken on another host cannot be checked from here: the message says how to
remove it once that build is known to be gone.

A build of an earlier version locked `<out>/.seagull-build.lock` instead; while that lock's holder
lives, the folder is refused the same way, and a dead one's lock is removed with the folder's old
build state (`build_state.migrate_legacy`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline import build_state
from pipeline.build_state import LOCK_NAME


class BuildLocked(RuntimeError):
    """Another build holds the output folder."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a build lock. `process_start` is the kernel's start time of the PID (Linux clock
    ticks since boot, from /proc), which tells a reused PID from the holder; None where unknown."""

    host: str
    pid: int
    started: str
    process_start: int | None
    token: str

    def describe(self) -> str:
        return f"PID {self.pid} on host {self.host}, started {self.started}"


def process_start_ticks(pid: int) -> int | None:
    """Start time of process `pid` in clock ticks since boot (Linux), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])  # field 22 of the whole line


def is_alive(holder: LockHolder, host: str) -> bool | None:
    """True/False for a holder on this host; None when it runs elsewhere (cannot be checked)."""
    if holder.host != host:
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    if holder.process_start is not None:
        current = process_start_ticks(holder.pid)
        if current is not None and current != holder.process_start:
            return False  # the PID was reused by a later process
    return True


def read_holder(path: Path) -> LockHolder | None:
    """The lock's holder, or None when there is no lock or it is unreadable (treated as stale)."""
    try:
        return LockHolder(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return LockHolder(host="?", pid=-1, started="?", process_start=None, token="unreadable")


class BuildLock:
    """The exclusive lock of one output folder (use `acquire`; release with `release` or `with`)."""

    def __init__(self, out: str | Path, host: str | None = None) -> None:
        self.out = Path(out)
        self.path = build_state.lock_path(out)
        self.host = host or socket.gethostname()
        self.holder: LockHolder | None = None
        self.took_over: LockHolder | None = None  # the stale holder this lock replaced, if any

    def acquire(self) -> BuildLock:
        """Take the lock, or raise `BuildLocked` naming the build that holds it.

        A stale lock (dead holder on this host, or an unreadable lock file) is replaced.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        mine = LockHolder(
            host=self.host,
            pid=pid,
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            process_start=process_start_ticks(pid),
            token=uuid.uuid4().hex,
        )
        with self._guard():
            self._take(mine)
        self._refuse_a_live_legacy_lock()  # outside the guard: refusing releases, which takes it again
        return self

    def _take(self, mine: LockHolder) -> None:
        """Link `mine` as the lock, replacing a stale one; call under the guard."""
        if self._link(mine):
            self.holder = mine
            return
        current = read_holder(self.path)
        alive = is_alive(current, self.host) if current is not None else False
        if current is not None and current.token != "unreadable" and alive is not False:
            raise BuildLocked(self._held_message(current, alive))
        self.path.unlink(missing_ok=True)  # stale: its holder is dead (checked under the guard)
        if not self._link(mine):
            raise BuildLocked(self._held_message(read_holder(self.path), True))
        self.holder, self.took_over = mine, current

    def _refuse_a_live_legacy_lock(self) -> None:
        """Release and raise `BuildLocked` while an earlier version's build holds the folder; remove
        the lock (and its guard) of one that is gone. Runs holding this lock, so no new build races."""
        legacy = self.out / build_state.LEGACY_LOCK
        holder = read_holder(legacy)
        if holder is not None and holder.token != "unreadable":
            alive = is_alive(holder, self.host)
            if alive is not False:
                self.release()
                message = self._held_message(holder, alive)
                raise BuildLocked(message.replace(str(self.path), str(legacy)))
        legacy.unlink(missing_ok=True)
        (self.out / build_state.LEGACY_GUARD).unlink(missing_ok=True)

    def release(self) -> None:
        """Remove the lock if it is still this build's (never another build's)."""
        if self.holder is None:
            return
        with self._guard():
            current = read_holder(self.path)
            if current is not None and current.token == self.holder.token:
                self.path.unlink(missing_ok=True)
        self.holder = None

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _link(self, holder: LockHolder) -> bool:
        """Publish `holder` as the lock atomically; False when a lock exists."""
        tmp = self.path.with_name(f"{LOCK_NAME}.{holder.pid}.{holder.token}.tmp")
        tmp.write_text(json.dumps(asdict(holder), sort_keys=True) + "\n")
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Serialise lock changes between builds (flock; released by the kernel if the holder dies)."""
        with open(build_state.guard_path(self.out), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _held_message(self, holder: LockHolder | None, alive: bool | None) -> str:
        if holder is None:
            return f"{self.out} is being locked by another build right now; try again"
        text = f"{self.out} is in use by another build ({holder.describe()}); wait for it to end"
        if alive is None:
            text += (
                f". It runs on another host, so this one cannot tell whether it is still alive: once you "
                f"are sure it is gone, remove {self.path} and run again"
            )
        return text + ", or build into another --out folder."
