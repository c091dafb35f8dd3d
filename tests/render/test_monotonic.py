"""Level 1 is the mildest and level 20 the strongest: PSNR against the reference falls with the level.

The metric is PSNR (skimage, weight-free) of each level against the reference, on every image of the
embedded sample at the test working size.

- One-way types (noise, blur, colorfulness, compression): strictly falling on every image, no tolerance.
- Two-way types (exposure, contrast; odd levels one direction, even levels the other): strictly falling
  within each direction on every image, and strictly falling over all 20 levels for the median image.
  Between a level and the next (which switches direction) an image may be at most
  `TWO_WAY_TOLERANCE_DB` milder: over-exposure hurts bright images more than dark ones, so no single
  interleaving is exact for every photograph.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from pipeline.render import prepare_reference, render_variants
from pipeline.taxonomy import DISTORTION_TYPES

TWO_WAY = ("exposure", "contrast")
TWO_WAY_TOLERANCE_DB = 5.0


@pytest.fixture(scope="module")
def psnr_curves(decoded_sample, presets) -> dict[str, np.ndarray]:  # noqa: ANN001
    """type -> float (images, 20): PSNR of each level against the reference."""
    curves: dict[str, list[list[float]]] = {name: [] for name in DISTORTION_TYPES}
    for decoded in decoded_sample:
        reference = prepare_reference(decoded, presets)
        rows: dict[str, list[float]] = {name: [] for name in DISTORTION_TYPES}
        for variant in render_variants(decoded, presets, reference=reference):
            with np.errstate(divide="ignore"):  # an unchanged image gives inf, caught below
                score = peak_signal_noise_ratio(reference.image, variant.image, data_range=255)
            rows[variant.dist_type].append(score)
        for name, row in rows.items():
            curves[name].append(row)
    return {name: np.array(rows) for name, rows in curves.items()}


def test_every_level_changes_every_image(psnr_curves) -> None:  # noqa: ANN001
    # An unchanged image has infinite PSNR (and would hide a rise from the comparisons below).
    for name, curves in psnr_curves.items():
        assert np.isfinite(curves).all(), f"{name}: some level leaves an image unchanged: {curves}"


def _rises(curve: np.ndarray) -> list[int]:
    """Levels (1-based) whose PSNR is not below the previous level's."""
    return [int(k) + 2 for k in np.flatnonzero(np.diff(curve) >= 0)]


@pytest.mark.parametrize("dist_type", [t for t in DISTORTION_TYPES if t not in TWO_WAY])
def test_one_way_types_fall_strictly_on_every_image(psnr_curves, decoded_sample, dist_type: str) -> None:  # noqa: ANN001
    for decoded, curve in zip(decoded_sample, psnr_curves[dist_type], strict=True):
        assert not _rises(curve), (
            f"{dist_type} on {decoded.ref_id}: PSNR rises at levels {_rises(curve)}: {np.round(curve, 2)}"
        )


@pytest.mark.parametrize("dist_type", TWO_WAY)
def test_two_way_types_fall_within_each_direction(psnr_curves, decoded_sample, dist_type: str) -> None:  # noqa: ANN001
    for decoded, curve in zip(decoded_sample, psnr_curves[dist_type], strict=True):
        for start, direction in ((0, "odd"), (1, "even")):
            assert not _rises(curve[start::2]), (
                f"{dist_type} {direction} levels on {decoded.ref_id}: {np.round(curve, 2)}"
            )


@pytest.mark.parametrize("dist_type", TWO_WAY)
def test_two_way_types_fall_for_the_median_image_and_within_tolerance(psnr_curves, dist_type: str) -> None:  # noqa: ANN001
    curves = psnr_curves[dist_type]
    median = np.median(curves, axis=0)
    assert not _rises(median), (
        f"{dist_type}: median PSNR rises at levels {_rises(median)}: {np.round(median, 2)}"
    )
    worst = float(np.diff(curves, axis=1).max())
    assert worst <= TWO_WAY_TOLERANCE_DB, (
        f"{dist_type}: a level is {worst:.2f} dB milder than the one before it"
    )
