"""Read a RAISE list (RAISE_1k.csv … RAISE_all.csv) into safe download entries.

The published lists have a header such as ``File,TIFF,NEF,Date,Location,Device,Image Size,…``:
``File`` is the image id (``r000da54ft``), ``NEF`` the download address of the RAW file, ``Device``
the camera. Re-exports and mirrors rename columns (``Filename``, ``Camera``, ``RAW``, ``URL``) or use
``;``; all of those are accepted. A row that cannot be used is not fatal: it becomes a `CsvProblem`
with its line number, and the other rows go on.

Safety: a file name taken from the list is a plain base name (no folder part, no ``..``, no absolute
path, no drive letter) so that nothing is ever written outside the output folder; it may not be one
of the names fetch-raise keeps for itself (the ledger, ``*.part``); only http and https addresses are
accepted.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from pipeline.fetch.ledger import LEDGER_NAME

RAISE_HOME = "http://loki.disi.unitn.it/RAISE/"

# Column role -> accepted header spellings, compared after `_norm` (lower case, letters and digits
# only). Order = preference: a list that carries both NEF and TIFF addresses must give the NEF.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("file", "filename", "name", "image", "imageid", "id"),
    "url": ("nef", "nefurl", "neflink", "raw", "rawurl", "url", "link", "download", "downloadurl"),
    "camera": ("device", "camera", "cameramodel", "model"),
}
ALLOWED_SCHEMES = ("http", "https")

# A safe file name: starts with a letter or digit, then letters, digits, '.', '_', '-'; at most 200
# characters (well under every filesystem's limit, leaving room for the '.part' suffix).
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

# Names fetch-raise writes beside the RAW files, compared case-insensitively (case-insensitive file
# systems would merge them): the ledger and what is set aside of it, and every partial download. A
# RAW file under one of them would overwrite the ledger or another file's `.part`.
RESERVED_PREFIXES = (LEDGER_NAME,)
RESERVED_SUFFIXES = (".part",)


@dataclass(frozen=True)
class RaiseEntry:
    """One RAW file to fetch.

    Attributes:
        name: file name inside the output folder, e.g. ``r000da54ft.NEF`` (a safe base name).
        url: http(s) address of the RAW file.
        camera: camera named by the list (``Nikon D90``), or None when the list has no such column.
        line: line of the CSV the entry came from (1 = header).
    """

    name: str
    url: str
    camera: str | None
    line: int


@dataclass(frozen=True)
class CsvProblem:
    """A row of the list that was skipped, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def read_raise_csv(path: str | Path) -> tuple[list[RaiseEntry], list[CsvProblem]]:
    """Parse a RAISE CSV list.

    Args:
        path: the CSV file (UTF-8, with or without a byte-order mark; ``,`` ``;`` or tab separated).

    Returns:
        (entries in list order, problems): every usable row as a `RaiseEntry`; every row that was
        skipped (bad address, unsafe or duplicate name, missing fields) as a `CsvProblem`.

    Raises:
        ValueError: the file has no header or no column holding a download address.
    """
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, delimiter=_delimiter(lines[0] if lines else ""))
    header = next(reader, None)
    if not header:
        raise ValueError(f"{path}: empty file; expected a RAISE list with a header row (see {RAISE_HOME})")
    columns = _find_columns(header, path)
    entries: list[RaiseEntry] = []
    problems: list[CsvProblem] = []
    seen: set[str] = set()
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank line
        try:
            entry = _entry(row, columns, reader.line_num)
            _check_unique(entry.name, seen)
        except ValueError as err:
            problems.append(CsvProblem(reader.line_num, str(err)))
            continue
        entries.append(entry)
    return entries, problems


def safe_name(name: str) -> str:
    """Return `name` if it is a safe base name for a file in the output folder, else raise ValueError.

    Refused: empty names, folder separators, ``..``, absolute paths, drive letters, control characters,
    names starting with a dot, anything outside ``[A-Za-z0-9._-]``, and the reserved names
    (starting with `RESERVED_PREFIXES` or ending in `RESERVED_SUFFIXES`), whatever their case.
    """
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(
            f"unsafe file name {name!r}: a RAISE file name must be a plain base name such as "
            "'r000da54ft.NEF' (no folders, no '..', no absolute path)"
        )
    key = name.casefold()
    if key.startswith(RESERVED_PREFIXES) or key.endswith(RESERVED_SUFFIXES):
        raise ValueError(
            f"reserved file name {name!r}: fetch-raise keeps {LEDGER_NAME}* and *.part for itself; "
            "rename the row's File (or its address's base name)"
        )
    return name


def check_url(url: str) -> str:
    """Return `url` if it is an http(s) address with a host, else raise ValueError."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.netloc:
        raise ValueError(f"refused address {url!r}: only http:// and https:// addresses are fetched")
    return url


def _delimiter(header: str) -> str:
    """The separator the header line uses most; ',' on a tie. Judged on the header alone because data
    rows carry ';' inside keyword fields (csv.Sniffer can be fooled by them)."""
    return max((",", ";", "\t"), key=header.count)


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _find_columns(header: list[str], path: Path) -> dict[str, int | None]:
    index = {_norm(h): i for i, h in reversed(list(enumerate(header)))}  # first spelling wins
    columns = {
        role: next((index[a] for a in aliases if a in index), None)
        for role, aliases in COLUMN_ALIASES.items()
    }
    if columns["url"] is None:
        raise ValueError(
            f"{path}: no download-address column (looked for {', '.join(COLUMN_ALIASES['url'])}); "
            f"header is {header!r}. Use a RAISE list from {RAISE_HOME} (its NEF column holds the address)."
        )
    return columns


def _entry(row: list[str], columns: dict[str, int | None], line: int) -> RaiseEntry:
    url = _cell(row, columns["url"], "download address")
    check_url(url)
    name = safe_name(_file_name(_optional(row, columns["name"]), url))  # no id: the address's base name
    return RaiseEntry(name=name, url=url, camera=_optional(row, columns["camera"]) or None, line=line)


def _cell(row: list[str], index: int | None, what: str) -> str:
    if index is None or index >= len(row) or not row[index].strip():
        raise ValueError(f"missing {what} (row has {len(row)} fields)")
    return row[index].strip()


def _optional(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _file_name(listed: str, url: str) -> str:
    """The listed id plus the address's extension (``r000da54ft`` + ``.NEF``), or the address's base name."""
    url_name = unquote(PurePosixPath(urlsplit(url).path).name)
    if not listed:
        return url_name
    suffix = PurePosixPath(url_name).suffix
    if PurePosixPath(listed).suffix or not suffix:
        return listed
    return listed + suffix


def _check_unique(name: str, seen: set[str]) -> None:
    key = name.casefold()  # case-insensitive filesystems would merge 'A.NEF' and 'a.NEF'
    if key in seen:
        raise ValueError(f"duplicate file name {name!r}; the first row with it is kept")
    seen.add(key)
