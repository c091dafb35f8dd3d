"""Calibration of a metric's one fitted constant, `worst`, checked for transfer on held-out images.

A weight-free metric's raw score has no natural 0..1 range, so one constant is fitted from data
(docs/labels.md): `worst` = best -/+ the 95th percentile of the ROI crop distances d = |raw - best|
over every (variant, ROI) of the sample references: 5 % of ROI crops map to quality 0, the rest
spread linearly over 0..1. Nothing else is fitted: the "without distortion" threshold is the
paper's 0.92 and the importance and severity rules follow from it (pipeline.labels.labelling).

So that the constant transfers to images it never saw, it is fitted on one half of the references
(`halves`: alternate references in id order) and the label word shares it gives are compared on the
other half: `report` holds both halves' shares of every quality, importance and severity word and
the largest difference in percentage points.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.labels.labelling import importance_from_drop, severity_of
from pipeline.labels.metrics import LabelMetric, MetricSettings
from pipeline.labels.scoring import ScoreConfig, score_reference
from pipeline.levels import LEVEL_WORDS, level_index
from pipeline.records import ROI, Variant

QUANTILE = 0.95  # the share of ROI crops below the saturation point (quality 0)
TRANSFER_TOLERANCE_PP = 5.0  # the largest word-share difference between the halves we accept


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


def halves(ref_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """(fit, check): alternate references in sorted id order, so both halves span the sample."""
    ordered = sorted(ref_ids)
    return ordered[0::2], ordered[1::2]


def fit_span(samples: Sequence[Distances]) -> float:
    """The 95th percentile of the ROI crop distances: |best - worst|."""
    span = float(np.quantile(np.concatenate([sample.quality for sample in samples]), QUANTILE))
    if span <= 0:
        raise ValueError("every sample ROI scored as identical; calibrate on distorted variants")
    return span


def word_shares(
    samples: Sequence[Distances], span: float, clean_threshold: float
) -> dict[str, dict[str, float]]:
    """Percent of labels per level word of quality, importance and severity (of distorted ROIs),
    given |best - worst| = span, by the rules of pipeline.labels.labelling."""
    distance = np.concatenate([sample.quality for sample in samples])
    drops = np.concatenate([sample.drops for sample in samples]) / span
    quality = np.clip(1.0 - distance / span, 0.0, 1.0)
    importance = np.array([importance_from_drop(float(d), clean_threshold) for d in drops])
    present = quality <= clean_threshold
    severity = np.array([severity_of(float(q), clean_threshold) for q in quality[present]])
    return {
        "quality": _shares("quality", quality),
        "importance": _shares("importance", importance),
        "severity": _shares("severity", severity),
    }


def _shares(task: str, scores: np.ndarray) -> dict[str, float]:
    counts = np.bincount([level_index(float(s)) for s in scores], minlength=5)
    total = max(1, int(counts.sum()))
    return {word: round(100.0 * int(c) / total, 2) for word, c in zip(LEVEL_WORDS[task], counts, strict=True)}


def report(
    fit: Sequence[Distances], check: Sequence[Distances], settings: MetricSettings
) -> dict[str, object]:
    """The fitted `worst`, the word shares on both halves, and whether they agree within 5 pp."""
    span = fit_span(fit)
    shares = {
        "fit": word_shares(fit, span, settings.clean_threshold),
        "check": word_shares(check, span, settings.clean_threshold),
    }
    difference = max(
        abs(shares["fit"][task][word] - shares["check"][task][word])
        for task in shares["fit"]
        for word in shares["fit"][task]
    )
    return {
        "worst": round(settings.best + span if settings.lower_better else settings.best - span, 4),
        "n_labels": {
            half: int(sum(s.quality.size for s in part)) for half, part in (("fit", fit), ("check", check))
        },
        "word_shares_pct": shares,
        "max_difference_pp": round(difference, 2),
        "transfers": difference <= TRANSFER_TOLERANCE_PP,
    }
