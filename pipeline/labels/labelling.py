"""ROI labels from metric scores: quality, importance, distortion and severity (SPEC.md §1.4–1.5).

Rules (their constants live per metric in metrics.yaml; none is fitted to fill a histogram):
- quality q: the normalised metric score of the ROI crop pair, 0..1;
- importance (paper §3.1.3 B): drop d = q(ref, ref) - q(ref with the ROI pasted, ref) over the whole
  image (the mean of the metric's quality over tiles, for the weight-free metrics: pipeline.labels.scoring),
  in the same normalised unit; importance = min(max(d, 0) / (1 - clean_threshold), 1): linear,
  and 1 when pasting this ROI alone takes the whole image to the edge of "without distortion"
  (q = 0.92), i.e. the ROI on its own makes the whole image visibly distorted. A clean ROI (q above
  the threshold) can only move the whole image by its area share of a sub-threshold drop, so it
  stays unimportant unless it covers most of the image;
- distortion: "none" where q > clean_threshold (paper: 0.92), else the applied type;
- severity, only where a distortion is present (q <= clean_threshold): s = q / clean_threshold, the
  ROI's quality as a share of the span below "without distortion", 0 = the worst, 1 = just at the
  threshold; eq. 1 maps it to extreme ... trivial. A clean ROI has no severity (null).
Every score is mapped to its level word by eq. 1 (pipeline.levels). Raw values are kept beside the
normalised ones (`quality_raw`, `importance_drop`) so that users can re-derive labels with other rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pipeline.labels.metrics import LabelMetric, MetricSettings
from pipeline.labels.scoring import ScoreConfig, Scores, score_reference
from pipeline.levels import level_word
from pipeline.records import ROI, Variant
from pipeline.taxonomy import CLEAN

# Scores are rounded so that records are byte-identical across runs and compact in JSON.
DECIMALS = 6


@dataclass(frozen=True)
class LabelConfig:
    """Labelling options."""

    score: ScoreConfig = field(default_factory=ScoreConfig)
    # Random-weight metrics exist for tests; they must never produce a data set's labels.
    allow_untrained_metric: bool = False


@dataclass(frozen=True)
class ROILabel:
    """The label of one ROI in one distorted image (the labels contract of ARCHITECTURE.md).

    Scores are floats in 0..1; `*_level` are eq. 1 level words; `distortion` is "none" or the type,
    `severity`/`severity_level` are None for a clean ROI; `distortions` is the multi-label form
    (ARCHITECTURE.md): [] when clean, else [{"type", "severity", "severity_level"}];
    `quality_raw` is the metric's own score of the crop pair, `importance_drop` the raw whole-image
    drop d (normalised unit, before clipping and scaling).
    """

    dist_type: str
    level: int
    roi_id: int
    quality: float
    quality_level: str
    importance: float
    importance_level: str
    distortion: str
    severity: float | None
    severity_level: str | None
    metric: str
    distortions: tuple[dict[str, Any], ...] = ()
    quality_raw: float | None = None
    importance_drop: float | None = None

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["distortions"] = [dict(entry) for entry in self.distortions]
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ROILabel:
        fields = {name: record[name] for name in cls.__dataclass_fields__ if name in record}
        fields["distortions"] = tuple(dict(entry) for entry in record.get("distortions", ()))
        return cls(**fields)


def label_reference(
    ref: np.ndarray,
    rois: list[ROI],
    variants: Iterable[Variant],
    metric: LabelMetric,
    config: LabelConfig = LabelConfig(),
) -> list[ROILabel]:
    """Label every (variant, ROI) of one reference, ordered by variant then ROI.

    Args:
        ref: the reference, uint8 (H, W, 3).
        rois: its ROIs (masks (H, W)).
        variants: its distorted images (uint8 (H, W, 3)); all are held in memory while labelling.
        metric: from `create_metric`.
        config: labelling options.

    Raises:
        ValueError: for a random-weight metric (unless allowed), or mismatching shapes.
    """
    if not metric.label_source and not config.allow_untrained_metric:
        raise ValueError(
            f"metric {metric.name!r} has random weights ({metric.weights}) and is not a label source; "
            "pass a real weight file or use a weight-free metric"
        )
    variants = list(variants)
    scores = score_reference(ref, rois, variants, metric, config.score)
    return labels_from_scores(scores, rois, variants, metric.settings)


def labels_from_scores(
    scores: Scores, rois: list[ROI], variants: list[Variant], settings: MetricSettings
) -> list[ROILabel]:
    """Apply the rules of this module to scores of shape (V, R)."""
    labels = []
    for v, variant in enumerate(variants):
        for r, roi in enumerate(rois):
            drop = scores.identical - float(scores.pasted[v, r])
            raw = None if scores.quality_raw is None else float(scores.quality_raw[v, r])
            labels.append(
                make_label(variant, roi.roi_id, float(scores.quality[v, r]), drop, settings, quality_raw=raw)
            )
    return labels


def make_label(
    variant: Variant,
    roi_id: int,
    quality: float,
    drop: float,
    settings: MetricSettings,
    quality_raw: float | None = None,
) -> ROILabel:
    """One label from an ROI's quality (0..1) and its importance drop (any float, clipped at 0)."""
    quality = round(min(max(quality, 0.0), 1.0), DECIMALS)
    importance = round(importance_from_drop(drop, settings.clean_threshold), DECIMALS)
    distortion = distortion_label(quality, variant.dist_type, settings.clean_threshold)
    severity = (
        None if distortion == CLEAN else round(severity_of(quality, settings.clean_threshold), DECIMALS)
    )
    severity_level = None if severity is None else level_word("severity", severity)
    present = (
        ()
        if severity is None
        else ({"type": distortion, "severity": severity, "severity_level": severity_level},)
    )
    return ROILabel(
        dist_type=variant.dist_type,
        level=int(variant.level),
        roi_id=int(roi_id),
        quality=quality,
        quality_level=level_word("quality", quality),
        importance=importance,
        importance_level=level_word("importance", importance),
        distortion=distortion,
        severity=severity,
        severity_level=severity_level,
        metric=settings.name,
        distortions=present,
        quality_raw=None if quality_raw is None else round(quality_raw, DECIMALS + 2),
        importance_drop=round(drop, DECIMALS + 2),
    )


def importance_from_drop(drop: float, clean_threshold: float) -> float:
    """min(max(drop, 0) / (1 - clean_threshold), 1): 0 = no effect on the whole image; 1 = pasting the
    ROI alone drops the whole image by the "without distortion" margin (see the module docstring)."""
    return float(min(max(drop, 0.0) / (1.0 - clean_threshold), 1.0))


def severity_of(quality: float, clean_threshold: float) -> float:
    """Severity of a present distortion (quality <= threshold): quality / threshold, 0 = the worst."""
    return float(min(max(quality, 0.0) / clean_threshold, 1.0))


def distortion_label(quality: float, dist_type: str, threshold: float) -> str:
    """The applied type, or "none" (without distortion) where quality is above the threshold."""
    return CLEAN if quality > threshold else dist_type
