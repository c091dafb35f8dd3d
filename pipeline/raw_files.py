"""Which RAW files a build or `seagull render` takes, and the reference id each one gets.

One list of suffixes, one listing, one id and one input check for the build's chunks and the stage
commands alike (issue 19: a `.cr3` used to render but not build).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# Suffixes of the RAW formats LibRaw (rawpy) reads, compared case-insensitively. A file is taken by
# its suffix; whether LibRaw can decode it is found out by decoding it (a failure names the file).
RAW_SUFFIXES: tuple[str, ...] = tuple(
    ".nef .nrw .dng .cr2 .cr3 .crw .arw .srf .sr2 .orf .rw2 .raf .pef .srw .3fr .erf .kdc .dcr .mos .mef "
    ".raw .rwl .iiq".split()
)
ADD_RAW_FILES = "put RAW files (.nef, .dng, .cr2, .cr3, .arw ...) in it"


def ref_id_of(path: Path | str) -> str:
    """The reference id of a file: its stem with dots replaced by '-' (keys never hold dots)."""
    return Path(path).stem.replace(".", "-")


def list_raw_files(directory: str | Path, limit: int | None = None) -> list[Path]:
    """Entries directly in `directory` with a RAW suffix (case-insensitive), sorted by name, first `limit`.

    Every such entry is listed, also one that is not a regular readable file (a dangling link, a
    folder, a FIFO): processing it then fails in `check_input_file`, so it is reported like any bad
    file instead of being skipped silently.

    Raises:
        FileNotFoundError: the folder does not exist or holds no RAW file.
        PermissionError: the folder cannot be listed.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"RAW folder {folder} does not exist; pass a folder with RAW files")
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except PermissionError as error:
        raise PermissionError(
            f"cannot list the RAW folder {folder} ({error.strerror}); give the user read and execute "
            "permission on it"
        ) from error
    paths = [folder / name for name in names if Path(name).suffix.lower() in RAW_SUFFIXES]
    if not paths:
        raise FileNotFoundError(f"no RAW files found in {folder}; {ADD_RAW_FILES}")
    return paths[:limit] if limit else paths


def check_input_file(path: str | Path) -> None:
    """Raise a clear error unless `path` is a regular, readable file (after following links): a
    dangling link, a folder or a FIFO with a RAW suffix must fail like any bad file, not block."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise FileNotFoundError(f"{path} is a symbolic link to {os.readlink(path)}, which does not exist")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a folder, not a RAW file")
    if not stat.S_ISREG(mode):
        raise OSError(f"{path} is not a regular file (a FIFO, socket or device); RAW files must be files")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{path} is not readable by this user")


class ReferenceIdCollision(ValueError):
    """Two RAW files would get the same reference id (and so the same sample keys)."""


def check_reference_ids(paths: list[str] | list[Path]) -> None:
    """Raise `ReferenceIdCollision` listing every group of files that share a reference id.

    Ids are file stems with dots replaced by '-', so `p.q.dng` and `p-q.dng`, or `x.NEF` beside its
    DNG conversion `x.dng`, collide. They are refused rather than renamed: a renamed id would change
    when a file is added or removed, and the keys of a dataset must not.
    """
    by_id: dict[str, list[str]] = {}
    for path in paths:
        by_id.setdefault(ref_id_of(path), []).append(str(path))
    clashes = {ref_id: files for ref_id, files in sorted(by_id.items()) if len(files) > 1}
    if clashes:
        lines = [f"  {ref_id}: {', '.join(files)}" for ref_id, files in clashes.items()]
        raise ReferenceIdCollision(
            f"{len(clashes)} reference id(s) are shared by several RAW files (the id is the file name "
            "without its suffix, dots replaced by '-'):\n"
            + "\n".join(lines)
            + "\nRename or move all but one file of each group (keep one format per photograph), then run again."
        )
