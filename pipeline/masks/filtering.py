"""Generic gates on candidate masks: the area floor, mask-IoU de-duplication and the per-image cap.

The segmenter-specific gates (SAM's predicted IoU and stability score) run inside each segmenter,
where the logits still exist; everything here works on RLEs and applies to every segmenter.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

from pipeline.masks.base import Candidates, coded_rles

# The paper drops ROIs under 32 x 32 pixels of the RAISE original.
PAPER_MIN_AREA = 32 * 32


def min_area_px(work_shape: tuple[int, int], original_shape: tuple[int, int] | None, min_area: int) -> float:
    """The area floor in pixels of the working image.

    A mask of `min_area` pixels at the original size covers `min_area * s**2` pixels after resizing
    by s = work long side / original long side; e.g. a 4,928 px RAISE file at 1,024 px: 1024 * 0.208**2
    = 44 px. `original_shape` None means the working image is the original.
    """
    if original_shape is None:
        return float(min_area)
    scale = max(work_shape) / max(original_shape)
    return float(min_area) * scale**2


def drop_small(candidates: Candidates, min_area: float) -> Candidates:
    """Keep masks with area >= min_area pixels (empty masks always go)."""
    areas = candidates.areas()
    return candidates.take(np.flatnonzero((areas >= min_area) & (areas > 0)))


def dedup(candidates: Candidates, max_iou: float) -> np.ndarray:
    """Greedy mask-IoU suppression in the given order (earlier = preferred).

    Returns:
        int64 indices of the kept candidates, in order; a candidate is dropped when its mask IoU
        with an already kept one exceeds `max_iou`.
    """
    if len(candidates) == 0:
        return np.zeros(0, np.int64)
    rles = coded_rles(candidates.rles)
    iou = np.asarray(mask_utils.iou(rles, rles, [0] * len(rles))).reshape(len(rles), len(rles))
    kept: list[int] = []
    for i in range(len(rles)):
        if not kept or iou[i, kept].max() <= max_iou:
            kept.append(i)
    return np.asarray(kept, np.int64)


def by_score(candidates: Candidates) -> np.ndarray:
    """Indices sorting candidates by score, best first; ties keep their order (stable)."""
    return np.argsort(-candidates.scores, kind="stable")
