"""Check a shard directory against the stats the writer recorded: sha256, size, samples and keys.

Statuses:
    ok          the shard's bytes hash to its recorded sha256 and it holds its recorded sample keys
    corrupted   sha256, size, sample count or key set differ, or the tar cannot be read
    missing     a stats JSON names a shard that is not there
    unfinished  a shard with no stats JSON: its chunk never finished (killed build)
`verify_manifest` checks content too: for each shard, the keys manifest.parquet lists are exactly the
labelled keys its stats record (digest), with the recorded number of rows, and each chunk's manifest
part has its recorded sha256. A build re-run (`seagull build` with the same parameters, see
`rebuild_command`) rewrites every chunk that is not intact, removes what is not of its plan, and merges
the manifest again.
"""

from __future__ import annotations

import tarfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipeline import build_state
from pipeline.build_state import manifest_part_path
from pipeline.shards.manifest import MANIFEST_NAME
from pipeline.shards.writer import STATS_SUFFIX, keys_digest, read_stats, sha256_file

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
        try:
            stats = read_stats(path)
        except ValueError as error:
            name = path.name.removesuffix(STATS_SUFFIX) + ".tar"
            checks[name] = ShardCheck(name, "corrupted", f"unreadable stats JSON: {error}")
            continue
        checks[stats.shard] = check_shard(
            shard_dir / stats.shard, stats.sha256, stats.bytes, stats.count, stats.keys_sha256
        )
    for path in tars:
        if path.name not in checks:
            checks[path.name] = ShardCheck(path.name, "unfinished", "no stats JSON: its chunk never finished")
    return [checks[name] for name in sorted(checks)]


def check_shard(path: Path, sha256: str, size: int, count: int, keys_sha256: str = "") -> ShardCheck:
    """Compare one shard with its recorded sha256, byte size, sample count and key-set digest."""
    if not path.exists():
        return ShardCheck(path.name, "missing", "recorded in its stats JSON but not on disk")
    actual_size = path.stat().st_size
    if actual_size != size:
        return ShardCheck(path.name, "corrupted", f"{actual_size} bytes, recorded {size}")
    digest = sha256_file(path)
    if digest != sha256:
        return ShardCheck(path.name, "corrupted", f"sha256 {digest[:16]}…, recorded {sha256[:16]}…")
    try:
        keys = sample_keys(path)
    except (tarfile.TarError, OSError) as error:
        return ShardCheck(path.name, "corrupted", f"unreadable tar: {error}")
    if len(keys) != count:
        return ShardCheck(path.name, "corrupted", f"{len(keys)} samples, recorded {count}")
    if keys_sha256 and keys_digest(keys) != keys_sha256:
        return ShardCheck(path.name, "corrupted", "its sample keys differ from the recorded key set")
    return ShardCheck(path.name, "ok", f"{count} samples")


def sample_keys(path: Path) -> set[str]:
    """The distinct sample keys (member names up to the first dot) in a tar."""
    with tarfile.open(path, "r|") as archive:
        return {member.name.split(".", 1)[0] for member in archive if member.isfile()}


def count_samples(path: Path) -> int:
    """Number of distinct sample keys in a tar."""
    return len(sample_keys(path))


def verify_manifest(shard_dir: Path) -> list[str]:
    """Disagreements between manifest.parquet, the manifest parts and the shards' stats, or [] if none.

    Per shard, the manifest must hold the recorded number of rows and exactly the recorded labelled
    keys (`labelled_keys_sha256`), and each chunk's part its recorded sha256. A manifest that misses a
    shard's rows, lists other keys, or lists a shard without stats is stale: the build did not
    finalize after its last chunk.
    """
    shard_dir = Path(shard_dir)
    stats = []
    for stats_file in sorted(shard_dir.glob(f"*{STATS_SUFFIX}")):
        try:
            stats.append(read_stats(stats_file))
        except ValueError:
            continue  # reported by verify_shards
    problems = _part_problems(shard_dir, stats)
    path = shard_dir / MANIFEST_NAME
    if not path.exists():
        return [*problems, f"{path} is missing: the build never finalized"]
    try:
        table = pq.read_table(path, columns=["shard", "key"])
    except (OSError, ValueError) as error:
        return [*problems, f"{MANIFEST_NAME} is unreadable: {error}"]
    rows = Counter(table.column("shard").to_pylist())
    keys: dict[str, set[str]] = {}
    for shard, key in zip(table.column("shard").to_pylist(), table.column("key").to_pylist(), strict=True):
        keys.setdefault(shard, set()).add(key)
    for shard in sorted(stats, key=lambda s: s.shard):
        if rows.get(shard.shard, 0) != shard.n_roi_labels:
            problems.append(
                f"{MANIFEST_NAME}: {rows.get(shard.shard, 0)} rows for {shard.shard}, its stats record "
                f"{shard.n_roi_labels}"
            )
        elif (
            shard.labelled_keys_sha256
            and keys_digest(keys.get(shard.shard, ())) != shard.labelled_keys_sha256
        ):
            problems.append(f"{MANIFEST_NAME}: the keys listed for {shard.shard} are not the keys it holds")
    problems += [
        f"{MANIFEST_NAME}: rows for {shard}, which has no stats"
        for shard in sorted(set(rows) - {s.shard for s in stats})
    ]
    return problems


def _part_problems(shard_dir: Path, stats: list) -> list[str]:
    """Manifest parts missing or differing from the sha256 their chunk's stats record.

    A folder without build state (`pipeline.build_state`) is a published or moved one: its merged
    manifest is still checked against every shard's key digest by the caller.
    """
    if not build_state.parts_dir(shard_dir).is_dir():
        return []
    problems = []
    for chunk in sorted({s.chunk for s in stats if s.manifest_part_sha256}):
        digest = next(s.manifest_part_sha256 for s in stats if s.chunk == chunk and s.manifest_part_sha256)
        part = manifest_part_path(shard_dir, chunk)
        if not part.is_file():
            problems.append(f"{part} is missing")
        elif sha256_file(part) != digest:
            problems.append(f"{part} is corrupted (sha256 differs from its stats)")
    return problems


def failure_message(
    checks: list[ShardCheck], shard_dir: Path, manifest_problems: list[str] = (), command: str | None = None
) -> str:
    """A message naming every bad shard or manifest problem and the fix, or "" when all are ok.

    Args:
        command: the exact `seagull build` command of the folder's last build (`rebuild_command`), if known.
    """
    bad = [check for check in checks if check.status != "ok"]
    if not bad and not manifest_problems:
        return ""
    lines = [f"{len(bad)} of {len(checks)} shards in {shard_dir} failed verification:"]
    lines += [f"  {check.shard}: {check.status} ({check.detail})" for check in bad]
    lines += [f"  {problem}" for problem in manifest_problems]
    how = f"`{command}`" if command else f"`seagull build … --out {shard_dir}` with its parameters"
    lines.append(
        f"Fix: run the folder's build again: {how}. It checks every chunk's shards, stats and manifest "
        "part, skips the intact ones, rebuilds the others, removes files of any other plan and merges "
        "the manifest again."
    )
    return "\n".join(lines)
