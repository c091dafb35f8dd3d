"""RAISE ingest: fetch the RAW files of a RAISE CSV list into a folder, verified, with a parquet ledger.

Public entry, called by the build flow as its first stage when the source is a CSV (contract in
docs/raise.md); importable as `pipeline.fetch.fetch_raise`:

    fetch_raise(csv_path, out_dir, jobs=4, limit=None, config=FetchConfig(), progress=None) -> FetchReport

It reads the list (`pipeline.fetch.raise_csv`), skips what the ledger already records as done and
verified, downloads the rest in parallel (`pipeline.fetch.download`: retries with backoff, resume
with Range, ``.part`` then rename), checks each file opens as a RAW (`pipeline.fetch.verify`), and
records everything in ``OUT_DIR/raise_ledger.parquet`` (`pipeline.fetch.ledger`).

Error policy: one file failing (404, HTML page, retries exhausted, deadline, not a whole RAW) is
recorded in the report and the ledger, and the others go on; a row of the list that is malformed,
unsafe or reserved is reported with its line number and never fetched. Only local I/O errors (disk
full, read-only file system) stop the run, at once, after the ledger is written if it still can be.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from pipeline.fetch.download import DownloadError, RetryPolicy, download_file, part_path
from pipeline.fetch.ledger import LEDGER_NAME, LedgerRow, is_done, load_ledger, write_ledger
from pipeline.fetch.raise_csv import CsvProblem, RaiseEntry, check_url, read_raise_csv, safe_name
from pipeline.fetch.verify import NotRawError, RawInfo, verify_raw

Progress = Callable[[LedgerRow, int, int], None]
"""Called in the caller's thread after each file: (its ledger row, files done, files to do)."""


@dataclass(frozen=True)
class FetchConfig:
    """Settings of `fetch_raise` beyond the job count and the limit."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)  # retries, backoff, timeouts, size limit
    recheck: bool = False  # re-hash files the ledger says are done (slow: reads every byte again)
    flush_every: int = 16  # rewrite the ledger after this many files, so a killed run loses little
    # (old prefix, new prefix) pairs applied to each address: the lists name hosts that have moved.
    url_rewrites: tuple[tuple[str, str], ...] = ()
    user_agent: str = "seagull-fetch-raise/0.1 (+https://arxiv.org/abs/2411.10161)"


@dataclass
class FetchReport:
    """What one `fetch_raise` call did.

    Attributes:
        out_dir: the output folder.
        ledger_path: the parquet ledger inside it.
        fetched: rows of files downloaded and verified by this call.
        skipped: rows of files already done and verified (not downloaded again).
        failed: rows of files that failed this time (error in ``row.error``).
        problems: rows of the CSV that were skipped (malformed, unsafe name, bad address).
        entries: the list's usable entries that this call covered (after ``limit``), in list order.
        notes: repairs made to the output folder (an unreadable ledger set aside, stale temporaries).
    """

    out_dir: Path
    ledger_path: Path
    fetched: list[LedgerRow] = field(default_factory=list)
    skipped: list[LedgerRow] = field(default_factory=list)
    failed: list[LedgerRow] = field(default_factory=list)
    problems: list[CsvProblem] = field(default_factory=list)
    entries: list[RaiseEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every covered entry is on disk and verified."""
        return not self.failed

    def __iter__(self) -> Iterator[Path]:
        """Iterating a report yields `paths`: ``for raw in fetch_raise(csv, out): decode_raw(raw)``."""
        return iter(self.paths)

    @property
    def paths(self) -> list[Path]:
        """Verified RAW files (fetched or skipped), in list order: the input of the decode stage."""
        done = {row.name: row for row in self.fetched + self.skipped}
        return [self.out_dir / done[e.name].path for e in self.entries if e.name in done]

    def summary(self) -> str:
        """One line for logs: counts and megabytes downloaded."""
        mb = sum(row.bytes or 0 for row in self.fetched) / 1e6
        return (
            f"{len(self.fetched)} fetched ({mb:.1f} MB), {len(self.skipped)} already done, "
            f"{len(self.failed)} failed, {len(self.problems)} CSV rows skipped"
        )


def fetch_raise(
    csv_path: str | Path,
    out_dir: str | Path,
    jobs: int = 4,
    limit: int | None = None,
    config: FetchConfig = FetchConfig(),
    progress: Progress | None = None,
) -> FetchReport:
    """Fetch the RAW files listed in a RAISE CSV into `out_dir` and verify them.

    Args:
        csv_path: a RAISE list (RAISE_1k.csv … RAISE_all.csv, or any CSV with a NEF/URL column).
        out_dir: folder for the RAW files and ``raise_ledger.parquet``; created if missing.
        jobs: parallel downloads (RAISE's server is a university machine: keep it small).
        limit: only the first `limit` usable entries of the list (None: all).
        config: retries, re-checking, ledger flushing, address rewrites.
        progress: optional callback, see `Progress`.

    Returns:
        `FetchReport`; ``report.paths`` lists the verified files in list order.

    Raises:
        ValueError: the CSV has no download-address column, `jobs` < 1 or `limit` < 0.
    """
    if jobs < 1 or (limit is not None and limit < 0):
        raise ValueError(f"need jobs >= 1 and limit >= 0 (or None), got jobs={jobs}, limit={limit}")
    entries, problems = read_raise_csv(csv_path)
    entries = entries[:limit] if limit is not None else entries
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = FetchReport(out_dir, out_dir / LEDGER_NAME, problems=problems, entries=entries)
    ledger, report.notes = load_ledger(report.ledger_path)
    todo = []
    for entry in entries:
        if is_done(ledger.get(entry.name), out_dir, config.recheck):
            report.skipped.append(ledger[entry.name])
        else:
            todo.append(entry)
    try:
        _run(todo, out_dir, jobs, config, ledger, report, progress)
    except BaseException:
        _write_ledger_if_possible(report.ledger_path, ledger.values())
        raise
    write_ledger(report.ledger_path, ledger.values())
    return report


