"""Fixtures of the masks tests: real photographs (the embedded sample is rendered from the same ones)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def photo(name: str, long_side: int = 512) -> np.ndarray:
    """uint8 RGB photograph from skimage.data, resized so that its long side is `long_side`."""
    image = getattr(data, name)()
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """name -> uint8 RGB photograph with a 512 px long side, for every name of PHOTOS."""
    return {name: photo(name) for name in PHOTOS}


@pytest.fixture(scope="session")
def astronaut(photos) -> np.ndarray:
    return photos["astronaut"]
