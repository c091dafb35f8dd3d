"""Label metrics: a registry over pyiqa's full-reference metrics, with their settings as data.

`create_metric(name, weights=None, device="cpu")` builds a `LabelMetric` from `metrics.yaml`. Every
metric scores batches against a *prepared* reference (`prepare` once, `raw` many times), so that a
metric that can reuse reference-side work (TOPIQ-FR: the backbone features) does it once per
reference; `raw_naive` is the plain per-pair pyiqa call, kept for the tests' and the benchmark's
naive stand-in (tests/support/stand_ins.py).

Example:
    >>> metric = create_metric("gmsd_rgb")
    >>> ref = torch.rand(1, 3, 64, 64)
    >>> metric.normalise(metric.raw(ref, metric.prepare(ref)))  # identical images: quality 1
    array([1.], dtype=float32)
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from pipeline import defaults
from pipeline.registry import Entry, Registry

if TYPE_CHECKING:
    import torch

# torch and pyiqa are imported where a metric is built or run, not here: listing the metrics' names
# (`seagull build --metric NAME` checks it before anything runs) must not cost their ~10 s import.

SETTINGS_PATH = Path(__file__).parent / "metrics.yaml"
DEFAULT_METRIC = defaults.METRIC  # the default of `make shards` (see pipeline/defaults.py)
# Modules that register metric builders (beyond "pyiqa", below); imported by `create_metric`.
BUILDER_MODULES = ("pipeline.labels.topiq", "pipeline.labels.colour")
# Pass as `weights=` to build TOPIQ-FR with random weights: code paths and tests only, never labels.
RANDOM_WEIGHTS = "random-init"


@dataclass(frozen=True)
class MetricSettings:
    """One entry of metrics.yaml (see the comments there for each field)."""

    name: str
    builder: str
    pyiqa: str
    lower_better: bool
    best: float
    worst: float
    clean_threshold: float
    min_size: int
    crop_max_side: int | None
    whole_max_side: int
    pyiqa_options: dict[str, Any] = field(default_factory=dict)
    importance_tile: int | None = None
    parts: list[str] | None = None
    fitted: bool = True
    weights_file: str | None = None
    weights_url: str | None = None


class LabelMetric:
    """A full-reference metric ready to label: pyiqa model + settings + provenance.

    Images are float32 tensors (B, 3, H, W) in 0..1 on the metric's device.
    """

    def __init__(
        self, settings: MetricSettings, model: torch.nn.Module, weights: str | None, label_source: bool
    ):
        self.settings = settings
        self.model = model  # a pyiqa InferenceModel
        self.weights = weights
        self.label_source = label_source
        self.device = model.device if model is not None else None

    @property
    def name(self) -> str:
        return self.settings.name

    def prepare(self, ref: torch.Tensor) -> Any:
        """Reference-side work, done once per reference crop (1, 3, H, W); the default keeps the tensor."""
        return ref

    def raw(self, dist: torch.Tensor, prepared: Any) -> torch.Tensor:
        """Raw scores (B,) of a batch of distorted images against one prepared reference."""
        import torch

        with torch.inference_mode():
            ref = prepared.expand(dist.shape[0], -1, -1, -1).contiguous()  # pyiqa metrics may `.view` it
            return self.model(dist, ref).reshape(-1).float()

    def raw_pairs(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """Raw scores (B,) of dist (B, 3, H, W) against references ref (K, 3, H, W), B a multiple of K:
        dist[i] against ref[i % K] (tiles of V images against the reference's K tiles)."""
        import torch

        with torch.inference_mode():
            ref = ref.repeat(dist.shape[0] // ref.shape[0], 1, 1, 1)
            return self.model(dist.contiguous(), ref.contiguous()).reshape(-1).float()

    def raw_naive(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """The plain pyiqa call, one pair at a time (reference recomputed every time)."""
        import torch

        with torch.inference_mode():
            return torch.cat([self.model(d[None], ref).reshape(-1).float() for d in dist])

    def normalise(self, raw: torch.Tensor | np.ndarray) -> np.ndarray:
        """Raw scores to quality 0..1, higher = closer to the reference (float32)."""
        import torch

        raw = raw.detach().cpu().numpy() if isinstance(raw, torch.Tensor) else np.asarray(raw)
        s = self.settings
        return np.clip((raw - s.worst) / (s.best - s.worst), 0.0, 1.0).astype(np.float32)

    def provenance(self) -> dict[str, Any]:
        """What produced the labels: recorded with every build."""
        import pyiqa

        return {
            "metric": self.name,
            "pyiqa": self.settings.pyiqa,
            "pyiqa_version": pyiqa.__version__,
            "weights": self.weights,
            "label_source": self.label_source,
        }


# builder name -> builder(settings, weights, device) -> LabelMetric; metrics.yaml names each metric's.
BUILDERS = Registry("metric builder")


def register_builder(name: str) -> Callable:
    """Decorator: register a metric builder under `name` (an error on a duplicate name)."""
    return BUILDERS.register(name, package="pyiqa")


def metric_entries() -> list[Entry]:
    """Every label metric with what it needs (its weight file, pyiqa), for `seagull list`."""
    return [Entry(name, s.weights_file, "pyiqa") for name, s in sorted(load_settings().items())]


@functools.cache
def load_settings(path: Path = SETTINGS_PATH) -> dict[str, MetricSettings]:
    """Read and validate metrics.yaml (once per process)."""
    raw = yaml.safe_load(Path(path).read_text())
    settings = {}
    for name, entry in raw.items():
        try:
            entry = dict(entry)
            normalise = entry.pop("normalise")
            settings[name] = MetricSettings(name=name, **entry, **normalise)
        except TypeError as error:
            raise ValueError(
                f"{path}: metric {name!r} is malformed ({error}); compare with the other entries"
            ) from error
        if settings[name].best == settings[name].worst:
            raise ValueError(
                f"{path}: metric {name!r} has best == worst; the normalisation would divide by zero"
            )
    return settings


def list_metrics() -> list[str]:
    """Names `create_metric` accepts."""
    return sorted(load_settings())


def create_metric(name: str, weights: str | Path | None = None, device: str = "cpu") -> LabelMetric:
    """Build a label metric.

    Args:
        name: one of `list_metrics()`.
        weights: a local weight file for metrics that need one (topiq_fr); `RANDOM_WEIGHTS` builds
            random weights for tests (never a label source); must be None for weight-free metrics.
        device: torch device string.

    Raises:
        KeyError: unknown name. FileNotFoundError: a needed weight file is missing.
    """
    settings = load_settings()
    if name not in settings:
        raise KeyError(f"unknown label metric {name!r}; choose one of {list_metrics()}")
    entry = settings[name]
    for module in BUILDER_MODULES:
        importlib.import_module(module)  # registers its builders (once: later imports are cached)
    if entry.builder not in BUILDERS.names():
        raise KeyError(f"metric {name!r} names builder {entry.builder!r}; registered: {BUILDERS.names()}")
    return BUILDERS.create(
        entry.builder, settings=entry, weights=None if weights is None else str(weights), device=device
    )


@register_builder("pyiqa")
def _build_weight_free(settings: MetricSettings, weights: str | None, device: str) -> LabelMetric:
    if weights is not None:
        raise ValueError(f"metric {settings.name!r} is weight-free; do not pass weights ({weights!r})")
    import torch

    from pipeline.pyiqa_metrics import create_pyiqa_metric

    model = create_pyiqa_metric(settings.pyiqa, device=torch.device(device), **settings.pyiqa_options)
    return LabelMetric(settings, model.eval(), weights=None, label_source=True)


def missing_weights_message(settings: MetricSettings, path: str | None) -> str:
    where = "no weight file was given" if path is None else f"{path} does not exist"
    return (
        f"metric {settings.name!r} needs its weight file {settings.weights_file} ({where}). "
        f"Download the pyiqa release asset {settings.weights_url} once and pass its local path "
        f"(seagull label --weights PATH); nothing is downloaded at run time. Without it, use a "
        f"weight-free metric such as {DEFAULT_METRIC!r}."
    )
