"""Deterministic, atomic shard writing: one call per chunk of references, stats JSON written last.

A chunk (a list of `RefGroup`s) owns the shard numbers `chunk * shards_per_chunk + part`, so chunks
written in parallel never race for a name. Each shard is written to a hidden temporary name,
fsync'ed and renamed; the chunk's manifest part follows, and each shard's `<name>_stats.json`
(count, bytes, sha256) is written last, img2dataset style: a chunk whose stats exist and whose
checksums match is finished, so a re-run skips it (`chunk_is_done`), and a killed one is redone.

Bytes are reproducible: references sorted by id, variants in taxonomy order, canonical JSON, a fixed
PNG level, and tar headers with mtime 0, uid/gid 0, uname/gname "seagull", mode 0444 (USTAR).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import webdataset as wds

from pipeline.atomic_io import atomic_file, write_text_atomic
from pipeline.build_state import manifest_part_path
from pipeline.shards.card import write_card
from pipeline.shards.features import SAMPLE_FEATURES
from pipeline.shards.format import FORMAT_VERSION, REFERENCE_TYPE, RefGroup, encode_group
from pipeline.shards.manifest import (
    manifest_rows,
    merge_manifest,
    write_manifest_part,
)

TAR_BLOCK = 512  # a tar header and data padding unit: used to predict a shard's size
STATS_SUFFIX = "_stats.json"


@dataclass(frozen=True)
class ShardConfig:
    """How shards are named, sized and encoded."""

    prefix: str = "seagull100w"  # shard names: <prefix>-000000.tar
    # About 1 GB per shard: large enough for fast sequential reads, small enough to rebuild or
    # to spread over many DataLoader workers (8,156 refs x 121 images ~ 1.8 TB at 1024 px).
    maxsize: int = 1_000_000_000
    # Shard numbers a chunk owns. 1 keeps names contiguous (one shard per chunk; size the chunk to
    # ~maxsize); >1 lets a chunk split into up to that many shards at reference boundaries.
    shards_per_chunk: int = 1
    # zlib level 1: over 5 photos at 1,024 px (clean, noisy, blurred) 1,040 KB in 58 ms; level 3 saves
    # 3 % for +33 % time, level 6 8 % for 3.2x; level 0 is 2x bigger (OpenCV 5.0, one thread).
    png_compression: int = 1


@dataclass(frozen=True)
class ShardStats:
    """What `<shard>_stats.json` records about one finished shard."""

    shard: str
    chunk: int
    part: int
    parts: int
    count: int
    n_references: int
    n_distorted: int
    n_roi_labels: int
    bytes: int
    sha256: str
    first_key: str
    last_key: str
    format_version: int = FORMAT_VERSION
    # Content digests (`keys_digest`) that `seagull verify` checks the shard and the manifest against;
    # empty in stats written before they existed (then only counts are compared).
    keys_sha256: str = ""  # the sorted keys of every sample in the shard
    labelled_keys_sha256: str = ""  # the sorted distinct keys that have manifest rows
    manifest_part_sha256: str = ""  # the chunk's manifest part (build state), written before the stats


def shard_name(config: ShardConfig, index: int) -> str:
    """The file name of shard `index`: `<prefix>-<index:06d>.tar`."""
    return f"{config.prefix}-{index:06d}.tar"


def stats_path(shard_path: Path) -> Path:
    """`<dir>/<name>_stats.json` for `<dir>/<name>.tar`."""
    return shard_path.with_name(shard_path.name.removesuffix(".tar") + STATS_SUFFIX)


def keys_digest(keys: Iterable[str]) -> str:
    """sha256 of a set of sample keys (sorted, one per line): what stats record of a shard's keys."""
    return hashlib.sha256("\n".join(sorted(set(keys))).encode()).hexdigest()


def read_stats(path: Path) -> ShardStats:
    """Read one stats JSON (raises ValueError naming the file when it is malformed)."""
    try:
        return ShardStats(**json.loads(Path(path).read_text()))
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{path}: malformed shard stats ({error}); delete it and rebuild the chunk"
        ) from error


