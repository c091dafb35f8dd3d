"""Exposure: a gain on linear RGB in stops (EV), then the highlight clip of a saturated sensor."""

from __future__ import annotations

import numpy as np


def apply_exposure(linear: np.ndarray, ev: float) -> np.ndarray:
    """Scale linear sRGB by 2**ev and clip to [0, 1].

    Args:
        linear: float32 (H, W, 3), linear sRGB, 1.0 = white.
        ev: exposure change in stops; negative under-exposes, positive over-exposes.

    Returns:
        float32 (H, W, 3) in [0, 1]; over-exposed highlights clip per channel (as a saturated
        sensor does), which also shifts the hue of bright saturated colours.
    """
    scaled = linear * np.float32(2.0**ev)
    return np.clip(scaled, 0.0, 1.0, out=scaled)