def _write_ledger_if_possible(path: Path, rows) -> None:
    """Save what was done on the way out of a failed run; the run's own error is the one to show."""
    try:
        write_ledger(path, rows)
    except OSError:  # the same read-only or full disk that stopped the run
        pass


def _run(
    todo: list[RaiseEntry],
    out_dir: Path,
    jobs: int,
    config: FetchConfig,
    ledger: dict[str, LedgerRow],
    report: FetchReport,
    progress: Progress | None,
) -> None:
    """Download `todo` with `jobs` threads; record each result in `ledger` and `report` as it lands."""
    if not todo:
        return
    limits = httpx.Limits(max_connections=jobs, max_keepalive_connections=jobs)
    headers = {"User-Agent": config.user_agent}
    cancel = threading.Event()  # set on Ctrl-C: workers stop mid-file, keeping their .part to resume
    with httpx.Client(follow_redirects=True, limits=limits, headers=headers) as client:
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fetch-raise")
        try:
            futures: list[Future[LedgerRow]] = [
                pool.submit(fetch_one, client, entry, out_dir, config, cancel) for entry in todo
            ]
            for done, future in enumerate(as_completed(futures), start=1):
                row = future.result()
                ledger[row.name] = row
                (report.fetched if row.ok else report.failed).append(row)
                if done % config.flush_every == 0:
                    write_ledger(report.ledger_path, ledger.values())
                if progress is not None:
                    progress(row, done, len(todo))
        except BaseException:
            cancel.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def fetch_one(
    client: httpx.Client,
    entry: RaiseEntry,
    out_dir: Path,
    config: FetchConfig,
    cancel: threading.Event | None = None,
) -> LedgerRow:
    """Download, verify and place one file; never raises for a remote or content failure.

    `cancel`, when set by another thread, stops the download; the row then reports it as failed.

    Returns:
        an ``"ok"`` row describing the verified file at ``out_dir / entry.name``, or a ``"failed"`` row
        whose ``error`` says what went wrong (the half-written ``.part`` is kept only for resuming).

    Raises:
        OSError: a local I/O error (read-only file system, disk full): every other file would meet it.
    """
    url = rewrite_url(entry.url, config.url_rewrites)
    base = {"name": entry.name, "path": entry.name, "url": url}
    attempts = 0
    try:
        dest = _inside(out_dir, safe_name(entry.name))  # also for entries not made by read_raise_csv
        if dest.is_dir() and not dest.is_symlink():  # the rename into place would fail on it
            raise ValueError(f"{dest} is a folder, not a RAW file; move it away and re-run")
        check_url(url)
        got = download_file(client, url, dest, config.policy, cancel)
        attempts = got.attempts
        info = _verify_or_discard(got.part)
    except (DownloadError, NotRawError, ValueError, httpx.HTTPError, httpx.InvalidURL) as err:
        attempts = getattr(err, "attempts", attempts)  # a DownloadError counts its own requests
        error = str(err) or type(err).__name__
        return LedgerRow(**base, status="failed", attempts=attempts, error=error, fetched_at=_now())
    os.replace(got.part, dest)
    return LedgerRow(
        **base,
        status="ok",
        bytes=info.bytes,
        sha256=info.sha256,
        camera=info.camera,
        width=info.width,
        height=info.height,
        raw_width=info.raw_width,
        raw_height=info.raw_height,
        attempts=got.attempts,
        fetched_at=_now(),
    )


def _verify_or_discard(part: Path) -> RawInfo:
    try:
        return verify_raw(part)
    except NotRawError:
        part.unlink(missing_ok=True)  # complete but wrong: resuming it would not help
        raise


def rewrite_url(url: str, rewrites: tuple[tuple[str, str], ...]) -> str:
    """Replace the first matching (old prefix, new prefix) of `rewrites` in `url`."""
    for old, new in rewrites:
        if url.startswith(old):
            return new + url[len(old) :]
    return url


def _inside(out_dir: Path, name: str) -> Path:
    """``out_dir / name``, refusing any name that would land elsewhere (defence behind `safe_name`).

    Only the folder is resolved: a symlink planted at the name itself is replaced by the rename, never
    followed to the file it points at.
    """
    folder = out_dir.resolve()
    dest = folder / name
    if dest.parent != folder or part_path(dest).parent != folder:
        raise ValueError(f"refused file name {name!r}: it would be written outside {out_dir}")
    return dest


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
