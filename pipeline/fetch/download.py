"""Download one file over HTTP(S): retries with backoff, a per-file deadline, checked Range resume.

The bytes go to ``<dest>.part``; the caller verifies that file and renames it.

Resume. A partial ``.part`` (a cut connection, a killed run) is resumed by asking for
``Range: bytes=<size - overlap>-``, with an overlap of up to 64 KiB: the 206 must start where asked,
its ``Content-Range`` must agree with its ``Content-Length`` and (within one call) with the total the
server announced before, and the overlapping bytes must equal the partial file's tail. Anything else
discards the partial file and restarts from byte 0; so does a server that ignores Range (200).

The ``.part`` is opened without following links (``O_NOFOLLOW``) and must be a regular file with a
single link: a planted symlink, a hard link to the target or elsewhere, or a FIFO is refused
(`UnsafePartError`) and left in place for the user to look at; nothing is written through it.

Error policy:
- *transient*, retried after ``backoff_s * 2**attempt`` seconds (at most ``max_backoff_s``, or the
  server's ``Retry-After`` when longer): 5xx, 408, 429, a cut connection, a timeout, a body shorter
  than promised, a resume that does not match (which also restarts the file);
- *permanent*, raised at once as `PermanentDownloadError`: any other 4xx, an HTML page, a body over
  ``max_bytes``, a redirect to a non-http(s) address, too many redirects, an unsafe ``.part``;
- the *deadline*: a file not complete ``deadline_s`` after its first request (retries and waits
  included) raises `DeadlineExceeded`, within one read timeout; the ``.part`` is kept for the next run;
- *local I/O errors* (read-only file system, disk full) propagate as OSError: every file would meet them.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_TRANSIENT_STATUS = frozenset({408, 429})  # every other 4xx says the request itself is wrong
RESUME_OVERLAP = 64 * 2**10  # bytes re-fetched before the resume point and compared with the .part


class DownloadError(RuntimeError):
    """A download that did not succeed; ``attempts`` counts the requests made (0 before any)."""

    attempts: int = 0


class PermanentDownloadError(DownloadError):
    """A failure that retrying cannot fix (404, HTML page, too large, a redirect to file://)."""


class UnsafePartError(PermanentDownloadError):
    """The ``.part`` is a link, a FIFO or another non-regular file; it is left as it is."""


class DeadlineExceeded(DownloadError):
    """The file was not complete within ``RetryPolicy.deadline_s``; the ``.part`` is kept for resume."""


class DownloadCancelled(DownloadError):
    """The caller's cancel event was set; the ``.part`` is kept for a later resume."""


class _Transient(Exception):
    """A failure worth retrying; carries an optional server-requested delay in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _Restart(_Transient):
    """A failure worth retrying from byte 0: the partial file cannot be resumed."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one file."""

    retries: int = 5  # attempts after the first; a bulk fetch of ~100 GB will meet dropped connections
    backoff_s: float = 1.0  # first wait; doubles each attempt (1, 2, 4, 8, 16 s)
    max_backoff_s: float = 60.0  # cap, so a long outage costs minutes, not hours
    timeout_s: float = 60.0  # per connect/read, not per file: a slow link may stream a NEF for minutes
    max_bytes: int = 256 * 2**20  # RAISE NEFs are < 30 MB; a body past this is not a RAW file
    # Whole file, retries and waits included: a 30 MB NEF at 50 kB/s takes 10 min; a server that
    # drips bytes just under `timeout_s` would otherwise hold a worker forever.
    deadline_s: float = 1800.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 0)."""
        wait = self.backoff_s * 2**attempt
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_backoff_s)


@dataclass(frozen=True)
class Downloaded:
    """Result of `download_file`: the ``.part`` file, its size, and how it went."""

    part: Path
    size: int
    attempts: int
    resumed: bool  # the successful attempt continued a partial file (206) rather than starting at 0


@dataclass
class _Call:
    """What one `download_file` call carries across its attempts."""

    url: str
    policy: RetryPolicy
    cancel: threading.Event
    deadline: float  # time.monotonic() past which the file is given up
    total: int | None = None  # size the server announced for the bytes now in the .part

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check_deadline(self) -> None:
        if self.remaining() <= 0:
            raise DeadlineExceeded(
                f"{self.url}: not complete within the {self.policy.deadline_s:g} s per-file deadline "
                "(--deadline); the partial file is kept for the next run"
            )


def part_path(dest: Path) -> Path:
    """Where `download_file` writes `dest` while it is incomplete."""
    return dest.with_name(dest.name + ".part")


def download_file(
    client: httpx.Client,
    url: str,
    dest: str | Path,
    policy: RetryPolicy = RetryPolicy(),
    cancel: threading.Event | None = None,
) -> Downloaded:
    """Download `url` into ``<dest>.part`` (not renamed: the caller verifies first).

    Args:
        client: an httpx client (thread-safe; share one across workers).
        url: http(s) address.
        dest: final path of the file; only ``<dest>.part`` is written.
        policy: retries, backoff, timeouts, deadline and limits.
        cancel: when set (by another thread), stop between chunks or backoff waits.

    Returns:
        `Downloaded` describing the complete ``.part`` file.

    Raises:
        UnsafePartError: the ``.part`` is not a regular file of its own (left in place).
        PermanentDownloadError: a failure that retrying cannot fix (the ``.part`` is removed).
        DeadlineExceeded: not complete within ``policy.deadline_s`` (the ``.part`` is kept).
        DownloadError: still failing after ``policy.retries`` retries (the ``.part`` is kept for resume).
        DownloadCancelled: `cancel` was set (the ``.part`` is kept for resume).
        OSError: a local I/O error (read-only file system, disk full).
    """
    part = part_path(Path(dest))
    call = _Call(
        url, policy, threading.Event() if cancel is None else cancel, time.monotonic() + policy.deadline_s
    )
    for attempt in range(policy.retries + 1):
        if call.cancel.is_set():
            raise DownloadCancelled(f"{url}: cancelled before attempt {attempt + 1}")
        try:
            call.check_deadline()
        except DeadlineExceeded as err:
            err.attempts = attempt  # ran out while waiting to retry
            raise
        try:
            size, resumed = _attempt(client, part, call)
            return Downloaded(part, size, attempt + 1, resumed)
        except UnsafePartError as err:
            err.attempts = attempt  # refused before this attempt's request; the .part stays as found
            raise
        except DownloadError as err:  # permanent, past the deadline, or cancelled: no retry
            if isinstance(err, PermanentDownloadError):
                part.unlink(missing_ok=True)  # unlink removes the name only, never what a link points to
            err.attempts = attempt + 1
            raise
        except (_Transient, httpx.TransportError) as err:
            last = err
            if isinstance(err, _Restart):
                part.unlink(missing_ok=True)
                call.total = None
            if attempt < policy.retries:
                call.cancel.wait(
                    min(policy.delay(attempt, getattr(err, "retry_after", None)), max(call.remaining(), 0))
                )
    error = DownloadError(f"{url}: still failing after {policy.retries + 1} attempts: {_describe(last)}")
    error.attempts = policy.retries + 1
    raise error


def _attempt(client: httpx.Client, part: Path, call: _Call) -> tuple[int, bool]:
    """One GET, resuming from the ``.part`` size; returns (final size, whether it resumed)."""
    with open_part(part) as f:
        offset = f.seek(0, os.SEEK_END)
        asked = offset - min(offset, RESUME_OVERLAP)  # re-fetch the overlap to check the server's bytes
        # identity: a compressed transfer would make Range offsets and Content-Length mean other bytes
        headers = {"Accept-Encoding": "identity"} | ({"Range": f"bytes={asked}-"} if offset else {})
        timeout = min(call.policy.timeout_s, max(call.remaining(), 0.01))
        with _stream(client, call.url, headers, timeout) as response:
            start, end = _plan(response, asked, offset, call)
            resumed = response.status_code == 206
            if resumed:  # the server repeats bytes asked..offset first: read them to compare
                f.seek(start)
                overlap = f.read(offset - start)
            else:  # a fresh start: the old partial bytes are not a prefix we can trust
                f.seek(0)
                f.truncate()
                overlap = b""
            written = _write_body(response, f, start, overlap, call)
    if end is not None and written != end + 1:
        raise _Transient(f"short body: {written - start} of {end + 1 - start} bytes")
    if call.total is not None and written != call.total:
        raise _Transient(f"partial file: {written} of {call.total} bytes so far")
    return written, resumed


@contextmanager
def _stream(
    client: httpx.Client, url: str, headers: dict[str, str], timeout: float
) -> Iterator[httpx.Response]:
    """`client.stream("GET", …)`, with a redirect to a non-http(s) address made a permanent error."""
    try:
        with client.stream("GET", url, headers=headers, timeout=timeout) as response:
            yield response
    except (httpx.UnsupportedProtocol, httpx.TooManyRedirects) as err:  # e.g. a redirect to file://
        raise PermanentDownloadError(f"refused redirect ({_describe(err)}); only http(s) is fetched") from err


def open_part(part: Path) -> BinaryIO:
    """Open (creating it if missing) the ``.part`` for reading and writing, never through a link.

    Raises:
        UnsafePartError: it is a symlink, a FIFO, a device, a folder or a file with other hard links.
    """
    try:
        _check_plain(part, os.lstat(part))  # before open: opening a FIFO could block
    except FileNotFoundError:
        pass
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(part, flags, 0o644)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):  # swapped for a link, folder, FIFO
            raise UnsafePartError(_unsafe_message(part, "not a regular file")) from err
        raise
    try:
        _check_plain(part, os.fstat(fd))  # what was opened, not what the name pointed to before
    except UnsafePartError:
        os.close(fd)
        raise
    return os.fdopen(fd, "r+b")


def _check_plain(part: Path, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePartError(_unsafe_message(part, "a symbolic link"))
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePartError(_unsafe_message(part, "a FIFO, device or folder"))
    if st.st_nlink != 1:
        raise UnsafePartError(_unsafe_message(part, "a hard link shared with another file"))


def _unsafe_message(part: Path, kind: str) -> str:
    return (
        f"refused {part}: it is {kind}, not a regular file of its own, so writing to it could change "
        "another file; remove it (or see who put it there) and re-run"
    )


def _plan(response: httpx.Response, asked: int, offset: int, call: _Call) -> tuple[int, int | None]:
    """Check a response's status and headers; return (byte offset it starts at, last byte or None)."""
    _check_status(response, offset)
    content_type = response.headers.get("content-type", "").lower()
    if content_type.startswith(("text/html", "application/xhtml")):
        raise PermanentDownloadError(f"the server sent an HTML page ({content_type}), not a RAW file")
    length = _int_or_none(response.headers.get("content-length"))
    if response.status_code == 206:
        start, end, total = _content_range(response)
        if start != asked or end < start or (total is not None and end >= total):
            raise _Restart(f"server sent bytes {start}-{end}/{total}, asked for bytes {asked}-")
        if length is not None and length != end - start + 1:
            raise _Restart(f"206 Content-Range bytes {start}-{end} disagrees with Content-Length {length}")
        if call.total is not None and total != call.total:
            raise _Restart(f"the file changed on the server: {call.total} bytes before, {total} now")
    else:  # 200: the whole file, whatever was asked
        start, total = 0, length
        end = None if total is None else total - 1
    if total is not None and total > call.policy.max_bytes:
        raise PermanentDownloadError(
            f"the file is {total} bytes, over the {call.policy.max_bytes}-byte limit"
        )
    call.total = total
    return start, end


