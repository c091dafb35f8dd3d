"""White balance: per-channel gains on camera RGB (the camera's as-shot neutral, green = 1)."""

from __future__ import annotations

import numpy as np


def neutral_to_gains(neutral: np.ndarray) -> np.ndarray:
    """Gains (3,) that map the camera's response to a neutral (3,) onto equal RGB, green gain 1."""
    neutral = np.asarray(neutral, dtype=np.float64)
    return (neutral[1] / neutral).astype(np.float32)


def apply_white_balance(rgb: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Multiply camera RGB float32 (H, W, 3) by gains (3,); returns float32 (H, W, 3), not clipped."""
    return rgb * np.asarray(gains, dtype=np.float32).reshape(1, 1, 3)
