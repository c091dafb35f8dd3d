"""Fixtures of the labels tests: small real photographs, ROIs and distortions made by pipeline.render."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from pipeline.records import ROI, Variant


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real photograph, uint8 (96, 144, 3): small, so that every metric runs in milliseconds."""
    return cv2.resize(data.chelsea(), (144, 96), interpolation=cv2.INTER_AREA)


def ellipse_roi(shape: tuple[int, int], roi_id: int, center: tuple[int, int], axes: tuple[int, int]) -> ROI:
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, center, axes, 0.0, 0.0, 360.0, 1, -1)
    return ROI.from_mask(roi_id, "component", mask.astype(bool), 1.0, "test")


@pytest.fixture(scope="session")
def photo_rois(photo: np.ndarray) -> list[ROI]:
    """A large, a medium and a small elliptic ROI."""
    shape = photo.shape[:2]
    return [
        ellipse_roi(shape, 0, (72, 48), (60, 40)),
        ellipse_roi(shape, 1, (40, 30), (18, 12)),
        ellipse_roi(shape, 2, (110, 70), (6, 5)),
    ]


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, sigma, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_variants(photo: np.ndarray) -> list[Variant]:
    return [Variant("noise", level, noisy(photo, 2.0 * level, seed=level)) for level in (1, 10, 20)]


@pytest.fixture(scope="session")
def make_roi():
    """`ellipse_roi(shape, roi_id, center, axes)` for tests (importlib mode: no conftest imports)."""
    return ellipse_roi


@pytest.fixture(scope="session")
def make_noisy():
    """`noisy(image, sigma, seed=0)`: Gaussian noise of `sigma` grey levels, uint8."""
    return noisy
