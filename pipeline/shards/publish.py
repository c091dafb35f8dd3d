"""Copy a finished shard folder's consumer files into a folder that can be pushed to the Hub as it is.

A build keeps its state (work files, chunk records, manifest parts, the build report) beside the
folder (`pipeline.build_state`); a folder built before that layout holds it inside. `publish` copies
only the tars, their stats, the merged manifest, the dataset card and its figures, checks each
tar's sha256 against its stats on the way (the copy reads every byte anyway), and renames the result
into place only when all is copied, so a failed publish leaves no half folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from pipeline.shards.card import CARD_NAME, HISTOGRAM_FIGURE, QUALITY_FIGURE
from pipeline.shards.manifest import MANIFEST_NAME
from pipeline.shards.writer import STATS_SUFFIX, list_stats, stats_path

BLOCK = 1 << 22


def published_files(shard_dir: Path) -> list[Path]:
    """The files of `shard_dir` a consumer needs, in name order.

    Raises:
        FileNotFoundError: no finished shard, no manifest or no card (the build did not finish), or a
            shard whose stats exist but whose tar does not.
        ValueError: a tar without stats (its chunk never finished).
    """
    shard_dir = Path(shard_dir)
    stats = list_stats(shard_dir)
    if not stats:
        raise FileNotFoundError(f"{shard_dir}: no finished shard (*{STATS_SUFFIX}); build it first")
    unfinished = sorted({p.name for p in shard_dir.glob("*.tar")} - {s.shard for s in stats})
    if unfinished:
        raise ValueError(
            f"{shard_dir}: shards without stats {unfinished[:3]} (their chunks did not finish); "
            "run the same `seagull build` again before publishing"
        )
    for name in (MANIFEST_NAME, CARD_NAME):
        if not (shard_dir / name).is_file():
            raise FileNotFoundError(
                f"{shard_dir / name} is missing; run the same `seagull build` again: it finishes the "
                "folder (manifest and card) without redoing finished chunks"
            )
    files = [shard_dir / s.shard for s in stats] + [stats_path(shard_dir / s.shard) for s in stats]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"shards listed in their stats are missing: {missing[:3]}; rebuild them")
    extras = [shard_dir / name for name in (MANIFEST_NAME, CARD_NAME, QUALITY_FIGURE, HISTOGRAM_FIGURE)]
    return sorted(files + [path for path in extras if path.is_file()])


def publish(shard_dir: Path, out: Path, link: bool = False) -> list[Path]:
    """Copy (or hard-link) the consumer files of `shard_dir` into the new folder `out`; return them.

    Args:
        shard_dir: a finished build folder.
        out: where the folder goes; must not exist, or be an empty folder.
        link: hard-link instead of copying (same file system; the sha256 check still reads each tar).

    Raises:
        FileExistsError: `out` exists and is not empty.
        ValueError: a tar whose size or sha256 differs from its stats (names the shard and the fix).
        see `published_files`.
    """
    shard_dir, out = Path(shard_dir), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; name a new folder to publish into")
    files = published_files(shard_dir)
    expected = {s.shard: s for s in list_stats(shard_dir)}
    staging = out.with_name(f".{out.name}.publishing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for path in files:
            target = staging / path.name
            if link:
                os.link(path, target)
            digest, size = _copy_hashing(path, None if link else target)
            stats = expected.get(path.name)
            if stats is not None and (size, digest) != (stats.bytes, stats.sha256):
                raise ValueError(
                    f"{path}: size/sha256 differ from {stats_path(path).name} (corrupted); "
                    f"run the same `seagull build` again (it rewrites bad shards), then publish"
                )
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / path.name for path in files]


def _copy_hashing(source: Path, target: Path | None) -> tuple[str, int]:
    """sha256 and size of `source`, copying it to `target` on the way (None: read only)."""
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reader, open(target, "xb") if target else open(os.devnull, "wb") as writer:
        while block := reader.read(BLOCK):
            digest.update(block)
            size += len(block)
            writer.write(block)
    if target is not None:
        shutil.copystat(source, target)
    return digest.hexdigest(), size
