"""One chunk of RAW files end to end: decode → reference + variants → masks → labels → shard.

`process_chunk` is the unit of work of the build (one Prefect task per chunk). It is a pure function
of its inputs (paths, `BuildConfig`): the same inputs give byte-identical shards whichever worker runs
it. Error policy: a RAW file that fails in decode, render, masks or labels is recorded as a
`FileFailure` and the chunk goes on; an `OSError` while writing the shard is transient (disk, network
file system) and propagates so that the caller can retry the whole chunk.

A finished chunk leaves a record `chunks/chunk-NNNNNN.json` in the build state (written last, atomically) with its
inputs, the config fingerprint, its shards' sha256 and its failures; `find_done` trusts a chunk only
when that record matches and every shard still has its checksum, so a killed or corrupted chunk is
rebuilt and a finished one is skipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline import build_state, stages
from pipeline.atomic_io import write_text_atomic
from pipeline.build_config import BuildConfig
from pipeline.decode import decode_raw
from pipeline.raw_files import check_input_file, ref_id_of
from pipeline.shards import RefGroup, ShardConfig, chunk_is_done, write_chunk
from pipeline.shards.writer import chunk_stats_digests

STAGES = ("load", "decode", "render", "masks", "labels", "write")
# One shard per chunk: names stay contiguous and a chunk's shard is its unit of resume.
SHARD_CONFIG = ShardConfig(shards_per_chunk=1)


@dataclass(frozen=True)
class ChunkSpec:
    """Which RAW files make chunk `index` (sorted paths, as str so that it pickles to any worker)."""

    index: int
    paths: tuple[str, ...]


@dataclass(frozen=True)
class FileFailure:
    """One RAW file that could not be built: the stage it failed in and the error text."""

    path: str
    ref_id: str
    stage: str
    error: str


@dataclass
class ChunkResult:
    """What a chunk produced; also the JSON record that marks the chunk finished.

    Attributes:
        index: the chunk index.
        fingerprint: `BuildConfig.fingerprint()` of the build that wrote it.
        inputs: [{"name", "bytes"}] of its RAW files, in order.
        refs: ids of the references written.
        failures: files recorded as failed (the chunk went on without them).
        timings: seconds spent per stage (`STAGES`), summed over the chunk's files.
        shards: [{"name", "bytes", "sha256", "count"}] of the shard files written.
        skipped: True when a re-run found the chunk finished and did not rebuild it.
    """

    index: int
    fingerprint: str
    inputs: list[dict[str, Any]]
    refs: list[str] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    shards: list[dict[str, Any]] = field(default_factory=list)
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("skipped")
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ChunkResult:
        values = dict(record)
        values["failures"] = [FileFailure(**f) for f in record.get("failures", [])]
        return cls(**values)


ProgressFn = Callable[[str, int, int], None]  # (ref_id, files done, files in chunk)


def process_chunk(spec: ChunkSpec, config: BuildConfig, progress: ProgressFn | None = None) -> ChunkResult:
    """Build chunk `spec` into its shard(s) under `config.out` and record it as finished.

    Args:
        spec: the chunk's index and RAW paths.
        config: the build; segmenter/detector/metric None mean the registries' defaults.
        progress: called as progress(ref_id, done, total) after each file (finished or failed).

    Returns:
        The chunk's result; its record is on disk when this returns.

    Raises:
        OSError: writing the shard or the record failed (transient; retry the chunk).
    """
    out = Path(config.out)
    record_path(out, spec.index).unlink(missing_ok=True)  # un-finish the chunk before rebuilding it
    result = ChunkResult(spec.index, config.fingerprint(), describe_inputs(spec.paths))
    timings = dict.fromkeys(STAGES, 0.0)
    with _timed(timings, "load"):
        components = stages.load_components(config)
    groups = []
    for done, path in enumerate(spec.paths, start=1):
        group = _build_reference(path, config, components, timings, result.failures)
        if group is not None:
            groups.append(group)
            result.refs.append(group.ref_id)
        if progress is not None:
            progress(ref_id_of(path), done, len(spec.paths))
    with _timed(timings, "write"):
        written = write_chunk(out, spec.index, groups, SHARD_CONFIG)
    result.shards = [
        {"name": s.shard, "bytes": s.bytes, "sha256": s.sha256, "count": s.count} for s in written
    ]
    result.timings = {k: round(v, 4) for k, v in timings.items()}
    write_record(out, result)
    return result


def _build_reference(
    path: str,
    config: BuildConfig,
    components: stages.Components,
    timings: dict[str, float],
    failures: list[FileFailure],
) -> RefGroup | None:
    """Run decode → render → masks → labels on one RAW file; a failure is recorded and gives None."""
    ref_id, stage = ref_id_of(path), "input"
    try:
        check_input_file(path)
        stage = "decode"  # decode and render are timed apart: a decode failure names its stage
        with _timed(timings, stage):
            decoded = decode_raw(path, size=config.size)
        stage = "render"
        with _timed(timings, stage):
            rendered = stages.render_decoded(
                decoded, components.presets, config.types, config.levels, config.seed
            )
        stage = "masks"
        with _timed(timings, stage):
            rois = stages.segment(rendered.reference, ref_id, components.masks, config.seed, decoded.raw_size)
        stage = "labels"
        with _timed(timings, stage):
            labels = stages.label(rendered.reference, rois, rendered.variants, components.metric)
    except Exception as error:  # the error policy: record the file, go on
        failures.append(FileFailure(str(path), ref_id, stage, f"{type(error).__name__}: {error}"))
        return None
    return stages.ref_group(ref_id, path, rendered, rois, labels, components.provenance)


def describe_inputs(paths: tuple[str, ...]) -> list[dict[str, Any]]:
    """[{"name", "bytes"}] per RAW file; a missing file gets bytes -1 (it fails in decode)."""
    return [
        {"name": Path(p).name, "bytes": Path(p).stat().st_size if Path(p).exists() else -1} for p in paths
    ]


def find_done(out: Path, spec: ChunkSpec, config: BuildConfig) -> ChunkResult | None:
    """The recorded result of a finished chunk, or None when it must be (re)built.

    A chunk counts as finished only if its record exists, was written by a build with the same
    fingerprint and the same input files, recorded no failed file, and each of its shards still has
    its recorded sha256.
    """
    path = record_path(out, spec.index)
    if not path.exists():
        return None
    try:
        result = ChunkResult.from_json(json.loads(path.read_text()))
        recorded = [s["sha256"] for s in result.shards]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # an unreadable record: rebuild the chunk
    if result.fingerprint != config.fingerprint() or result.inputs != describe_inputs(spec.paths):
        return None
    if result.failures:
        return None  # retry its bad files: they may have been fixed (or the failure was transient)
    if not chunk_is_done(out, spec.index, SHARD_CONFIG, verify=True):
        return None
    if chunk_stats_digests(out, spec.index, SHARD_CONFIG) != recorded:
        return None  # the shard was rebuilt by another build since this record was written
    result.skipped = True
    return result


def record_path(out: Path, index: int) -> Path:
    return build_state.chunk_record_path(out, index)


def write_record(out: Path, result: ChunkResult) -> None:
    """Write the chunk's record atomically (temporary name, fsync, rename): the last act of a chunk."""
    path = record_path(out, result.index)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(result.to_json(), indent=1, sort_keys=True) + "\n")


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] += time.perf_counter() - start


def plan_chunks(paths: list[Path], chunk_size: int) -> list[ChunkSpec]:
    """Split sorted RAW paths into chunks of `chunk_size`; chunk i always gets the same files."""
    ordered = sorted(str(p) for p in paths)
    return [
        ChunkSpec(index, tuple(ordered[start : start + chunk_size]))
        for index, start in enumerate(range(0, len(ordered), chunk_size))
    ]
