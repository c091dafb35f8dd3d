"""Calibration of a metric's normalisation and importance mapping on sample references.

How the constants of metrics.yaml are chosen for a weight-free metric (docs/labels.md):
1. score every (variant, ROI) of the sample references with the metric's normalisation replaced
   by the identity distance d = |raw - best| (0 = identical);
2. `worst` = best -/+ the 95th percentile of the ROI distances: 5 % of ROI crops map to quality 0,
   the rest spread over 0..1 linearly;
3. importance drops in that normalised unit, d(pasted) - d(identical); `drop_scale` = their 95th
   percentile (5 % of ROIs saturate at "essential");
4. `gamma` puts the median drop at importance 0.5 (the middle of "normal"): gamma =
   log 0.5 / log(median / drop_scale), so that the five importance levels are all populated.
The "without distortion" threshold stays the paper's 0.92 in the normalised range.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.labels.metrics import LabelMetric
from pipeline.labels.scoring import ScoreConfig, score_reference
from pipeline.records import ROI, Variant

QUANTILE = 0.95  # the share of ROI crops (and of drops) below the saturation point


@dataclass(frozen=True)
class Distances:
    """Distances from identical, d = |raw - best| (0 = identical), of one or more references.

    Attributes:
        quality: ROI crop distances, float32 (N,).
        drops: whole-image distance of the pasted image minus that of the reference itself, (N,).
    """

    quality: np.ndarray
    drops: np.ndarray


def distances(
    reference: np.ndarray,
    rois: Sequence[ROI],
    variants: Sequence[Variant],
    metric: LabelMetric,
    config: ScoreConfig | None = None,
) -> Distances:
    """Score one reference with the identity distance as normalisation (see the module docstring)."""
    config = config or ScoreConfig()
    settings = metric.settings
    identity = copy.copy(metric)
    identity.settings = dataclasses.replace(
        settings, worst=settings.best + (1.0 if settings.lower_better else -1.0)
    )
    scores = score_reference(reference, rois, variants, identity, config)
    quality = 1.0 - scores.quality
    drops = (1.0 - scores.pasted) - (1.0 - scores.identical)
    return Distances(quality.ravel(), drops.ravel())


def suggest(samples: Sequence[Distances], best: float, lower_better: bool) -> dict[str, float]:
    """The metrics.yaml constants (worst, drop_scale, gamma) from the distances of sample references."""
    quality = np.concatenate([sample.quality for sample in samples])
    drops = np.concatenate([sample.drops for sample in samples])
    span = float(np.quantile(quality, QUANTILE))
    if span <= 0:
        raise ValueError("every sample ROI scored as identical; calibrate on distorted variants")
    normalised = np.clip(drops, 0.0, None) / span
    drop_scale = float(np.quantile(normalised, QUANTILE))
    median = float(np.median(normalised))
    gamma = math.log(0.5) / math.log(median / drop_scale) if 0 < median < drop_scale else 1.0
    return {
        "worst": round(best + span if lower_better else best - span, 4),
        "drop_scale": round(drop_scale, 4),
        "gamma": round(gamma, 3),
        "n_labels": int(quality.size),
    }
