"""The parameters of one SEAGULL-100w build, as a frozen dataclass validated once.

`BuildConfig` is what `seagull build`, the `build-100w` deployment and the tests pass to the flow; the
chunk stage (`pipeline.chunk`) reads only this. Its `fingerprint()` covers exactly the fields that change
the bytes of a shard, so that a re-run with the same fingerprint may skip finished chunks and a re-run
with another one rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from pipeline.taxonomy import DISTORTION_TYPES, N_LEVELS_PER_TYPE

SAMPLE_PREFIX = "sample:"
RAW_SUFFIXES = (".nef", ".dng", ".cr2", ".arw", ".raf", ".orf", ".rw2", ".pef")

# Fields that do not change a shard's bytes: where things live, and how many files are taken
# (each chunk records its own input files, so `limit` is checked there).
_NOT_IN_FINGERPRINT = frozenset({"source", "out", "work_dir", "limit"})


@dataclass(frozen=True)
class BuildConfig:
    """One build of SEAGULL-100w shards.

    Attributes:
        source: a directory of RAW files, a RAISE CSV (`*.csv`), or `sample:N` for the embedded
            sample of N DNG files.
        out: output directory of the shards, manifest, dataset card and build report.
        limit: take only the first `limit` RAW files (sorted by name); None takes all.
        types: distortion types to render (subset of `DISTORTION_TYPES`); None renders all six.
        levels: levels 1..20 to render; None renders all twenty.
        size: working resolution (long side, px); None keeps full resolution.
        segmenter: segmenter registry name; None = `pipeline.masks.DEFAULT_SEGMENTER`.
        checkpoint: local weight file of the segmenter (SAM .pth), or None.
        detector: detector registry name; None = `pipeline.masks.DEFAULT_DETECTOR`.
        detector_weights: local weight file of the detector, or None.
        metric: full-reference metric registry name; None = `pipeline.labels.DEFAULT_METRIC`.
        metric_weights: local weight file of the metric (TOPIQ-FR .pth), or None.
        chunk_size: references per task and per shard (one shard per chunk: ~100 MB per reference
            at 1,024 px, so 10 references make the ~1 GB shards WebDataset streams best).
        seed: base seed; each reference derives its own from it and its id.
        work_dir: where the sample / fetched RAW files go; None = `build_state.work_dir(out)`.
        device: torch device of the segmenter, detector and metric ("cpu", "cuda", "cuda:1").
    """

    source: str
    out: str = "shards"
    limit: int | None = None
    types: tuple[str, ...] | None = None
    levels: tuple[int, ...] | None = None
    # 1,024 px long side: enough for SAM's 1,024 input and the model's 512 px crops (SPEC §5).
    size: int | None = 1024
    segmenter: str | None = None
    checkpoint: str | None = None
    detector: str | None = None
    detector_weights: str | None = None
    metric: str | None = None
    metric_weights: str | None = None
    # 8 references ≈ 1 GB of PNG at 1,024 px: the shard size WebDataset streams best (issue 7).
    # Small local builds pass fewer (`make shards` uses 4, so both cores get a chunk).
    chunk_size: int = 8
    seed: int = 0
    work_dir: str | None = None
    # In the fingerprint: GPU kernels round differently, so bytes are identical per device type only.
    device: str = "cpu"

    def __post_init__(self) -> None:
        # Canonical order: `--types noise,blur` and `--types blur,noise` are the same build.
        _check_types(self.types)
        if self.types is not None:
            object.__setattr__(self, "types", tuple(t for t in DISTORTION_TYPES if t in self.types))
        if self.levels is not None:
            object.__setattr__(self, "levels", tuple(sorted({int(v) for v in self.levels})))
        _check_levels(self.levels)
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1 or None, got {self.limit}")
        if self.size is not None and self.size < 64:
            raise ValueError(f"size must be >= 64 px or None (full resolution), got {self.size}")
        if self.source.startswith(SAMPLE_PREFIX):
            sample_count(self.source)  # validates N

    @property
    def work_path(self) -> Path:
        from pipeline.build_state import work_dir

        return Path(self.work_dir) if self.work_dir else work_dir(self.out)

    def to_json(self) -> dict[str, Any]:
        """All fields as a JSON-ready dict (tuples become lists)."""
        record = asdict(self)
        for name in ("types", "levels"):
            if record[name] is not None:
                record[name] = list(record[name])
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> BuildConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(record) - known
        if unknown:
            raise ValueError(f"unknown build parameters {sorted(unknown)}; known: {sorted(known)}")
        values = dict(record)
        for name in ("types", "levels"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)

    def fingerprint(self) -> str:
        """sha256 (hex, 16 chars) of the fields that change shard bytes."""
        record = {k: v for k, v in self.to_json().items() if k not in _NOT_IN_FINGERPRINT}
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]

    def with_defaults(self, segmenter: str, detector: str | None, metric: str) -> BuildConfig:
        """The same config with the registry defaults filled in where a name is None."""
        return replace(
            self,
            segmenter=self.segmenter or segmenter,
            detector=self.detector or detector,
            metric=self.metric or metric,
        )


def sample_count(source: str) -> int:
    """N of a `sample:N` source."""
    text = source.removeprefix(SAMPLE_PREFIX)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"source {source!r}: write `sample:N` with N >= 1 (e.g. sample:8)")
    return int(text)


def reference_seed(seed: int, ref_id: str) -> int:
    """A per-reference seed (0 .. 2**31-1) that depends on the base seed and the id only.

    So a reference renders the same noise whatever chunk, worker or order it lands in.
    """
    digest = hashlib.sha256(f"{seed}:{ref_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _check_types(types: tuple[str, ...] | None) -> None:
    if types is None:
        return
    unknown = [t for t in types if t not in DISTORTION_TYPES]
    if unknown or not types:
        raise ValueError(f"unknown distortion types {unknown}; choose from {list(DISTORTION_TYPES)}")


def _check_levels(levels: tuple[int, ...] | None) -> None:
    if levels is None:
        return
    bad = [v for v in levels if not 1 <= int(v) <= N_LEVELS_PER_TYPE]
    if bad or not levels:
        raise ValueError(f"levels {bad} are outside 1..{N_LEVELS_PER_TYPE}")


def build_command(config: BuildConfig) -> str:
    """The `seagull build` command line that runs `config` again (for messages that say how to fix)."""
    import shlex

    if config.source.startswith(SAMPLE_PREFIX):
        args = ["--sample", str(sample_count(config.source))]
    elif config.source.lower().endswith(".csv"):
        args = ["--raise-csv", config.source]
    else:
        args = ["--raw-dir", config.source]
    args += ["--out", config.out]
    defaults = BuildConfig(source=config.source)
    options = {name: value for name, value in config.to_json().items() if name not in ("source", "out")}
    for name, value in options.items():
        if value == defaults.to_json()[name]:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif name == "size" and value is None:
            value = "full"
        args += [f"--{name.replace('_', '-')}", str(value)]
    return "seagull build " + " ".join(shlex.quote(a) for a in args)


def unknown_registry_names(config: BuildConfig) -> list[tuple[str, str, list[str]]]:
    """(field, name, names available) for each segmenter, detector or metric the registries lack.

    Light: listing the registries' names imports neither torch nor pyiqa, so `seagull build` runs
    this before anything else (issue 14) and it lives here, not with the chunk's stages.
    """
    from pipeline import labels, masks

    listed = {
        "segmenter": (config.segmenter, masks.list_segmenters),
        "detector": (config.detector, masks.list_detectors),
        "metric": (config.metric, labels.list_metrics),
    }
    return [
        (field, name, names())
        for field, (name, names) in listed.items()
        if name is not None and name not in names()
    ]


def check_registry_names(config: BuildConfig) -> None:
    """Raise ValueError naming every unknown registry name and the names available."""
    problems = unknown_registry_names(config)
    if problems:
        raise ValueError(
            "; ".join(
                f"unknown {field} {name!r}, choose one of: {', '.join(names)}"
                for field, name, names in problems
            )
        )
