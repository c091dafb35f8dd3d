"""Tone: the sRGB transfer function, the camera's global tone curve, contrast, and 8-bit output LUTs.

Curves act on display-referred values y in [0, 1] (after the sRGB gamma). The default tone curve is
the smoothstep S-curve of Brooks et al. (2019), "Unprocessing images for learned raw denoising", whose
closed-form inverse the sample generator uses. Contrast is a second curve after it: below 1 it
compresses the range about mid-grey (flat, low contrast); above 1 it is a normalised logistic S-curve
whose slope at mid-grey equals the contrast (punchy, crushed shadows and highlights).

Speed: the whole linear -> 8-bit path is one 65,536-entry look-up table indexed by the linear value
quantised to 16 bits, so each variant pays one pass over its pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq

LUT_SIZE = 65536  # 16-bit quantisation of linear values: finer than 8-bit sRGB steps everywhere


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB transfer: linear [0, 1] -> display [0, 1] (float64 or float32 in, same out)."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def srgb_decode(display: np.ndarray) -> np.ndarray:
    """Inverse of `srgb_encode`: display [0, 1] -> linear [0, 1]."""
    y = np.clip(display, 0.0, 1.0)
    return np.where(y <= 0.04045, y / 12.92, np.power((y + 0.055) / 1.055, 2.4))


def smoothstep(y: np.ndarray) -> np.ndarray:
    """The global tone curve 3y^2 - 2y^3 on display values [0, 1]."""
    y = np.clip(y, 0.0, 1.0)
    return y * y * (3.0 - 2.0 * y)


def inverse_smoothstep(y: np.ndarray) -> np.ndarray:
    """Closed-form inverse of `smoothstep` on [0, 1]."""
    y = np.clip(y, 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)


def _identity(y: np.ndarray) -> np.ndarray:
    return np.clip(y, 0.0, 1.0)


# name -> (curve, inverse); the reference preset names one.
TONE_CURVES: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "smoothstep": (smoothstep, inverse_smoothstep),
    "linear": (_identity, _identity),
}


def tone_curve(name: str) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """The (curve, inverse) pair registered as `name`."""
    if name not in TONE_CURVES:
        raise ValueError(f"unknown tone curve {name!r}; choose one of {sorted(TONE_CURVES)}")
    return TONE_CURVES[name]


def contrast_curve(y: np.ndarray, contrast: float) -> np.ndarray:
    """Change contrast about mid-grey on display values y in [0, 1].

    Args:
        y: display values, any shape.
        contrast: 1 = unchanged; in (0, 1) the slope of a linear squeeze toward 0.5; > 1 the
            mid-grey slope of a normalised logistic curve (end points stay at 0 and 1).
    """
    if contrast <= 0:
        raise ValueError(f"contrast must be > 0, got {contrast}")
    if contrast <= 1.0:
        return 0.5 + (np.clip(y, 0.0, 1.0) - 0.5) * contrast
    # Logistic with gain g normalised to [0, 1]: its mid slope is u / tanh(u), u = g / 4.
    u = brentq(lambda v: v / np.tanh(v) - contrast, 1e-6, contrast + 1.0)
    gain = 4.0 * u
    low, high = _sigmoid(-gain / 2), _sigmoid(gain / 2)
    return (_sigmoid(gain * (np.clip(y, 0.0, 1.0) - 0.5)) - low) / (high - low)


def _sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


def _display_values(curve: str, contrast: float) -> np.ndarray:
    """float64 (LUT_SIZE,): display value of each quantised linear input after tone and contrast."""
    linear = np.arange(LUT_SIZE, dtype=np.float64) / (LUT_SIZE - 1)
    forward, _ = tone_curve(curve)
    return contrast_curve(forward(srgb_encode(linear)), contrast)


def display_lut(curve: str = "smoothstep", contrast: float = 1.0) -> np.ndarray:
    """uint8 (LUT_SIZE,): linear value quantised to 16 bits -> 8-bit sRGB after tone and contrast."""
    return np.round(_display_values(curve, contrast) * 255.0).astype(np.uint8)


def tone_lut_linear(curve: str = "smoothstep", contrast: float = 1.0) -> np.ndarray:
    """float32 (LUT_SIZE,): linear -> linear after the tone curve (for a colour stage before gamma)."""
    return srgb_decode(_display_values(curve, contrast)).astype(np.float32)


def gamma_lut() -> np.ndarray:
    """uint8 (LUT_SIZE,): linear value quantised to 16 bits -> 8-bit sRGB (gamma only)."""
    return display_lut("linear", 1.0)


def apply_lut(linear: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Index a LUT with linear values: float32 (...) in [0, 1] -> lut.dtype (...)."""
    index = np.clip(linear, 0.0, 1.0) * np.float32(LUT_SIZE - 1) + np.float32(0.5)
    return lut[index.astype(np.uint16)]
