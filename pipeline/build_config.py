"""The parameters of one SEAGULL-100w build, as a frozen dataclass validated once.

`BuildConfig` is what `seagull build`, the `build-100w` deployment and the tests pass to the flow; the
chunk stage (`pipeline.chunk`) reads only this. Its `fingerprint()` covers exactly the fields that change
the bytes of a shard, so that a re-run with the same fingerprint may skip finished chunks and a re-run
with another one rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
import re
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# The registries' default names are the build's defaults: names only, the registries are not imported.
from pipeline import defaults
from pipeline.taxonomy import DISTORTION_TYPES, MIN_WORKING_SIZE, N_LEVELS_PER_TYPE

SAMPLE_PREFIX = "sample:"

# Fields that do not change a shard's bytes: where things live, and how many files are taken
# (each chunk records its own input files, so `limit` is checked there).
_NOT_IN_FINGERPRINT = frozenset({"source", "out", "work_dir", "limit"})
DEVICE_PATTERN = r"cpu|cuda(:\d+)?|mps"


def parameter(default: Any, help: str, **shown: Any) -> Any:
    """A BuildConfig field with what `seagull build --help` and the Prefect UI show of it.

    Args:
        default: the default value (None where `unset` says in words what None means).
        help: one line of help, shared by the option and the flow parameter's description.
        **shown: `unset` (what None means, e.g. "all six"), `minimum` / `maximum` (inclusive, of the
            value or of each list item), `pattern` (full match), `path` ("file": an existing file,
            "dir": a folder), `choices` (of each list item), `none_word` (the word that means None on
            the command line).
    """
    return field(default=default, metadata={"help": help, **shown})


@dataclass(frozen=True)
class BuildConfig:
    """One build of SEAGULL-100w shards: the single definition of the build's parameters.

    Each field's metadata (`parameter`) carries its help, range and what None means; the options of
    `seagull build` (`seagull.commands._build_options`) and the parameters of the `seagull-100w` flow
    (`flows.build_parameters`) are derived from it. Defaults are resolved here, once: None for a
    segmenter, detector or metric means the registry's default, named in the config from then on.
    """

    source: str = parameter(
        "sample:8",
        "A folder of RAW files, a RAISE CSV (*.csv, fetched first), or `sample:N` for N embedded "
        "sample DNG files.",
    )
    out: str = parameter(
        "shards",
        "Output folder of the shards, manifest and dataset card (one build at a time per folder); "
        "the build's state and build_report.json go to <out>.seagull-build beside it.",
        path="dir",
    )
    # Each chunk records its own input files, so `limit` is not in the fingerprint.
    limit: int | None = parameter(None, "Only the first N RAW files, sorted by name.", unset="all", minimum=1)
    types: tuple[str, ...] | None = parameter(
        None, "Distortion types to render, e.g. blur,noise.", unset="all six", choices=DISTORTION_TYPES
    )
    levels: tuple[int, ...] | None = parameter(
        None,
        f"Levels 1..{N_LEVELS_PER_TYPE} to render, e.g. 1,10,20.",
        unset="all twenty",
        minimum=1,
        maximum=N_LEVELS_PER_TYPE,
    )
    # 1,024 px long side: enough for SAM's 1,024 input and the model's 512 px crops (SPEC §5).
    size: int | None = parameter(
        1024,
        f"Working long side in px (>= {MIN_WORKING_SIZE}), or full: the RAW's own resolution.",
        minimum=MIN_WORKING_SIZE,
        none_word="full",
    )
    segmenter: str = parameter(defaults.SEGMENTER, "Segmenter registry name (`seagull list`).")
    checkpoint: str | None = parameter(
        None, "Local weight file of the segmenter (SAM .pth).", unset="none", path="file"
    )
    detector: str = parameter(
        defaults.DETECTOR,
        f"Detector registry name (`seagull list`), or {defaults.NO_DETECTOR!r}: component-level ROIs only.",
    )
    detector_weights: str | None = parameter(
        None, "Local weight file of the detector.", unset="none", path="file"
    )
    metric: str = parameter(defaults.METRIC, "Full-reference label metric registry name (`seagull list`).")
    metric_weights: str | None = parameter(
        None, "Local weight file of the metric (TOPIQ-FR .pth).", unset="none", path="file"
    )
    # 8 references ≈ 1 GB of PNG at 1,024 px: the shard size WebDataset streams best (issue 7).
    # Small local builds pass fewer (`make shards` uses 4, so both cores get a chunk).
    chunk_size: int = parameter(
        8, "References per task and per shard (8 ≈ 1 GB of shard at 1,024 px).", minimum=1
    )
    seed: int = parameter(0, "Base seed; each reference derives its own from it and its id.")
    work_dir: str | None = parameter(
        None, "Where the sample or fetched RAISE files go.", unset="<out>.seagull-build/work", path="dir"
    )
    # In the fingerprint: GPU kernels round differently, so bytes are identical per device type only.
    device: str = parameter(
        "cpu",
        "Torch device of the segmenter, detector and metric (cpu, cuda, cuda:N, mps).",
        pattern=DEVICE_PATTERN,
    )

    def __post_init__(self) -> None:
        # None (what older callers and build plans wrote) names the registry's default.
        for name, default in (
            ("segmenter", defaults.SEGMENTER),
            ("detector", defaults.DETECTOR),
            ("metric", defaults.METRIC),
        ):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
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
        if self.size is not None and self.size < MIN_WORKING_SIZE:
            raise ValueError(
                f"size must be >= {MIN_WORKING_SIZE} px or None (full resolution), got {self.size}"
            )
        if not re.fullmatch(DEVICE_PATTERN, self.device):
            raise ValueError(f"device {self.device!r}: use cpu, cuda, cuda:N or mps")
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


@dataclass(frozen=True)
class Parameter:
    """One build parameter as the CLI and the flow derive it: a BuildConfig field and its metadata."""

    name: str
    annotation: Any  # the field's type, evaluated (e.g. `int | None`)
    default: Any
    help: str
    unset: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    path: str | None = None
    choices: tuple[str, ...] | None = None
    none_word: str | None = None


def build_parameters() -> list[Parameter]:
    """The build's parameters in BuildConfig's order (the order of the CLI help and the Prefect UI)."""
    hints = typing.get_type_hints(BuildConfig)
    return [Parameter(f.name, hints[f.name], f.default, **f.metadata) for f in fields(BuildConfig)]


def sample_count(source: str) -> int:
    """N of a `sample:N` source."""
    text = source.removeprefix(SAMPLE_PREFIX)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"source {source!r}: write `sample:N` with N >= 1 (e.g. sample:8)")
    return int(text)


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
    plain = BuildConfig(source=config.source)
    options = {name: value for name, value in config.to_json().items() if name not in ("source", "out")}
    for name, value in options.items():
        if value == plain.to_json()[name]:
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
        if name is not None
        and name not in names()
        and not (field == "detector" and name.lower() == defaults.NO_DETECTOR)
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
