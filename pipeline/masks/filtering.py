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


def dedup(candidates: Candidates, max_iou: float, limit: int | None = None) -> np.ndarray:
    """Greedy mask-IoU suppression in the given order (earlier = preferred).

    A candidate is dropped when its mask IoU with an already kept one exceeds `max_iou`. Mask IoU
    (pycocotools, on RLEs) is computed only against kept masks whose boxes meet this one's, and the
    scan stops at `limit` kept masks: O(N * limit) instead of O(N**2) RLE comparisons.

    Returns:
        int64 indices of the kept candidates, in order, at most `limit` of them.
    """
    rles = coded_rles(candidates.rles)
    boxes = np.asarray(mask_utils.toBbox(rles)).reshape(-1, 4) if rles else np.zeros((0, 4))
    kept: list[int] = []
    for i in range(len(rles)):
        if limit is not None and len(kept) >= limit:
            break
        near = [k for k in kept if _boxes_meet(boxes[i], boxes[k])]
        if near and np.max(mask_utils.iou([rles[i]], [rles[k] for k in near], [0] * len(near))) > max_iou:
            continue
        kept.append(i)
    return np.asarray(kept, np.int64)


def _boxes_meet(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two XYWH boxes intersect (masks in disjoint boxes have IoU 0)."""
    return bool(a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3])


def by_score(candidates: Candidates) -> np.ndarray:
    """Indices sorting candidates by score, best first; ties keep their order (stable)."""
    return np.argsort(-candidates.scores, kind="stable")
