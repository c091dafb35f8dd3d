"""Keep an output folder equal to the current build's plan.

Called by the build once it holds the folder's lock (`pipeline.build_lock`), before any chunk runs:
- `sweep_temporaries` removes the hidden temporaries (`.<name>.<pid>.tmp`) of builds that died: with
  the lock held no other build writes here, so every temporary found then belongs to a dead one;
- `prune_to_plan` removes the shards, stats, manifest parts and chunk records of every chunk that is
  not finished for this plan (a chunk beyond the plan, from an earlier `--chunk-size`, `--limit` or
  `--sample`, or one about to be rebuilt), and the merged outputs (manifest, card, report) that the
  build writes again at its end. So whatever happens next, the folder never holds a shard of another
  plan, and a folder whose state has no `build_report.json` is one whose last build was killed.

Only names the build itself writes are touched (`seagull100w-NNNNNN.tar`, …); other files stay. The
state files live beside the folder (`pipeline.build_state`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from pathlib import Path

from pipeline import build_state
from pipeline.atomic_io import write_text_atomic
from pipeline.build_config import BuildConfig, build_command
from pipeline.shards.card import CARD_NAME, HISTOGRAM_FIGURE, QUALITY_FIGURE
from pipeline.shards.manifest import MANIFEST_NAME
from pipeline.shards.writer import STATS_SUFFIX, ShardConfig

MERGED_IN_FOLDER = (MANIFEST_NAME, CARD_NAME, QUALITY_FIGURE, HISTOGRAM_FIGURE)
MERGED_OUTPUTS = (*MERGED_IN_FOLDER, build_state.REPORT_NAME)  # names; the report is in the state


def write_plan(out: str | Path, config: BuildConfig, cwd: str) -> Path:
    """Record the build's config and working directory in the folder (before anything else), so that
    `seagull verify` can print the exact command that repairs it, even after a killed build."""
    path = build_state.plan_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"config": config.to_json(), "cwd": cwd}
    write_text_atomic(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def rebuild_command(out: str | Path) -> str | None:
    """`cd <cwd> && seagull build …` that repeats the folder's recorded build, or None if unknown."""
    try:
        record = json.loads(build_state.plan_path(out).read_text())
        config = BuildConfig.from_json(record["config"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return f"cd {shlex.quote(record['cwd'])} && {build_command(config)}"


def sweep_temporaries(out: str | Path) -> list[Path]:
    """Remove the temporaries that dead builds left in the folder and its build state; call only
    while holding its lock (a build waiting for the lock names its own `build.lock.*.tmp`, unhidden)."""
    out = Path(out)
    folders = (out, build_state.state_dir(out), build_state.parts_dir(out), build_state.chunks_dir(out))
    stale = [path for folder in folders if folder.is_dir() for path in folder.glob(".*.tmp")]
    for path in stale:
        path.unlink(missing_ok=True)
    return sorted(stale)


def chunk_files(out: str | Path, config: ShardConfig) -> dict[Path, int]:
    """Every file of the folder that belongs to a chunk, with the chunk it belongs to."""
    out = Path(out)
    shard = re.compile(rf"{re.escape(config.prefix)}-(\d{{6}})(\.tar|{re.escape(STATS_SUFFIX)})")
    owners: dict[Path, int] = {}
    for path in out.glob(f"{config.prefix}-*"):
        if match := shard.fullmatch(path.name):
            owners[path] = int(match.group(1)) // config.shards_per_chunk
    state = (
        (build_state.parts_dir(out), r"part-(\d{6})\.parquet"),
        (build_state.chunks_dir(out), r"chunk-(\d{6})\.json"),
    )
    for folder, pattern in state:
        for path in folder.glob("*") if folder.is_dir() else []:
            if match := re.fullmatch(pattern, path.name):
                owners[path] = int(match.group(1))
    return owners


def prune_to_plan(out: str | Path, keep: Iterable[int], config: ShardConfig) -> list[Path]:
    """Remove every chunk file not of a chunk in `keep` (finished chunks of this plan), and the merged
    outputs; return what was removed. Call only while holding the folder's lock."""
    out = Path(out)
    kept = set(keep)
    removed = [path for path, chunk in chunk_files(out, config).items() if chunk not in kept]
    merged = [out / name for name in MERGED_IN_FOLDER] + [build_state.report_path(out)]
    removed += [path for path in merged if path.exists()]
    for path in removed:
        path.unlink(missing_ok=True)
    return sorted(removed)
