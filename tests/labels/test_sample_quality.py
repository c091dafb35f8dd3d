"""On the sample photographs rendered by pipeline.render, mean ROI quality falls with level for every type."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.labels import DEFAULT_METRIC, create_metric, label_reference
from pipeline.records import ROI
from pipeline.taxonomy import DISTORTION_TYPES

LEVELS = (1, 10, 20)
PHOTOS = ("astronaut", "chelsea", "coffee")
SIZE = 256  # working resolution of this test: small, so that 3 x 18 variants label in seconds


def grid_rois(height: int, width: int) -> list[ROI]:
    """Four quadrants and a central ellipse-like square: ROIs of different places and sizes."""
    rois = []
    for index, (y0, y1, x0, x1) in enumerate(
        [(0, height // 2, 0, width // 2), (0, height // 2, width // 2, width), (height // 2, height, 0, width // 2),
         (height // 2, height, width // 2, width), (height // 3, 2 * height // 3, width // 3, 2 * width // 3)]
    ):  # fmt: skip
        mask = np.zeros((height, width), bool)
        mask[y0:y1, x0:x1] = True
        rois.append(ROI.from_mask(index, "component", mask, 1.0, "grid"))
    return rois


@pytest.fixture(scope="module")
def sample_labels(sample_raw_dir):
    from pipeline.decode import decode_raw
    from pipeline.presets import load_presets
    from pipeline.render import render_reference, render_variants

    presets, metric, labels = load_presets(), create_metric(DEFAULT_METRIC), []
    for name in PHOTOS:
        decoded = decode_raw(sample_raw_dir / f"{name}.dng", size=SIZE)
        reference = render_reference(decoded, presets)
        variants = list(render_variants(decoded, presets, levels=LEVELS))
        labels += label_reference(reference, grid_rois(*reference.shape[:2]), variants, metric)
    return labels


@pytest.mark.parametrize("dist_type", DISTORTION_TYPES)
def test_mean_roi_quality_falls_with_level(sample_labels, dist_type):
    means = [
        np.mean(
            [
                label.quality
                for label in sample_labels
                if label.dist_type == dist_type and label.level == level
            ]
        )
        for level in LEVELS
    ]
    assert means[0] > means[1] > means[2], dict(zip(LEVELS, means, strict=True))
