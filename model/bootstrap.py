"""Paired bootstrap intervals: is the model above a floor, or only above it on these ROIs?

eval.md compares the model with two floors (the crop baseline's quality SROCC, the constant
answer's type F1) on the same ROIs. A difference of a fraction of a point on one test image can be
sampling noise; the interval says how far it would move on other ROIs drawn like these. ROIs are
resampled with replacement, the same ROIs for the model and the floor (paired), by scipy.stats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0  # the same interval on every run of the same records


def paired_interval(statistic: Callable[..., float], *columns: Sequence[float]) -> list[float] | None:
    """The 95 % percentile interval of `statistic(*columns)` over resampled ROIs.

    Args:
        statistic: takes one array per column (the resampled ROIs, in the same order in each).
        columns: per-ROI values of equal length (e.g. the model's and the floor's per-ROI scores).

    Returns:
        [low, high], or None for fewer than 3 ROIs or a statistic undefined on some resample.
    """
    if len(columns[0]) < 3:
        return None
    result = stats.bootstrap(
        tuple(np.asarray(c, dtype=float) for c in columns),
        statistic,
        paired=True,
        vectorized=False,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(SEED),
    )
    interval = [float(result.confidence_interval.low), float(result.confidence_interval.high)]
    # A statistic undefined on some resample (an SROCC of constant scores, among very few ROIs).
    return interval if np.isfinite(interval).all() else None