def _check_status(response: httpx.Response, offset: int) -> None:
    code = response.status_code
    if code in (200, 206):
        return
    if code == 416 and offset:
        raise _Restart("range not satisfiable: the file is shorter than the partial one; restarting")
    if code >= 500 or code in _TRANSIENT_STATUS:
        raise _Transient(f"HTTP {code}", _retry_after(response))
    raise PermanentDownloadError(f"HTTP {code} {response.reason_phrase}".strip())


def _write_body(response: httpx.Response, f: BinaryIO, start: int, overlap: bytes, call: _Call) -> int:
    """Stream the body into `f` after checking it repeats `overlap`; return the file's size after."""
    written, pending = start, overlap
    for chunk in response.iter_bytes():  # as the network delivers: a cut loses nothing received
        if pending:
            head, chunk = chunk[: len(pending)], chunk[len(pending) :]
            if head != pending[: len(head)]:
                raise _Restart("the server's bytes before the resume point differ from the partial file")
            pending, written = pending[len(head) :], written + len(head)
        written += len(chunk)
        if written > call.policy.max_bytes:
            raise PermanentDownloadError(f"the body passed the {call.policy.max_bytes}-byte limit")
        f.write(chunk)
        if call.cancel.is_set():
            raise DownloadCancelled("cancelled mid-file")
        call.check_deadline()
    return written


def _content_range(response: httpx.Response) -> tuple[int, int, int | None]:
    match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    if not match:
        raise _Restart(f"206 without a usable Content-Range: {response.headers.get('content-range')!r}")
    return int(match[1]), int(match[2]), _int_or_none(match[3])


def _retry_after(response: httpx.Response) -> float | None:
    return _int_or_none(response.headers.get("retry-after"))  # the HTTP-date form is rare; ignored


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if isinstance(err, httpx.HTTPError) else str(err)
