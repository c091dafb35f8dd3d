"""Metric scores of one reference: ROI quality and whole-image (pasted) quality for every variant.

Work is arranged so that reference-side work happens once and every metric call is a batch:
- quality: per ROI, the reference crop is prepared once (TOPIQ: its backbone features) and the
  crops of all variants (the same size: same mask, same box) are scored in batches;
- importance: the reference is block-averaged once to the metric's working size
  (`whole_max_side`) and prepared once, as is every variant; the pasted images are built at that
  size directly from the two (`crops.paste_small`, exact: block means are local, so only blocks
  the mask boundary crosses need full-size pixels), and scored per ROI in batches of variants;
  with `importance_tile` set (the weight-free metrics) the whole-image score is the mean of the
  tile scores and only the tiles the ROI touches are scored (the others are identical).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.labels.crops import (
    batches,
    block_factor,
    block_mean,
    mask_box,
    paste_small,
    quality_crops,
    tile_starts,
    to_tensor,
)
from pipeline.labels.metrics import LabelMetric
from pipeline.records import ROI, Variant


@dataclass(frozen=True)
class ScoreConfig:
    """How images are cut and batched (not what the labels mean: that is in metrics.yaml)."""

    fill: int = 0  # outside-mask pixels of quality crops: black, as the model's local view zeroes them
    # Pixels per metric call: bounds memory; on CPU, bigger batches were slower per image (cache misses:
    # bench_labels, 2^21 vs 2^18 = 10.2 s vs 9.3 s for TOPIQ, 1.49 vs 1.25 s for gmsd_rgb).
    max_batch_pixels: int = 1 << 18


@dataclass(frozen=True)
class Scores:
    """Normalised scores, 0..1 higher = closer to the reference, float32 (V variants, R ROIs).

    Attributes:
        quality: quality of each ROI crop of each variant.
        pasted: quality of the reference with the ROI pasted from the variant (whole image).
        identical: quality of the reference against itself at the working size (1 for weight-free
            metrics; TOPIQ's own ceiling otherwise): the importance drop is measured from it.
        quality_raw: the metric's own (unnormalised) scores behind `quality`, float32 (V, R).
    """

    quality: np.ndarray
    pasted: np.ndarray
    identical: float
    quality_raw: np.ndarray | None = None


def score_reference(
    reference: np.ndarray,
    rois: Sequence[ROI],
    variants: Sequence[Variant],
    metric: LabelMetric,
    config: ScoreConfig = ScoreConfig(),
) -> Scores:
    """Score every (variant, ROI) of one reference.

    Args:
        reference: uint8 (H, W, 3).
        rois: ROIs of the reference (masks of shape (H, W)).
        variants: distorted images, uint8 (H, W, 3) each.
        metric: a label metric.
        config: cutting and batching.
    """
    masks = [_roi_mask(roi, reference.shape[:2]) for roi in rois]
    if not masks or not variants:
        empty = np.zeros((len(variants), len(masks)), np.float32)
        return Scores(empty, empty.copy(), 1.0, empty.copy())
    images = _stack_variants(reference, variants)
    boxes = [mask_box(mask) for mask in masks]
    quality_raw = np.stack(
        [roi_quality(reference, images, m, b, metric, config) for m, b in zip(masks, boxes, strict=True)],
        axis=1,
    )
    pasted, identical = pasted_quality(reference, images, masks, metric, config)
    return Scores(metric.normalise(quality_raw), pasted, identical, quality_raw.astype(np.float32))


def roi_quality(
    reference: np.ndarray,
    images: np.ndarray,
    mask: np.ndarray,
    box: tuple[int, int, int, int],
    metric: LabelMetric,
    config: ScoreConfig,
) -> np.ndarray:
    """Raw metric scores (V,) of one ROI in each of the images uint8 (V, H, W, 3)."""
    settings = metric.settings
    cut = functools.partial(
        quality_crops,
        mask=mask,
        box=box,
        fill=config.fill,
        min_size=settings.min_size,
        max_side=settings.crop_max_side,
    )
    ref_crop = cut(reference[None])
    prepared = metric.prepare(to_tensor(ref_crop, metric.device))
    crops = cut(images)
    return _raw_batches(metric, crops, prepared, config)


def pasted_quality(
    reference: np.ndarray,
    images: np.ndarray,
    masks: list[np.ndarray],
    metric: LabelMetric,
    config: ScoreConfig,
) -> tuple[np.ndarray, float]:
    """Whole-image quality (V, R) of the reference with each ROI pasted from each image, and the
    quality of the reference against itself, both at the metric's working size.

    With `importance_tile` set, the whole-image quality is the mean of the metric's quality over
    tiles of that side (docs/labels.md: pasting an unchanged ROI then moves it by ~0, and a tile the
    ROI does not touch is identical in both images, so only touched tiles are scored); without it the
    metric scores the whole image (TOPIQ-FR, as the paper does).
    """
    factor = block_factor(reference.shape, metric.settings.whole_max_side)
    if factor == 1:  # the working size is the render's: no float copy of every variant
        small_reference, small_images = reference, images
    else:
        small_reference = block_mean(reference, factor)
        small_images = np.stack([block_mean(image, factor) for image in images])
    if metric.settings.importance_tile is not None:
        return _tiled_pasted_quality(
            small_reference, small_images, reference, images, masks, factor, metric, config
        )
    ref_tensor = to_tensor(small_reference, metric.device)
    prepared = metric.prepare(ref_tensor)
    identical = float(metric.normalise(metric.raw(ref_tensor, prepared))[0])
    columns = [
        _raw_batches(
            metric,
            paste_small(small_reference, small_images, reference, images, mask, factor),
            prepared,
            config,
        )
        for mask in masks
    ]
    return metric.normalise(np.stack(columns, axis=1)), identical


def _tiled_pasted_quality(
    small_reference: np.ndarray,
    small_images: np.ndarray,
    reference: np.ndarray,
    images: np.ndarray,
    masks: list[np.ndarray],
    factor: int,
    metric: LabelMetric,
    config: ScoreConfig,
) -> tuple[np.ndarray, float]:
    """`pasted_quality` as the mean of tile qualities; only the tiles an ROI touches are scored."""
    height, width = small_reference.shape[:2]
    tile_h, rows = tile_starts(height, metric.settings.importance_tile)
    tile_w, cols = tile_starts(width, metric.settings.importance_tile)
    origins = [(y, x) for y in rows for x in cols]
    ref_tiles = np.stack([small_reference[y : y + tile_h, x : x + tile_w] for y, x in origins])
    own = metric.normalise(_pair_batches(metric, ref_tiles, ref_tiles, config))  # (T,) ref vs itself
    identical = float(own.mean())
    columns = []
    for mask in masks:
        small_mask = block_mean(mask[..., None].astype(np.uint8), factor)[..., 0] > 0
        touched = [i for i, (y, x) in enumerate(origins) if small_mask[y : y + tile_h, x : x + tile_w].any()]
        # Paste only inside the touched tiles' box (block-aligned at full size): the rest is unused.
        y0, x0 = min(origins[i][0] for i in touched), min(origins[i][1] for i in touched)
        y1, x1 = max(origins[i][0] for i in touched) + tile_h, max(origins[i][1] for i in touched) + tile_w
        full = (slice(y0 * factor, y1 * factor), slice(x0 * factor, x1 * factor))
        pasted = paste_small(
            small_reference[y0:y1, x0:x1],
            small_images[:, y0:y1, x0:x1],
            reference[full],
            images[(slice(None), *full)],
            mask[full],
            factor,
        )
        dist = np.stack(
            [
                pasted[:, y - y0 : y - y0 + tile_h, x - x0 : x - x0 + tile_w]
                for y, x in (origins[i] for i in touched)
            ],
            1,
        )
        count = len(images) * len(touched)
        quality = metric.normalise(
            _pair_batches(metric, dist.reshape(count, tile_h, tile_w, 3), ref_tiles[touched], config)
        )
        loss = (own[touched][None] - quality.reshape(len(images), len(touched))).sum(axis=1)
        columns.append(identical - loss / len(origins))
    return np.stack(columns, axis=1).astype(np.float32), identical


def _pair_batches(metric: LabelMetric, dist: np.ndarray, ref: np.ndarray, config: ScoreConfig) -> np.ndarray:
    """Raw scores (B,) of images (B, h, w, 3) against references (K, h, w, 3), dist[i] against
    ref[i % K], in batches of whole multiples of K."""
    pixels = ref.shape[0] * ref.shape[1] * ref.shape[2]
    ref_tensor = to_tensor(ref, metric.device)
    raw = [
        metric.raw_pairs(
            to_tensor(dist[part.start * len(ref) : part.stop * len(ref)], metric.device), ref_tensor
        )
        .cpu()
        .numpy()
        for part in batches(len(dist) // len(ref), pixels, config.max_batch_pixels)
    ]
    return np.concatenate(raw)


def _raw_batches(
    metric: LabelMetric, images: np.ndarray, prepared: object, config: ScoreConfig
) -> np.ndarray:
    """Raw scores (B,) of images (B, h, w, 3) against one prepared reference, in batches."""
    pixels = images.shape[1] * images.shape[2]
    raw = [
        metric.raw(to_tensor(images[part], metric.device), prepared).cpu().numpy()
        for part in batches(len(images), pixels, config.max_batch_pixels)
    ]
    return np.concatenate(raw)


def _stack_variants(reference: np.ndarray, variants: Sequence[Variant]) -> np.ndarray:
    for variant in variants:
        if variant.image.shape != reference.shape or variant.image.dtype != np.uint8:
            raise ValueError(
                f"variant {variant.dist_type}/{variant.level} is {variant.image.dtype} {variant.image.shape}, "
                f"reference uint8 {reference.shape}; render both at the same working resolution"
            )
    return np.stack([variant.image for variant in variants])


def _roi_mask(roi: ROI, shape: tuple[int, int]) -> np.ndarray:
    mask = roi.mask()
    if mask.shape != shape:
        raise ValueError(
            f"ROI {roi.roi_id} mask has shape {mask.shape}, reference {shape}; masks must come from this reference"
        )
    return mask
