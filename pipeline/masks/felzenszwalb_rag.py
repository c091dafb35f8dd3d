"""`felzenszwalb_rag`: the weight-free default segmenter (no network, no weight file).

It answers the same prompts as SAM from a colour-region hierarchy (see `_regions`):
- a point prompt gets the component-level region (fine merge) that contains the point;
- a box prompt gets the object-level region (coarse merge) that best explains the box: either the
  single region with the highest IoU with the box or the union of the regions lying mostly inside
  it, whichever's bounding box matches the prompt better (the analogue of SAM's multimask choice).
Each mask's score is its edge support (share of its border on an image edge). Masks come from label
maps, not logits, so their stability is 1 by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.masks._regions import RegionConfig, RegionLevels, edge_support, region_levels, upscale_mask
from pipeline.masks._registry import SEGMENTERS
from pipeline.masks.base import Candidates, Provenance

NAME = "felzenszwalb_rag"


@dataclass(frozen=True)
class FelzenszwalbRagConfig:
    regions: RegionConfig = field(default_factory=RegionConfig)
    # A region joins a box's union when at least this share of its pixels lies inside the box:
    # a majority rule, so regions straddling the box edge (background) stay out.
    min_inside: float = 0.5


class FelzenszwalbRagSegmenter:
    """Weight-free prompted segmenter over a colour-region hierarchy (see module docstring)."""

    def __init__(self, config: FelzenszwalbRagConfig | None = None) -> None:
        self.config = config or FelzenszwalbRagConfig()
        self.provenance = Provenance(NAME)
        self._levels: RegionLevels | None = None

    def set_image(self, image: np.ndarray) -> None:
        self._levels = region_levels(image, self.config.regions)

    def segment_points(self, points: np.ndarray) -> Candidates:
        """One component-level region per distinct region hit by float32 (N, 2) (x, y) points."""
        levels = self._require_levels()
        labels = levels.labels[0]
        xy = _to_work(points, levels)
        ids = labels[xy[:, 1], xy[:, 0]]
        unique_ids = list(dict.fromkeys(int(i) for i in ids))  # first-hit order, deterministic
        return self._candidates([labels == i for i in unique_ids])

    def segment_boxes(self, boxes: np.ndarray) -> Candidates:
        """One object-level region per XYXY box float32 (N, 4) (boxes that cover nothing are dropped)."""
        levels = self._require_levels()
        masks = [self._box_mask(levels.labels[-1], box * levels.scale) for box in np.asarray(boxes, float)]
        return self._candidates([m for m in masks if m is not None])

    def _box_mask(self, labels: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        x0, y0, x1, y1 = _int_box(box, labels.shape)
        if x1 <= x0 or y1 <= y0:
            return None
        total = np.bincount(labels.ravel(), minlength=labels.max() + 1)
        inside = np.bincount(labels[y0:y1, x0:x1].ravel(), minlength=len(total))
        box_area = (x1 - x0) * (y1 - y0)
        iou = inside / np.maximum(total + box_area - inside, 1)
        mostly_inside = np.flatnonzero(inside >= self.config.min_inside * np.maximum(total, 1))
        options = [labels == int(np.argmax(iou))]
        if len(mostly_inside):
            options.append(np.isin(labels, mostly_inside))
        fits = [_box_iou(_mask_box(m), (x0, y0, x1, y1)) for m in options]
        return options[int(np.argmax(fits))]

    def _candidates(self, work_masks: list[np.ndarray]) -> Candidates:
        levels = self._require_levels()
        scores = [edge_support(m, levels.edges) for m in work_masks]
        full = [upscale_mask(m, levels.original_shape) for m in work_masks]
        masks = np.stack(full) if full else np.zeros((0, *levels.original_shape), bool)
        return Candidates.from_masks(masks, np.asarray(scores), np.ones(len(full)))

    def _require_levels(self) -> RegionLevels:
        if self._levels is None:
            raise RuntimeError("call set_image(image) before prompting the segmenter")
        return self._levels


@SEGMENTERS.register(NAME)
def create_felzenszwalb_rag(checkpoint: str | None = None, device: str = "cpu") -> FelzenszwalbRagSegmenter:
    if checkpoint is not None:
        raise ValueError(
            f"{NAME} is weight-free and takes no checkpoint (got {checkpoint!r}); drop --checkpoint"
        )
    return FelzenszwalbRagSegmenter()


def _to_work(points: np.ndarray, levels: RegionLevels) -> np.ndarray:
    """(x, y) pixels of the original image -> int (N, 2) (x, y) indices of the work label map."""
    height, width = levels.labels[0].shape
    scaled = np.floor(np.asarray(points, float).reshape(-1, 2) * levels.scale).astype(int)
    return np.clip(scaled, 0, [width - 1, height - 1])


def _int_box(box: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0 = (int(np.floor(v)) for v in box[:2])
    x1, y1 = (int(np.ceil(v)) for v in box[2:])
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def _mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0
