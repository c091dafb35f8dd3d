"""Colour stage: colorfulness as a chroma scale in Oklab, a perceptually uniform space.

Oklab (Ottosson, 2020) separates lightness L from the opponent axes a, b; scaling a and b changes
colourfulness while keeping perceived lightness and hue. Because Oklab is a matrix, a cube root and a
matrix, the scale of (a, b) folds into one 3x3 matrix on the cube-rooted cone responses.
"""

from __future__ import annotations

import cv2
import numpy as np

# Linear sRGB -> LMS cone responses, and cube-rooted LMS -> Lab (Ottosson's published matrices).
_M1 = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_M2 = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)


def scale_chroma(linear: np.ndarray, saturation: float) -> np.ndarray:
    """Scale Oklab chroma of linear sRGB by `saturation` (1 = unchanged, 0 = grey).

    Args:
        linear: float32 (H, W, 3), linear sRGB in [0, 1].
        saturation: chroma factor >= 0.

    Returns:
        float32 (H, W, 3) linear sRGB, clipped to [0, 1] (out-of-gamut colours clip per channel).
    """
    if saturation < 0:
        raise ValueError(f"saturation must be >= 0, got {saturation}")
    lms = cv2.transform(np.clip(linear, 0.0, None), _M1.astype(np.float32))
    root = cv2.pow(np.clip(lms, 0.0, None), 1.0 / 3.0)
    # cv2.transform computes M @ pixel: "Lab = M2 @ lms', scale a and b, back to lms'" is one matrix.
    scale = np.linalg.inv(_M2) @ np.diag([1.0, saturation, saturation]) @ _M2
    root = cv2.transform(root, scale.astype(np.float32))
    out = cv2.transform(root * root * root, np.linalg.inv(_M1).astype(np.float32))
    return np.clip(out, 0.0, 1.0, out=out)