def write_chunk(
    out_dir: Path,
    chunk_index: int,
    groups: Iterable[RefGroup],
    config: ShardConfig,
    encode: Callable[[Any, int], list[dict[str, Any]]] = encode_group,
) -> list[ShardStats]:
    """Write one chunk's shard(s), its manifest part and, last, one stats JSON per shard.

    Args:
        out_dir: the shard directory (created if missing).
        chunk_index: 0-based; the chunk owns shards chunk_index * shards_per_chunk + 0.. .
        groups: the chunk's references with variants, ROIs and labels, in any order.
        config: naming, size and encoding.
        encode: (group, png_compression) -> the group's samples; SEAGULL-3k passes its own
            (pipeline.sg3k.shards: one authentic image per sample, no reference).

    Returns:
        the stats of the shards written, in shard order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    first = chunk_index * config.shards_per_chunk
    owned = [out_dir / shard_name(config, first + part) for part in range(config.shards_per_chunk)]
    for path in owned:  # un-finish the chunk before touching its shards
        stats_path(path).unlink(missing_ok=True)
    groups = sorted(groups, key=lambda group: group.ref_id)
    duplicates = sorted({a.ref_id for a, b in zip(groups, groups[1:], strict=False) if a.ref_id == b.ref_id})
    if duplicates:
        raise ValueError(
            f"chunk {chunk_index}: references {duplicates} appear twice; each reference belongs to one chunk"
        )
    encoded = [encode(group, config.png_compression) for group in groups]
    parts = _split_parts(encoded, config)
    results, rows = [], []
    for part, samples in enumerate(parts):
        path = owned[part]
        size, digest = _write_tar_atomic(path, samples)
        records = [json.loads(sample["json"]) for sample in samples]
        part_rows = [row for record in records for row in manifest_rows(record, path.name)]
        rows += part_rows
        results.append(_stats(path.name, chunk_index, part, len(parts), records, part_rows, size, digest))
    for path in owned[len(parts) :]:  # a previous, differently split run may have left more parts
        path.unlink(missing_ok=True)
    part_digest = sha256_file(write_manifest_part(out_dir, chunk_index, rows))
    results = [replace(stats, manifest_part_sha256=part_digest) for stats in results]
    for path, stats in zip(owned, results, strict=False):
        write_text_atomic(stats_path(path), json.dumps(asdict(stats), indent=1, sort_keys=True) + "\n")
    return results


def chunk_is_done(out_dir: Path, chunk_index: int, config: ShardConfig, verify: bool = True) -> bool:
    """True if every shard of the chunk has readable stats, its manifest part is intact and (verify)
    the shards' sha256 match their stats: the test a resumed build uses to skip a chunk. Anything
    unreadable (a malformed stats file, a truncated part) means False: the chunk is rebuilt."""
    out_dir = Path(out_dir)
    stats = _chunk_stats(out_dir, chunk_index, config)
    part = manifest_part_path(out_dir, chunk_index)
    if stats is None or not part.is_file() or not _part_intact(part, stats):
        return False
    for shard in stats:
        path = out_dir / shard.shard
        if not path.is_file() or path.stat().st_size != shard.bytes:
            return False
        if verify and sha256_file(path) != shard.sha256:
            return False
    return True


def chunk_stats_digests(out_dir: Path, chunk_index: int, config: ShardConfig) -> list[str] | None:
    """The sha256 the chunk's stats record for its shards, or None when they are missing or unreadable."""
    stats = _chunk_stats(Path(out_dir), chunk_index, config)
    return None if stats is None else [s.sha256 for s in stats]


def _chunk_stats(out_dir: Path, chunk_index: int, config: ShardConfig) -> list[ShardStats] | None:
    """The stats of every shard of a chunk, or None when one is missing or malformed."""
    first = chunk_index * config.shards_per_chunk
    try:
        head = read_stats(stats_path(out_dir / shard_name(config, first)))
        stats = [head] + [
            read_stats(stats_path(out_dir / shard_name(config, first + part)))
            for part in range(1, head.parts)
        ]
    except (OSError, ValueError):
        return None
    expected = [shard_name(config, first + part) for part in range(head.parts)]
    return stats if [s.shard for s in stats] == expected else None


