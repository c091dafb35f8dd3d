"""Download one file over HTTP(S): retries with exponential backoff, resume with Range, size checks.

The bytes go to ``<dest>.part``; the caller verifies that file and renames it. A partial ``.part`` left
by a cut connection (or a killed run) is resumed with ``Range: bytes=<size>-`` when the server answers
206 with a matching ``Content-Range``; a server that ignores Range (200) restarts the file from zero.

Error policy: 5xx, 408, 429, a 416 on resume, a cut connection, a timeout and a short body are
*transient* (retried, after ``backoff_s * 2**attempt`` seconds, at most ``max_backoff_s``, or the
server's ``Retry-After`` when it is longer); any other 4xx, an HTML page, a body over ``max_bytes``
are *permanent* (raised at once as `PermanentDownloadError`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_TRANSIENT_STATUS = frozenset({408, 425, 429})


class DownloadError(RuntimeError):
    """A download that did not succeed; ``attempts`` counts the requests made (0 before any)."""

    attempts: int = 0


class PermanentDownloadError(DownloadError):
    """A failure that retrying cannot fix (404, HTML page, too large)."""


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
        policy: retries, backoff, timeouts and limits.
        cancel: when set (by another thread), stop between chunks or backoff waits.

    Returns:
        `Downloaded` describing the complete ``.part`` file.

    Raises:
        PermanentDownloadError: a failure that retrying cannot fix (the ``.part`` is removed).
        DownloadError: still failing after ``policy.retries`` retries (the ``.part`` is kept for resume).
        DownloadCancelled: `cancel` was set (the ``.part`` is kept for resume).
    """
    part = part_path(Path(dest))
    cancel = threading.Event() if cancel is None else cancel  # a fresh one is never set: plain waits
    for attempt in range(policy.retries + 1):
        if cancel.is_set():
            raise DownloadCancelled(f"{url}: cancelled before attempt {attempt + 1}")
        try:
            size, resumed = _attempt(client, url, part, policy, cancel)
            return Downloaded(part, size, attempt + 1, resumed)
        except PermanentDownloadError as err:
            part.unlink(missing_ok=True)
            err.attempts = attempt + 1
            raise
        except (_Transient, httpx.TransportError) as err:
            last = err
            if isinstance(err, _Restart):
                part.unlink(missing_ok=True)
            if attempt < policy.retries:
                cancel.wait(policy.delay(attempt, getattr(err, "retry_after", None)))
    error = DownloadError(f"{url}: still failing after {policy.retries + 1} attempts: {_describe(last)}")
    error.attempts = policy.retries + 1
    raise error


def _attempt(
    client: httpx.Client, url: str, part: Path, policy: RetryPolicy, cancel: threading.Event
) -> tuple[int, bool]:
    """One GET, resuming from the ``.part`` size; returns (final size, whether it resumed)."""
    offset = part.stat().st_size if part.exists() else 0
    # identity: a compressed transfer would make Range offsets and Content-Length mean other bytes
    headers = {"Accept-Encoding": "identity"} | ({"Range": f"bytes={offset}-"} if offset else {})
    with client.stream("GET", url, headers=headers, timeout=policy.timeout_s) as response:
        if response.status_code == 416 and offset and _range_total(response) == offset:
            return offset, True  # the partial file is already complete
        start, total = _plan(response, offset, policy)
        written = _write_body(response, part, start, policy, cancel)
    if total is not None and written != total:
        raise _Transient(f"short body: {written} of {total} bytes")
    return written, start > 0


def _plan(response: httpx.Response, offset: int, policy: RetryPolicy) -> tuple[int, int | None]:
    """Check a response's status and headers; return (byte offset it starts at, total size or None)."""
    _check_status(response, offset)
    content_type = response.headers.get("content-type", "").lower()
    if content_type.startswith(("text/html", "application/xhtml")):
        raise PermanentDownloadError(f"the server sent an HTML page ({content_type}), not a RAW file")
    if response.status_code == 206:
        start, total = _content_range(response)
        if start != offset:
            raise _Restart(f"server resumed at byte {start}, asked for {offset}")
    else:  # 200: the whole file, whatever was asked
        start, total = 0, _int_or_none(response.headers.get("content-length"))
    if total is not None and total > policy.max_bytes:
        raise PermanentDownloadError(f"the file is {total} bytes, over the {policy.max_bytes}-byte limit")
    return start, total


def _check_status(response: httpx.Response, offset: int) -> None:
    code = response.status_code
    if code in (200, 206):
        return
    if code == 416 and offset:
        raise _Restart("range not satisfiable: restarting the partial file")
    if code >= 500 or code in _TRANSIENT_STATUS:
        raise _Transient(f"HTTP {code}", _retry_after(response))
    raise PermanentDownloadError(f"HTTP {code} {response.reason_phrase}".strip())


def _write_body(
    response: httpx.Response, part: Path, start: int, policy: RetryPolicy, cancel: threading.Event
) -> int:
    """Stream the body into `part` (appending when `start` > 0); return the file's size after."""
    if start == 0 and part.exists():
        part.unlink()  # a 200 or a 416 restart: the old partial bytes are not a prefix we can trust
    written = start
    with part.open("ab") as f:
        for chunk in response.iter_bytes():  # as the network delivers: a cut loses nothing received
            written += len(chunk)
            if written > policy.max_bytes:
                raise PermanentDownloadError(f"the body passed the {policy.max_bytes}-byte limit")
            f.write(chunk)
            if cancel.is_set():
                raise DownloadCancelled("cancelled mid-file")
    return written


def _content_range(response: httpx.Response) -> tuple[int, int | None]:
    match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    if not match:
        raise _Restart(f"206 without a usable Content-Range: {response.headers.get('content-range')!r}")
    return int(match[1]), _int_or_none(match[3])


def _range_total(response: httpx.Response) -> int | None:
    """The total size a 416 reports in ``Content-Range: bytes */<total>``."""
    value = response.headers.get("content-range", "")
    return _int_or_none(value.rpartition("/")[2]) if value.startswith("bytes */") else None


def _retry_after(response: httpx.Response) -> float | None:
    return _int_or_none(response.headers.get("retry-after"))  # the HTTP-date form is rare; ignored


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if isinstance(err, httpx.TransportError) else str(err)
