"""The fetch ledger: one parquet row per RAW file of the list, fetched or failed.

A row with ``status == "ok"`` says the file at ``path`` (relative to the output folder) was downloaded,
opened by LibRaw, and had ``bytes`` bytes and digest ``sha256``; a re-run skips it while the file still
has that size (and that digest, when asked to re-check). A ``"failed"`` row keeps the last error; a
re-run tries it again. The ledger is written to a temporary name and renamed, so a killed run leaves
the previous ledger intact; a ledger that cannot be read all the same (a disk error, a foreign file)
is set aside by `load_ledger` and never stops a later run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.atomic_io import atomic_file
from pipeline.fetch.verify import NotRawError, verify_raw

LEDGER_NAME = "raise_ledger.parquet"

SCHEMA = pa.schema(
    [
        ("name", pa.string()),  # file name from the list, e.g. r000da54ft.NEF
        ("path", pa.string()),  # relative to the output folder
        ("url", pa.string()),
        ("status", pa.string()),  # "ok" | "failed"
        ("bytes", pa.int64()),
        ("sha256", pa.string()),
        ("camera", pa.string()),  # TIFF Model tag, e.g. "NIKON D90"
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("raw_width", pa.int32()),
        ("raw_height", pa.int32()),
        ("attempts", pa.int32()),
        ("error", pa.string()),
        ("fetched_at", pa.string()),  # UTC, ISO 8601
    ]
)


@dataclass(frozen=True)
class LedgerRow:
    """One row of the ledger (see `SCHEMA` for the meaning of each field)."""

    name: str
    path: str
    url: str
    status: str
    bytes: int | None = None
    sha256: str | None = None
    camera: str | None = None
    width: int | None = None
    height: int | None = None
    raw_width: int | None = None
    raw_height: int | None = None
    attempts: int = 0
    error: str | None = None
    fetched_at: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def read_ledger(path: str | Path) -> dict[str, LedgerRow]:
    """Rows of an existing ledger keyed by file name; {} when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return {}
    table = pq.read_table(path)
    missing = set(SCHEMA.names) - set(table.column_names)
    if missing:
        raise ValueError(
            f"{path}: not a fetch ledger (missing columns {sorted(missing)}); move it away and re-run"
        )
    names = [f.name for f in fields(LedgerRow)]
    return {row["name"]: LedgerRow(**{k: row[k] for k in names}) for row in table.to_pylist()}


def load_ledger(path: str | Path) -> tuple[dict[str, LedgerRow], list[str]]:
    """Rows of the ledger at `path` (as `read_ledger`), and notes on what had to be repaired.

    An unreadable ledger is moved to ``<name>.unreadable-<UTC time>`` (kept for inspection, never
    deleted) and the run starts from an empty one: its files are fetched and verified again. Temporary
    ledgers left by a killed writer (``.<name>.<pid>.tmp`` of a process no longer running) are removed.
    """
    path = Path(path)
    notes = [f"removed {tmp.name}, left by a killed run" for tmp in _stale_temporaries(path)]
    try:
        return read_ledger(path), notes
    except (OSError, ValueError, pa.ArrowException) as err:  # ArrowInvalid is a ValueError too
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.unreadable-{stamp}")
        os.replace(path, aside)
        notes.append(
            f"{path} was unreadable ({type(err).__name__}: {err}); moved to {aside.name}, "
            "its files are fetched and verified again"
        )
        return {}, notes


def _stale_temporaries(path: Path) -> list[Path]:
    """Remove and return the temporaries of `path` whose writing process is gone."""
    stale = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            stale.append(tmp)
    return stale


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):  # gone, or a number no process can have
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_ledger(path: str | Path, rows: Iterable[LedgerRow]) -> None:
    """Write rows (sorted by name, so equal ledgers are equal files) to `path` atomically."""
    path = Path(path)
    records = [asdict(r) for r in sorted(rows, key=lambda r: r.name)]
    table = pa.Table.from_pylist(records, schema=SCHEMA)
    with atomic_file(path, "wb") as handle:
        pq.write_table(table, handle)


def is_done(row: LedgerRow | None, out_dir: Path, recheck: bool = False) -> bool:
    """True when `row` records a verified file that is still there with its size.

    With `recheck`, the file is verified again as a fresh download is (its raw data decoded in full)
    and must still have the recorded digest: this also re-checks rows of ledgers written before
    verification decoded the raw data.
    """
    if row is None or not row.ok:
        return False
    file = out_dir / row.path
    if not file.is_file() or file.stat().st_size != row.bytes:
        return False
    if not recheck:
        return True
    try:
        return verify_raw(file).sha256 == row.sha256
    except NotRawError:
        return False
