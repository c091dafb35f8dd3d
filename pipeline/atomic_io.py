"""Atomic, durable file writes shared by every stage that must never leave half a file behind.

A file is written under a hidden temporary name beside its target (`.<name>.<pid>.tmp`, so that
concurrent writers do not collide and a resumed build can sweep leftovers), flushed and fsynced,
renamed over the target, and the directory entry fsynced: after a crash the target is either the old
file or the whole new one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def temporary_name(path: Path) -> Path:
    """The hidden temporary name `atomic_file` writes `path` under."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_file(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on a clean exit it replaces `path` durably, on an error it goes."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with open(tmp, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically and durably."""
    with atomic_file(path, "w") as handle:
        handle.write(text)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the directory entry (POSIX)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
