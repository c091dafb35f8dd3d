"""An overlay PNG of an image's ROIs, for a person to check the masks at a glance."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.records import ROI


def draw_overlay(image: np.ndarray, rois: list[ROI], alpha: float = 0.45) -> np.ndarray:
    """ROIs drawn over the image: a tinted fill, an outline (objects thick, components thin), the id.

    Args:
        image: uint8 RGB (H, W, 3), the image the masks were computed on.
        rois: its ROIs; drawn largest first so small components stay visible on top.
        alpha: fill opacity in 0..1.

    Returns:
        uint8 RGB (H, W, 3).
    """
    canvas = image.astype(np.float32).copy()
    from matplotlib import colormaps  # here, not at the top: only drawing needs matplotlib's import

    palette = colormaps["tab20"].colors
    ordered = sorted(rois, key=lambda r: -r.area)
    for roi in ordered:
        colour = np.asarray(palette[roi.roi_id % len(palette)], np.float32) * 255
        mask = roi.mask()
        canvas[mask] = (1 - alpha) * canvas[mask] + alpha * colour
    out = np.clip(canvas, 0, 255).astype(np.uint8)
    for roi in ordered:
        colour = tuple(int(c * 255) for c in palette[roi.roi_id % len(palette)])
        contours, _ = cv2.findContours(
            roi.mask().astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        cv2.drawContours(out, contours, -1, colour, 3 if roi.kind == "object" else 1)
    for roi in ordered:
        _label(out, roi)
    return out


def _label(out: np.ndarray, roi: ROI) -> None:
    x, y, w, h = roi.bbox
    text = f"{'O' if roi.kind == 'object' else 'c'}{roi.roi_id}"
    origin = (x + 2, y + 14)
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
