"""Defocus (lens) blur in linear RGB: convolution with an anti-aliased disk, the out-of-focus PSF."""

from __future__ import annotations

import math

import cv2
import numpy as np


def disk_kernel(radius: float) -> np.ndarray:
    """A normalised disk PSF of `radius` pixels, edge pixels weighted by their coverage.

    Returns:
        float32 (2k+1, 2k+1), k = ceil(radius), summing to 1.
    """
    if radius <= 0:
        raise ValueError(f"defocus radius must be > 0 pixels, got {radius}")
    half = math.ceil(radius)
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    # Coverage of each pixel by the disk, approximated from its centre distance (1-pixel ramp).
    weights = np.clip(radius + 0.5 - np.hypot(yy, xx), 0.0, 1.0).astype(np.float32)
    return weights / weights.sum()


def apply_defocus(linear: np.ndarray, radius: float) -> np.ndarray:
    """Blur float32 linear RGB (H, W, 3) with a disk of `radius` pixels; returns float32 (H, W, 3).

    Blurring linear light (not gamma-encoded values) makes bright highlights spread into bokeh
    disks as a real lens does.
    """
    return cv2.filter2D(linear, -1, disk_kernel(radius), borderType=cv2.BORDER_REFLECT)
