"""Example images for the demo page: a few references and distorted images taken from shards."""

from __future__ import annotations

import glob
import json
import tarfile
from pathlib import Path

from pipeline.shards.format import IMAGE_EXT, JSON_EXT, REFERENCE_TYPE

# Levels shown per distortion type: a mild and a strong one make the point of the task.
EXAMPLE_LEVELS = (6, 16)


def extract_examples(shard_dir: Path, out: Path, limit: int = 6) -> list[Path]:
    """Write up to `limit` PNGs from the first shard of `shard_dir` into `out`, references first.

    Takes the first reference and, of its distorted images, one per type at the levels of
    EXAMPLE_LEVELS in turn. Returns [] when there are no shards (the page then offers upload only).
    """
    shards = sorted(glob.glob(str(shard_dir / "*.tar")))
    if not shards:
        return []
    out.mkdir(parents=True, exist_ok=True)
    chosen: list[Path] = []
    seen_types: set[str] = set()
    with tarfile.open(shards[0]) as tar:
        for key, record, png in _samples(tar):
            if _wanted(record, chosen, seen_types):
                path = out / f"{key}.png"
                path.write_bytes(png)
                chosen.append(path)
                seen_types.add(record["dist_type"])
            if len(chosen) >= limit:
                break
    return chosen


def _wanted(record: dict, chosen: list[Path], seen_types: set[str]) -> bool:
    """The first reference; then, of its distorted images, one per type, mild and strong in turn."""
    kind = record.get("dist_type")
    if kind == REFERENCE_TYPE:
        return not chosen
    if not chosen or kind in seen_types:
        return False
    return record.get("level") == EXAMPLE_LEVELS[(len(chosen) - 1) % len(EXAMPLE_LEVELS)]


def _samples(tar: tarfile.TarFile):
    """(key, JSON record, PNG bytes) of each sample, in shard order (JSON and PNG are adjacent)."""
    pending: dict[str, dict[str, bytes]] = {}
    for member in tar:
        key, _, ext = member.name.partition(".")
        if ext not in (IMAGE_EXT, JSON_EXT) or not member.isfile():
            continue
        parts = pending.setdefault(key, {})
        parts[ext] = tar.extractfile(member).read()
        if len(parts) == 2:
            del pending[key]
            yield key, json.loads(parts[JSON_EXT]), parts[IMAGE_EXT]
