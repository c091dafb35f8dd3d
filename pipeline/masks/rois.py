"""`compute_rois`: one reference image -> its object- and component-level ROIs.

Object level: detector boxes -> segmenter box prompts (one mask per box). Component level: seeded
random points -> segmenter point prompts. Then the generic gates of `filtering`: the area floor
(scaled from the original image), mask-IoU de-duplication (objects win over components) and the cap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils

from pipeline.masks.base import Candidates, Detector, Segmenter, coded_rles
from pipeline.masks.filtering import PAPER_MIN_AREA, by_score, dedup, drop_small, min_area_px
from pipeline.masks.sampler import sample_points
from pipeline.records import ROI


@dataclass(frozen=True)
class MaskConfig:
    # Random point prompts per image. Measured on four 1,024 px photographs with the weight-free
    # default: 64 points left 12-24 components, 128 left 16-24 (the cap), at the same CPU time.
    n_points: int = 128
    seed: int = 0  # seed of the point sampler; the same seed gives the same ROIs
    min_area: int = PAPER_MIN_AREA  # pixels of the ORIGINAL image (paper: 32 x 32), scaled to work size
    max_iou: float = 0.7  # masks overlapping more are one ROI (SAM's automatic generator uses 0.7 too)
    max_rois: int = 34  # the paper's average number of ROIs per image
    max_objects: int = 10  # paper: 10 M object vs 23 M component masks, i.e. ~10 of the 34


def compute_rois(
    image: np.ndarray,
    segmenter: Segmenter,
    detector: Detector | None = None,
    config: MaskConfig | None = None,
    *,
    original_shape: tuple[int, int] | None = None,
) -> list[ROI]:
    """The ROIs of one reference image.

    Args:
        image: uint8 RGB (H, W, 3); a grayscale (H, W) or (H, W, 1) image is replicated to 3 channels.
        segmenter: from `create_segmenter`; its image embedding is computed once here.
        detector: from `create_detector`, or None for component-level ROIs only.
        config: sampling, gates and cap; `MaskConfig()` when None.
        original_shape: (H, W) of the original before resizing to the working resolution, so that the
            32 x 32 px floor applies to the original (see `filtering.min_area_px`); None = `image` is
            the original.

    Returns:
        Objects first (best score first), then components; roi_id 0..R-1, R <= config.max_rois.
        Empty when the image is too small to hold one mask above the area floor (e.g. 1 x 1).
    """
    config = config or MaskConfig()
    image = as_rgb_uint8(image)
    height, width = image.shape[:2]
    floor = min_area_px((height, width), original_shape, config.min_area)
    if height * width < max(floor, 1):
        return []
    segmenter.set_image(image)
    objects = Candidates.empty()
    if detector is not None:
        detections = detector.detect(image)
        objects = segmenter.segment_boxes(detections.boxes) if len(detections) else objects
    components = segmenter.segment_points(sample_points(height, width, config.n_points, config.seed))
    return select_rois(objects, components, floor, config, segmenter.provenance.name)


def select_rois(
    objects: Candidates, components: Candidates, floor: float, config: MaskConfig, segmenter: str
) -> list[ROI]:
    """Apply the area floor, de-duplication and the caps; number the survivors."""
    objects, components = (_ranked(drop_small(c, floor)) for c in (objects, components))
    objects = objects.take(dedup(objects, config.max_iou, limit=min(config.max_objects, config.max_rois)))
    pool = Candidates.concat([objects, components])
    # Objects come first and are already mutually distinct, so all survive and suppress components.
    kept = dedup(pool, config.max_iou, limit=config.max_rois)
    comp_index = kept[kept >= len(objects)]
    chosen = [(i, "object") for i in range(len(objects))]
    chosen += [(int(i), "component") for i in comp_index]
    return [_roi(roi_id, kind, pool, i, segmenter) for roi_id, (i, kind) in enumerate(chosen)]


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Check a reference image and bring grayscale to 3 channels; errors say how to fix the input."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(
            f"image must be uint8 RGB (H, W, 3), got dtype {image.dtype}; convert with "
            "np.clip(x * 255, 0, 255).astype(np.uint8) for floats in 0..1"
        )
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"image must be RGB (H, W, 3) or grayscale (H, W), got shape {image.shape}; "
            "drop an alpha channel with image[..., :3]"
        )
    return np.ascontiguousarray(image)


def _ranked(candidates: Candidates) -> Candidates:
    return candidates.take(by_score(candidates))


def _roi(roi_id: int, kind: str, pool: Candidates, index: int, segmenter: str) -> ROI:
    rle = pool.rles[index]
    coded = coded_rles([rle])[0]
    x, y, w, h = (int(round(v)) for v in mask_utils.toBbox(coded))
    area = int(mask_utils.area(coded))
    return ROI(roi_id, kind, rle, (x, y, w, h), area, float(pool.scores[index]), segmenter)
