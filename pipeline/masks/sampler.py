"""Seeded random point prompts for the component-level ROIs (the paper: "SAM with random points")."""

from __future__ import annotations

import numpy as np


def sample_points(height: int, width: int, n: int, seed: int) -> np.ndarray:
    """`n` points uniform over the image, the same for the same arguments.

    Args:
        height, width: image size in pixels (>= 1).
        n: number of points (>= 0).
        seed: seed of a fresh numpy Generator (no global random state is touched).

    Returns:
        float32 (n, 2) array of (x, y) pixel coordinates, x in [0, width), y in [0, height).
    """
    if height < 1 or width < 1:
        raise ValueError(f"image size must be at least 1x1, got {height}x{width}")
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.0, 1.0, size=(n, 2)) * np.array([width, height])
    return np.minimum(points, np.array([width, height]) - 1e-3).astype(np.float32)
