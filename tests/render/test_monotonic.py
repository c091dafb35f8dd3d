"""Levels rank severity: level 1 is the mildest and level 20 the strongest, for every type.

Measured on every image of the embedded sample at the test working size, by two independent measures
of degradation against the reference (`pipeline.level_severity`): 1 - SSIM, and 1 - quality by the
build's label metric (`DEFAULT_METRIC` of the label registry, whichever it is). For each type and
measure:

- the mean over the sample rises strictly from level 1 to level 20 (no tolerance);
- on every image, the Spearman rank correlation of degradation with the level is at least
  `MIN_SPEARMAN` (a two-way type may swap neighbouring levels on one image: over-exposure hurts bright
  images more, under-exposure dark ones);
- every level changes every image.

The two-way types (exposure, contrast) list their parameters in the order measured by
`isp_presets/level_severity.yaml`; the stored order must be the order these measurements give.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.labels.metrics import DEFAULT_METRIC, create_metric
from pipeline.level_severity import SSIM, severity_curves, spearman_per_image
from pipeline.taxonomy import DISTORTION_TYPES

MIN_SPEARMAN = 0.9


@pytest.fixture(scope="module")
def curves(decoded_sample, presets) -> dict[str, dict[str, np.ndarray]]:
    return severity_curves(decoded_sample, presets, create_metric(DEFAULT_METRIC))


def _measures(curves, dist_type: str) -> dict[str, np.ndarray]:
    by_measure = curves[dist_type]
    assert set(by_measure) == {SSIM, DEFAULT_METRIC}
    return by_measure


@pytest.mark.parametrize("dist_type", DISTORTION_TYPES)
def test_mean_degradation_rises_strictly(curves, dist_type: str) -> None:  # noqa: ANN001
    for measure, degradation in _measures(curves, dist_type).items():
        mean = degradation.mean(axis=0)
        falls = [int(k) + 2 for k in np.flatnonzero(np.diff(mean) <= 0)]
        assert not falls, (
            f"{dist_type} by {measure}: level(s) {falls} no worse than the one before: {np.round(mean, 4)}"
        )


@pytest.mark.parametrize("dist_type", DISTORTION_TYPES)
def test_each_image_ranks_the_levels(curves, decoded_sample, dist_type: str) -> None:
    for measure, degradation in _measures(curves, dist_type).items():
        rho = spearman_per_image(degradation)
        worst = int(np.argmin(rho))
        assert rho.min() >= MIN_SPEARMAN, (
            f"{dist_type} by {measure} on {decoded_sample[worst].ref_id}: Spearman {rho[worst]:.3f} "
            f"({np.round(degradation[worst], 4)})"
        )


@pytest.mark.parametrize("dist_type", DISTORTION_TYPES)
def test_every_level_changes_every_image(curves, dist_type: str) -> None:
    for measure, degradation in _measures(curves, dist_type).items():
        assert (degradation > 0).all(), f"{dist_type} by {measure}: a level leaves an image unchanged"
