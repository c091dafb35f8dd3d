"""Where a build keeps its state: one folder beside the shard folder, `<out>.seagull-build/`.

The shard folder (`--out`) holds only what a consumer reads: tars, their stats, manifest.parquet, the
dataset card and its figures, so it loads with `datasets.load_dataset(out)` and pushes to the Hub as
it is. What resume, `seagull verify` and the lock need lives in the sibling folder:

    shards/                       the dataset
    shards.seagull-build/
      build.lock, build.lock.guard   one build per folder (`pipeline.build_lock`)
      build.json                     the folder's current build (`pipeline.build_folder.write_plan`)
      chunks/chunk-NNNNNN.json       a finished chunk's record (`pipeline.chunk`)
      manifest-parts/part-NNNNNN.parquet   a chunk's manifest rows, merged into manifest.parquet
      build_report.json              the last build's report (`pipeline.build_report`)
      work/                          the sample / fetched RAW files (default `work_dir`)

A sibling, not a hidden folder inside `out`: `huggingface_hub.upload_folder` (2.4) skips only `.git`
and `.cache/huggingface` by default, so a hidden folder would be pushed with the dataset (fetched
RAISE files are hundreds of GB). The sibling is named after the resolved shard folder, so two
spellings of one folder (`shards`, `./shards/`, a symbolic link) share one state folder and one lock.

Builds before this layout kept the state inside `out` (`_chunks/`, `manifest/`, `_work/`,
`build_report.json`, `.seagull-build.lock`); `legacy_state` finds it and `migrate_legacy` moves it
here (renames, under the build's lock), so resume keeps its finished chunks.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

STATE_SUFFIX = ".seagull-build"
LOCK_NAME = "build.lock"
GUARD_NAME = "build.lock.guard"
PLAN_NAME = "build.json"
REPORT_NAME = "build_report.json"
CHUNKS_DIR = "chunks"
PARTS_DIR = "manifest-parts"
WORK_DIR = "work"

# The previous layout, inside `out`: old name -> new name in the state folder.
LEGACY_MOVES = {
    "_chunks/build.json": PLAN_NAME,  # before its folder: the plan now sits beside the records
    "_chunks": CHUNKS_DIR,
    "manifest": PARTS_DIR,
    "_work": WORK_DIR,
    "build_report.json": REPORT_NAME,
}
LEGACY_LOCK = ".seagull-build.lock"
LEGACY_GUARD = ".seagull-build.lock.guard"


def state_dir(out: str | Path) -> Path:
    """`<out>.seagull-build`, beside the resolved shard folder `out`."""
    resolved = Path(out).resolve()
    if not resolved.name:
        raise ValueError(f"--out {out} is the file-system root; build into a folder below it")
    return resolved.with_name(resolved.name + STATE_SUFFIX)


def lock_path(out: str | Path) -> Path:
    return state_dir(out) / LOCK_NAME


def guard_path(out: str | Path) -> Path:
    return state_dir(out) / GUARD_NAME


def plan_path(out: str | Path) -> Path:
    return state_dir(out) / PLAN_NAME


def report_path(out: str | Path) -> Path:
    return state_dir(out) / REPORT_NAME


def chunks_dir(out: str | Path) -> Path:
    return state_dir(out) / CHUNKS_DIR


def chunk_record_path(out: str | Path, index: int) -> Path:
    return chunks_dir(out) / f"chunk-{index:06d}.json"


def parts_dir(out: str | Path) -> Path:
    return state_dir(out) / PARTS_DIR


def manifest_part_path(out: str | Path, chunk_index: int) -> Path:
    return parts_dir(out) / f"part-{chunk_index:06d}.parquet"


def work_dir(out: str | Path) -> Path:
    """The default `work_dir` of a build into `out`."""
    return state_dir(out) / WORK_DIR


def legacy_state(out: str | Path) -> list[Path]:
    """Build state that a build before this layout left inside `out`, in name order."""
    out = Path(out)
    names = [name for name in (*LEGACY_MOVES, LEGACY_LOCK, LEGACY_GUARD) if "/" not in name]
    found = [out / name for name in names if (out / name).exists()]
    manifest = out / "manifest"
    if manifest in found and not any(manifest.glob("part-*.parquet")):
        found.remove(manifest)  # a folder of that name that holds no parts is not ours
    return sorted(found)


def legacy_message(out: str | Path) -> str:
    """What a reader of an old-layout folder is told, or "" for a folder in this layout."""
    found = legacy_state(out)
    if not found:
        return ""
    names = ", ".join(path.name for path in found)
    return (
        f"{out} holds build state in the layout of an earlier version ({names}); the next "
        f"`seagull build` into it moves it to {state_dir(out)} and resumes, or remove it to publish as is"
    )


def migrate_legacy(out: str | Path) -> list[tuple[Path, Path]]:
    """Move the state of an old-layout `out` into its state folder; return (old, new) per move.

    Call only while holding the folder's lock (the old lock, if any, is `pipeline.build_lock`'s to
    check). Renames only: nothing is copied, and a killed migration resumes on the next build.

    Raises:
        FileExistsError: the same state exists in both layouts (names both; remove the older).
        OSError: the state folder is on another file system than `out` (says what to move by hand).
    """
    out = Path(out)
    moves = []
    for old_name, new_name in LEGACY_MOVES.items():
        old, new = out / old_name, state_dir(out) / new_name
        if not old.exists() or (old_name == "manifest" and not any(old.glob("part-*.parquet"))):
            continue
        if new.exists():
            raise FileExistsError(
                f"{old} (an earlier version's build state) and {new} both exist: remove the one of the "
                "older build, then run the build again"
            )
        new.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(old, new)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            raise OSError(
                error.errno, f"{old} is on another file system than {new.parent}: move it there by hand"
            ) from error
        moves.append((old, new))
    return moves
