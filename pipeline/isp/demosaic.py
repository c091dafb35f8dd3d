"""Demosaicing a Bayer mosaic of any 2x2 order with OpenCV (one method registry, chosen by the reference preset)."""

from __future__ import annotations

import cv2
import numpy as np

# OpenCV names Bayer codes after the 2x2 block that starts at the second row and column, so an RGGB
# sensor is its "BG" pattern (tests/render/test_isp.py checks each order with a one-colour mosaic).
_OPENCV_ORDER = {"RGGB": "BG", "BGGR": "RG", "GRBG": "GB", "GBRG": "GR"}
_METHODS: dict[str, dict[str, int]] = {
    # OpenCV's edge-aware interpolation (16-bit capable)
    "edge_aware": {cfa: getattr(cv2, f"COLOR_Bayer{cv}2RGB_EA") for cfa, cv in _OPENCV_ORDER.items()},
    "bilinear": {cfa: getattr(cv2, f"COLOR_Bayer{cv}2RGB") for cfa, cv in _OPENCV_ORDER.items()},
}

_SCALE = 65535.0  # demosaic in 16-bit integers: OpenCV's Bayer conversions take 8u/16u only
# Values below black (noise in the dark) are kept, as a camera's RAW keeps them below the black level:
# clipping them at 0 would lift the mean of dark noisy areas and tint them magenta after white balance.
PEDESTAL = 1.0 / 16.0


def list_demosaic_methods() -> list[str]:
    """Names accepted by `demosaic`."""
    return sorted(_METHODS)


def demosaic(mosaic: np.ndarray, method: str = "edge_aware", cfa: str = "RGGB") -> np.ndarray:
    """Interpolate the full camera RGB image from a Bayer mosaic.

    Args:
        mosaic: float32 (H, W), 0..1 (H and W even); values down to -PEDESTAL survive.
        method: one of `list_demosaic_methods()`.
        cfa: the mosaic's 2x2 colour order, row by row: RGGB, BGGR, GRBG or GBRG.

    Returns:
        float32 (H, W, 3) camera RGB, -PEDESTAL..1.
    """
    if method not in _METHODS:
        raise ValueError(f"unknown demosaic method {method!r}; choose one of {list_demosaic_methods()}")
    if cfa not in _OPENCV_ORDER:
        raise ValueError(f"unknown Bayer order {cfa!r}; choose one of {sorted(_OPENCV_ORDER)}")
    span = 1.0 + PEDESTAL
    quantised = ((np.clip(mosaic, -PEDESTAL, 1.0) + PEDESTAL) * (_SCALE / span) + 0.5).astype(np.uint16)
    rgb = cv2.cvtColor(quantised, _METHODS[method][cfa]).astype(np.float32)
    return rgb * np.float32(span / _SCALE) - np.float32(PEDESTAL)
