"""Check a shard directory against the stats the writer recorded: sha256, size and sample count.

Statuses:
    ok          the shard's bytes hash to its recorded sha256 and it holds its recorded samples
    corrupted   sha256, size or sample count differ, or the tar cannot be read
    missing     a stats JSON names a shard that is not there
    unfinished  a shard with no stats JSON: its chunk never finished (killed build)
A build re-run (`seagull build` with the same parameters) rewrites every shard that is not ok and
skips the others.
"""

from __future__ import annotations

import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.shards.manifest import MANIFEST_NAME
from pipeline.shards.writer import STATS_SUFFIX, list_stats, read_stats, sha256_file

STATUSES = ("ok", "corrupted", "missing", "unfinished")


@dataclass(frozen=True)
class ShardCheck:
    """The verdict on one shard."""

    shard: str
    status: str
    detail: str = ""


def verify_shards(shard_dir: Path) -> list[ShardCheck]:
    """Verify every shard of `shard_dir` (in name order).

    Raises:
        FileNotFoundError: `shard_dir` does not exist or holds neither shards nor stats.
    """
    shard_dir = Path(shard_dir)
    stats_files = sorted(shard_dir.glob(f"*{STATS_SUFFIX}")) if shard_dir.is_dir() else []
    tars = sorted(shard_dir.glob("*.tar")) if shard_dir.is_dir() else []
    if not stats_files and not tars:
        raise FileNotFoundError(
            f"{shard_dir}: no shards or shard stats; is this the --out folder of a build?"
        )
    checks = {}
    for path in stats_files:
        stats = read_stats(path)
        checks[stats.shard] = check_shard(shard_dir / stats.shard, stats.sha256, stats.bytes, stats.count)
    for path in tars:
        if path.name not in checks:
            checks[path.name] = ShardCheck(path.name, "unfinished", "no stats JSON: its chunk never finished")
    return [checks[name] for name in sorted(checks)]


def check_shard(path: Path, sha256: str, size: int, count: int) -> ShardCheck:
    """Compare one shard with its recorded sha256, byte size and sample count."""
    if not path.exists():
        return ShardCheck(path.name, "missing", "recorded in its stats JSON but not on disk")
    actual_size = path.stat().st_size
    if actual_size != size:
        return ShardCheck(path.name, "corrupted", f"{actual_size} bytes, recorded {size}")
    digest = sha256_file(path)
    if digest != sha256:
        return ShardCheck(path.name, "corrupted", f"sha256 {digest[:16]}…, recorded {sha256[:16]}…")
    try:
        samples = count_samples(path)
    except (tarfile.TarError, OSError) as error:
        return ShardCheck(path.name, "corrupted", f"unreadable tar: {error}")
    if samples != count:
        return ShardCheck(path.name, "corrupted", f"{samples} samples, recorded {count}")
    return ShardCheck(path.name, "ok", f"{count} samples")


def count_samples(path: Path) -> int:
    """Number of distinct sample keys (member names up to the first dot) in a tar."""
    with tarfile.open(path, "r|") as archive:
        return len({member.name.split(".", 1)[0] for member in archive if member.isfile()})


def verify_manifest(shard_dir: Path) -> list[str]:
    """Disagreements between manifest.parquet and the shards' stats (rows per shard), or [] if none.

    A manifest that misses a shard's rows, or lists a shard without stats, is stale: the build did not
    finalize after its last chunk.
    """
    path = Path(shard_dir) / MANIFEST_NAME
    if not path.exists():
        return [f"{path} is missing: the build never finalized"]
    rows = Counter(pq.read_table(path, columns=["shard"]).column("shard").to_pylist())
    expected = {stats.shard: stats.n_roi_labels for stats in list_stats(shard_dir)}
    problems = [
        f"{MANIFEST_NAME}: {rows.get(shard, 0)} rows for {shard}, its stats record {count}"
        for shard, count in sorted(expected.items())
        if rows.get(shard, 0) != count
    ]
    problems += [
        f"{MANIFEST_NAME}: rows for {shard}, which has no stats"
        for shard in sorted(set(rows) - set(expected))
    ]
    return problems


def failure_message(checks: list[ShardCheck], shard_dir: Path, manifest_problems: list[str] = ()) -> str:
    """A message naming every bad shard or manifest problem and the fix, or "" when all are ok."""
    bad = [check for check in checks if check.status != "ok"]
    if not bad and not manifest_problems:
        return ""
    lines = [f"{len(bad)} of {len(checks)} shards in {shard_dir} failed verification:"]
    lines += [f"  {check.shard}: {check.status} ({check.detail})" for check in bad]
    lines += [f"  {problem}" for problem in manifest_problems]
    lines.append(
        f"Fix: run the same build again (`seagull build … --out {shard_dir}`): it checks every shard's "
        "sha256, skips the good ones, rewrites the bad ones and merges the manifest again."
    )
    return "\n".join(lines)
