"""Colour matrix: white-balanced camera RGB to linear sRGB, and the matrices that define it.

A DNG/Adobe `ColorMatrix` maps CIE XYZ (D65) to camera RGB. As dcraw and LibRaw do, the camera-from-sRGB
matrix is `xyz_to_cam @ SRGB_TO_XYZ` with its rows normalised to sum to 1 (so that white stays white
after white balance); its inverse maps camera RGB to linear sRGB.
"""

from __future__ import annotations

import cv2
import numpy as np

# IEC 61966-2-1 linear sRGB (D65) to CIE XYZ.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)


def cam_from_srgb(xyz_to_cam: np.ndarray) -> np.ndarray:
    """Camera-from-linear-sRGB (3, 3) with rows summing to 1, from an XYZ->camera matrix (3, 3)."""
    cam = np.asarray(xyz_to_cam, dtype=np.float64) @ SRGB_TO_XYZ
    return cam / cam.sum(axis=1, keepdims=True)


def srgb_from_cam(xyz_to_cam: np.ndarray) -> np.ndarray:
    """Linear-sRGB-from-camera (3, 3), the inverse of `cam_from_srgb` (LibRaw's `rgb_cam`)."""
    return np.linalg.inv(cam_from_srgb(xyz_to_cam))


def apply_color_matrix(rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 3x3 matrix to every pixel: float32 (H, W, 3) -> float32 (H, W, 3), not clipped."""
    return cv2.transform(np.ascontiguousarray(rgb, dtype=np.float32), np.asarray(matrix, dtype=np.float32))
