"""Measured severity of each distortion level: how far a variant is from its reference.

A level number is a rank of severity (SPEC §5): level k+1 degrades the image more than level k. This
module measures that, by two independent full-reference measures:

- `ssim`: 1 - SSIM (scikit-image, RGB, 8-bit range), a structural measure without learned weights;
- the build's label metric (`pipeline.labels.metrics`, `DEFAULT_METRIC` unless told otherwise):
  1 - its normalised quality, the quantity the labels are made of.

`severity_curves` gives, for every type, a (images, 20) array per measure; the presets' two-way types
(exposure, contrast) list their 20 parameters in the order of the label metric's mean over the embedded
sample (`order_by_severity`), and `isp_presets/level_severity.yaml` keeps the measurement that
justifies the order (docs/render.md, "Level ordering").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from skimage.metrics import structural_similarity

from pipeline.decode import DecodedRaw
from pipeline.presets import ISPPresets
from pipeline.render import prepare_reference, render_variants
from pipeline.taxonomy import DISTORTION_TYPES

SSIM = "ssim"


def ssim_degradation(reference: np.ndarray, image: np.ndarray) -> float:
    """1 - SSIM of two uint8 (H, W, 3) sRGB images (0 = identical)."""
    return 1.0 - float(structural_similarity(reference, image, channel_axis=2, data_range=255))


def metric_degradation(metric: Any, reference: np.ndarray, images: Sequence[np.ndarray]) -> np.ndarray:
    """1 - normalised quality (float (N,)) of uint8 images against one uint8 reference, by a label metric."""
    import torch

    def tensor(batch: np.ndarray) -> torch.Tensor:
        return (
            torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div(255.0).contiguous()
        )

    prepared = metric.prepare(tensor(reference[None]).to(metric.device))
    raw = metric.raw(tensor(np.stack(images)).to(metric.device), prepared)
    return 1.0 - metric.normalise(raw).astype(np.float64)


def severity_curves(
    decoded: Iterable[DecodedRaw],
    presets: ISPPresets,
    metric: Any,
    types: Sequence[str] = DISTORTION_TYPES,
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Degradation of every level of `types` on every image, by SSIM and by `metric`.

    Returns:
        {type: {"ssim": float (images, 20), metric.name: float (images, 20)}}, 0 = identical to the
        reference, larger = worse.
    """
    curves: dict[str, dict[str, list]] = {t: {SSIM: [], metric.name: []} for t in types}
    for item in decoded:
        reference = prepare_reference(item, presets)
        by_type: dict[str, list[np.ndarray]] = {t: [] for t in types}
        for variant in render_variants(item, presets, types=types, seed=seed, reference=reference):
            by_type[variant.dist_type].append(variant.image)
        for name, images in by_type.items():
            curves[name][SSIM].append([ssim_degradation(reference.image, image) for image in images])
            curves[name][metric.name].append(metric_degradation(metric, reference.image, images))
    return {t: {m: np.asarray(rows, dtype=np.float64) for m, rows in by.items()} for t, by in curves.items()}


def order_by_severity(degradation: np.ndarray) -> np.ndarray:
    """Indices that sort candidate parameters by mean degradation over the images, mildest first.

    Args:
        degradation: float (images, candidates).
    """
    return np.argsort(degradation.mean(axis=0), kind="stable")


def spearman_per_image(degradation: np.ndarray) -> np.ndarray:
    """Spearman rank correlation (float (images,)) of each image's degradation with the level 1..20."""
    from scipy.stats import spearmanr

    levels = np.arange(1, degradation.shape[1] + 1)
    return np.array([spearmanr(levels, row).statistic for row in degradation])
