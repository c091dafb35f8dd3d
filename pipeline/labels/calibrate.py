"""Calibration of a metric's one fitted constant, `worst`, checked for transfer on held-out images.

A weight-free metric's raw score has no natural 0..1 range, so one constant is fitted from data
(docs/labels.md): `worst` = best -/+ the 95th percentile of the ROI crop distances d = |raw - best|
over every (variant, ROI) of the sample references: 5 % of ROI crops map to quality 0, the rest
spread linearly over 0..1. Nothing else is fitted: the "without distortion" threshold is the
paper's 0.92, the importance and severity rules follow from it (pipeline.labels.labelling), and a
part whose constant comes from a rule (`delta_e`: one JND) is left as it is. For a `min_of` metric
the fitted constant is that of its part `fitted_part` names (gmsd_rgb in the default).

So that the constant transfers to images it never saw, it is fitted on one half of the references
(`halves`: alternate references in id order) and checked on the other: both halves are labelled in
full with the fitted constant (exact, whatever the pooling), and the check half also with the
constant fitted on itself. `report` gives
- `transfer_pp`: the largest difference of a quality, importance or severity word share on the check
  half between the two constants — what fitting on other images costs the unseen ones ("transfers"
  when <= 5 points);
- `between_halves_pp`: the largest difference between the two halves' shares under the one constant —
  mostly a difference of content (ROI sizes, colours), which no constant removes.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from pipeline.labels.crops import mask_box
from pipeline.labels.fidelity import TOLERANCE_PP, halves, largest_difference, task_shares
from pipeline.labels.labelling import label_reference
from pipeline.labels.metrics import LabelMetric
from pipeline.labels.scoring import ScoreConfig, roi_quality
from pipeline.records import ROI, Variant

QUANTILE = 0.95  # the share of ROI crops below the saturation point (quality 0)
TRANSFER_TOLERANCE_PP = TOLERANCE_PP  # the largest word-share difference we accept (5 points)
WORD_COLUMNS = ("quality_level", "importance_level", "severity_level", "distortion")

__all__ = [
    "QUANTILE",
    "TRANSFER_TOLERANCE_PP",
    "distances",
    "fit_worst",
    "fitted_part",
    "halves",
    "report",
    "with_worst",
]

Inputs = tuple[np.ndarray, Sequence[ROI], Sequence[Variant]]  # reference, its ROIs, its variants


def fitted_part(metric: LabelMetric) -> LabelMetric:
    """The metric whose `worst` is fitted: the metric itself, or the one part of a `min_of` metric
    whose settings say `fitted` (the others' constants come from rules)."""
    parts = getattr(metric, "parts", None)
    if not parts:
        return metric
    fitted = [part for part in parts if part.settings.fitted]
    if len(fitted) != 1:
        raise ValueError(
            f"metric {metric.name!r}: exactly one part may have a fitted `worst`, found {fitted}"
        )
    return fitted[0]


def distances(
    reference: np.ndarray,
    rois: Sequence[ROI],
    variants: Sequence[Variant],
    metric: LabelMetric,
    config: ScoreConfig | None = None,
) -> np.ndarray:
    """ROI crop distances |raw - best| (N,) of the fitted part (0 = identical), every (variant, ROI)."""
    config = config or ScoreConfig()
    part = fitted_part(metric)
    images = np.stack([variant.image for variant in variants])
    raws = [
        roi_quality(reference, images, m, mask_box(m), part, config) for m in (roi.mask() for roi in rois)
    ]
    return np.abs(np.concatenate(raws) - part.settings.best) if raws else np.zeros(0)


def fit_worst(samples: Sequence[np.ndarray], metric: LabelMetric) -> float:
    """`worst` of the fitted part: best -/+ the 95th percentile of the ROI crop distances."""
    span = float(np.quantile(np.concatenate(list(samples)), QUANTILE))
    if span <= 0:
        raise ValueError("every sample ROI scored as identical; calibrate on distorted variants")
    settings = fitted_part(metric).settings
    return settings.best + span if settings.lower_better else settings.best - span


def with_worst(metric: LabelMetric, worst: float) -> LabelMetric:
    """A copy of the metric whose fitted part has this `worst` (the models are shared, not copied)."""
    part = fitted_part(metric)
    new_part = copy.copy(part)
    new_part.settings = dataclasses.replace(part.settings, worst=worst)
    if part is metric:
        return new_part
    new = copy.copy(metric)
    new.parts = [new_part if p is part else p for p in metric.parts]
    return new


def report(
    load: Callable[[str], Inputs],
    fit_ids: Sequence[str],
    check_ids: Sequence[str],
    metric: LabelMetric,
    measured: dict[str, np.ndarray] | None = None,
) -> dict[str, object]:
    """Fit `worst` on `fit_ids`, check it on `check_ids` (see the module docstring).

    Two passes, because the constant needs every fit reference's distances before anything is
    labelled: the first measures the crop distances (skipped for the references in `measured`), the
    second labels each reference with every constant it needs while it is loaded. So `load` is called
    at most twice per reference (once when `measured` has them all), and only one reference's images
    are held at a time.

    Args:
        load: ref_id -> (reference, rois, variants).
        measured: crop distances already computed per ref_id (from `distances`), if any.
    """
    measured = dict(measured or {})
    for ref_id in [*fit_ids, *check_ids]:
        if ref_id not in measured:
            measured[ref_id] = distances(*load(ref_id), metric)
    worst = fit_worst([measured[i] for i in fit_ids], metric)
    worst_check = fit_worst([measured[i] for i in check_ids], metric)
    fitted = with_worst(metric, worst)
    # The check half's own constant equals the fitted one when the halves agree: label it once then.
    own = fitted if worst_check == worst else with_worst(metric, worst_check)
    records = _label_halves(load, fit_ids, check_ids, fitted, own)
    shares = {
        half: task_shares(pd.DataFrame(rows, columns=list(WORD_COLUMNS))) for half, rows in records.items()
    }
    transfer = largest_difference(shares["check"], shares["check_own_fit"])
    return {
        "fitted_metric": fitted_part(metric).name,
        "worst": round(worst, 4),
        "worst_fitted_on_check_half": round(worst_check, 4),
        "n_labels": {
            half: int(sum(measured[i].size for i in ids))
            for half, ids in (("fit", fit_ids), ("check", check_ids))
        },
        "word_shares_pct": shares,
        "transfer_pp": transfer,
        "between_halves_pp": largest_difference(shares["fit"], shares["check"]),
        "transfers": transfer <= TRANSFER_TOLERANCE_PP,
    }


def _label_halves(
    load: Callable[[str], Inputs],
    fit_ids: Sequence[str],
    check_ids: Sequence[str],
    fitted: LabelMetric,
    own: LabelMetric,
) -> dict[str, list[dict]]:
    """{"fit", "check", "check_own_fit"}: the word columns of the labels of each half and constant,
    each reference loaded once (its labels with both constants are made while it is in memory)."""
    records: dict[str, list[dict]] = {"fit": [], "check": [], "check_own_fit": []}
    for ref_id in [*fit_ids, *check_ids]:
        inputs = load(ref_id)
        if ref_id in fit_ids:
            records["fit"] += _words(label_reference(*inputs, fitted))
        if ref_id in check_ids:
            check = _words(label_reference(*inputs, fitted))
            records["check"] += check
            records["check_own_fit"] += check if own is fitted else _words(label_reference(*inputs, own))
        del inputs  # before the next reference is loaded
    return records


def _words(labels: Sequence) -> list[dict]:
    """The columns word shares need, not the whole records (they add up over 8 references x 3)."""
    return [{column: getattr(label, column) for column in WORD_COLUMNS} for label in labels]