def _part_intact(part: Path, stats: list[ShardStats]) -> bool:
    """The manifest part has the sha256 its stats record (or, for older stats, reads with their rows)."""
    if stats[0].manifest_part_sha256:
        return sha256_file(part) == stats[0].manifest_part_sha256
    try:
        return pq.read_metadata(part).num_rows == sum(s.n_roi_labels for s in stats)
    except (OSError, ValueError, pa.ArrowException):
        return False


def sha256_file(path: Path, block: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _split_parts(encoded: list[list[dict[str, Any]]], config: ShardConfig) -> list[list[dict[str, Any]]]:
    """Group the references' samples into at most shards_per_chunk parts of about maxsize bytes,
    never splitting a reference from its variants (the last part takes any overflow)."""
    parts: list[list[dict[str, Any]]] = [[]]
    size = 0
    for samples in encoded:
        if parts[-1] and size >= config.maxsize and len(parts) < config.shards_per_chunk:
            parts.append([])
            size = 0
        parts[-1].extend(samples)
        size += sum(
            _member_size(value) for sample in samples for key, value in sample.items() if key != "__key__"
        )
    return parts


def _member_size(data: bytes) -> int:
    return TAR_BLOCK + -(-len(data) // TAR_BLOCK) * TAR_BLOCK


class _HashingFile:
    """A write-only file wrapper that counts and hashes what passes through it."""

    def __init__(self, handle):
        self.handle, self.size, self.digest = handle, 0, hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def _write_tar_atomic(path: Path, samples: list[dict[str, Any]]) -> tuple[int, str]:
    """Write samples as a tar atomically (pipeline.atomic_io); return (bytes, sha256)."""
    with atomic_file(path, "wb") as handle:
        hashing = _HashingFile(handle)
        # `with` closes the tar stream (end-of-archive blocks) before the file, even on errors.
        with wds.TarWriter(
            hashing, user="seagull", group="seagull", mode=0o444, encoder=False, mtime=0
        ) as tar:
            for sample in samples:
                tar.write(sample)
    return hashing.size, hashing.digest.hexdigest()


def _stats(name, chunk, part, parts, records, rows, size, digest) -> ShardStats:
    n_refs = sum(record["dist_type"] == REFERENCE_TYPE for record in records)
    return ShardStats(
        shard=name,
        chunk=chunk,
        part=part,
        parts=parts,
        count=len(records),
        n_references=n_refs,
        n_distorted=len(records) - n_refs,
        n_roi_labels=len(rows),
        bytes=size,
        sha256=digest,
        first_key=records[0]["key"] if records else "",
        last_key=records[-1]["key"] if records else "",
        keys_sha256=keys_digest(record["key"] for record in records),
        labelled_keys_sha256=keys_digest(row["key"] for row in rows),
    )


def list_stats(out_dir: Path) -> list[ShardStats]:
    """The stats of every finished shard in a directory, in name order."""
    return [read_stats(path) for path in sorted(Path(out_dir).glob(f"*{STATS_SUFFIX}"))]


def finalize(
    out_dir: Path,
    chunks: Iterable[int] | None = None,
    title: str = "SEAGULL-100w",
    features: Mapping[str, Any] | None = SAMPLE_FEATURES,
) -> Path:
    """End of a build: merge the manifest parts (all, or those of `chunks`) into manifest.parquet
    and write the dataset card; return the card's path (README.md in out_dir). `features`: the
    samples' types the card declares (`pipeline.shards.features`; None for another sample format).

    Temporaries of killed writers are not touched here: another build may own them. The build
    sweeps those of dead builds once it holds the folder's lock (`pipeline.build_folder`)."""
    merge_manifest(out_dir, chunks)
    return write_card(out_dir, list_stats(out_dir), title=title, features=features)
