"""ROI labels from metric scores: quality, importance, distortion and severity (SPEC.md §1.4–1.5).

Rules (their constants live per metric in metrics.yaml):
- quality q: the normalised metric score of the ROI crop pair, 0..1;
- importance: drop d = max(0, q(ref, ref) - q(ref with the ROI pasted, ref)) over the whole image,
  importance = min(d / drop_scale, 1) ** gamma (gamma < 1 spreads the mostly small drops);
- distortion: "none" where q > clean_threshold (paper: 0.92), else the applied type;
- severity s = min(q / clean_threshold, 1): how far the ROI is from "without distortion", 0 = the
  worst, 1 = at the threshold; eq. 1 maps it to extreme ... trivial.
Every score is mapped to its level word by eq. 1 (pipeline.levels).
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

    Scores are floats in 0..1; `*_level` are eq. 1 level words; `distortion` is "none" or the type.
    """

    dist_type: str
    level: int
    roi_id: int
    quality: float
    quality_level: str
    importance: float
    importance_level: str
    distortion: str
    severity: float
    severity_level: str
    metric: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ROILabel:
        return cls(**{name: record[name] for name in cls.__dataclass_fields__})


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
            labels.append(make_label(variant, roi.roi_id, float(scores.quality[v, r]), drop, settings))
    return labels


def make_label(
    variant: Variant, roi_id: int, quality: float, drop: float, settings: MetricSettings
) -> ROILabel:
    """One label from an ROI's quality (0..1) and its importance drop (any float, clipped at 0)."""
    quality = round(min(max(quality, 0.0), 1.0), DECIMALS)
    importance = round(importance_from_drop(drop, settings.drop_scale, settings.gamma), DECIMALS)
    severity = round(min(quality / settings.clean_threshold, 1.0), DECIMALS)
    return ROILabel(
        dist_type=variant.dist_type,
        level=int(variant.level),
        roi_id=int(roi_id),
        quality=quality,
        quality_level=level_word("quality", quality),
        importance=importance,
        importance_level=level_word("importance", importance),
        distortion=distortion_label(quality, variant.dist_type, settings.clean_threshold),
        severity=severity,
        severity_level=level_word("severity", severity),
        metric=settings.name,
    )


def importance_from_drop(drop: float, drop_scale: float, gamma: float) -> float:
    """min(max(drop, 0) / drop_scale, 1) ** gamma: 0 = no effect on the whole image, 1 = the most."""
    return float(min(max(drop, 0.0) / drop_scale, 1.0) ** gamma)


def distortion_label(quality: float, dist_type: str, threshold: float) -> str:
    """The applied type, or "none" (without distortion) where quality is above the threshold."""
    return CLEAN if quality > threshold else dist_type
