"""Defocus (lens) blur in linear RGB: convolution with an anti-aliased disk, the out-of-focus PSF."""

from __future__ import annotations

import math

import cv2
import numpy as np


def disk_kernel(radius: float, subsamples: int = 8) -> np.ndarray:
    """A normalised disk PSF of `radius` pixels; each weight is the pixel's area inside the disk.

    Args:
        radius: disk radius in pixels (> 0); below 0.5 the disk fits in one pixel (no blur).
        subsamples: per-axis samples per pixel used to measure the covered area.

    Returns:
        float32 (2k+1, 2k+1), k = ceil(radius - 0.5), summing to 1.
    """
    if radius <= 0:
        raise ValueError(f"defocus radius must be > 0 pixels, got {radius}")
    half = max(0, math.ceil(radius - 0.5))
    offsets = (np.arange(subsamples) + 0.5) / subsamples - 0.5  # sample centres inside one pixel
    grid = np.arange(-half, half + 1)[:, None] + offsets[None, :]  # (2k+1, subsamples)
    yy = grid[:, None, :, None]
    xx = grid[None, :, None, :]
    inside = (yy * yy + xx * xx) <= radius * radius  # (2k+1, 2k+1, s, s)
    weights = inside.mean(axis=(2, 3)).astype(np.float32)
    return weights / weights.sum()


def apply_defocus(linear: np.ndarray, radius: float) -> np.ndarray:
    """Blur float32 linear RGB (H, W, 3) with a disk of `radius` pixels; returns float32 (H, W, 3).

    Blurring linear light (not gamma-encoded values) makes bright highlights spread into bokeh
    disks as a real lens does.
    """
    return cv2.filter2D(linear, -1, disk_kernel(radius), borderType=cv2.BORDER_REFLECT)
