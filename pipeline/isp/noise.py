"""Sensor noise in the RAW (mosaic) domain, before demosaicing: heteroscedastic shot + read noise.

The model of Foi et al. (2008) and Brooks et al. (2019): for a black-subtracted signal x in units of the
white level, the noisy value is x + n with n ~ N(0, shot * x + read**2). `shot` is the inverse of the
photo-electrons that fill the white level (it grows with ISO gain); `read` is the read-noise standard
deviation in units of the white level.
"""

from __future__ import annotations

import numpy as np


def add_mosaic_noise(mosaic: np.ndarray, shot: float, read: float, rng: np.random.Generator) -> np.ndarray:
    """Add shot + read noise to a Bayer mosaic.

    Args:
        mosaic: float32 (H, W), black-subtracted, 1.0 = white level.
        shot: shot-noise gain (variance per unit signal), >= 0.
        read: read-noise standard deviation in units of the white level, >= 0.
        rng: the generator that draws the noise (determinism is the caller's seed).

    Returns:
        float32 (H, W), clipped at 1 (the ADC saturates); values below 0 stay, as a RAW file keeps
        noise below its black level.
    """
    signal = np.maximum(mosaic, 0.0)
    sigma = np.sqrt(signal * np.float32(shot) + np.float32(read * read))
    noisy = mosaic + sigma * rng.standard_normal(mosaic.shape, dtype=np.float32)
    return np.minimum(noisy, 1.0, out=noisy)
