"""Measured severity of each distortion level: how far a variant is from its reference.

A level number is a rank of severity (SPEC §5): level k+1 degrades the image more than level k. This
module measures that, by two independent full-reference measures:

- `ssim`: 1 - SSIM (scikit-image, RGB, 8-bit range), a structural measure without learned weights;
- the build's label metric (`pipeline.labels.metrics`, `DEFAULT_METRIC` unless told otherwise):
  1 - its normalised quality, the quantity the labels are made of, *without* the clip to 0..1 (the
  labels clip a score past the calibrated `worst` to quality 0; the order of levels beyond it is still
  measurable and still matters).

`severity_curves` gives, for every type, a (images, 20) array per measure; the presets' two-way types
(exposure, contrast) list their 20 parameters in the order `severity_chain` picks from measured
candidates (bench/bench_levels.py --solve-two-way), and `isp_presets/level_severity.yaml` keeps the
measurement that justifies the order (docs/render.md, "Level ordering").
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
    """1 - unclipped normalised quality (float (N,)) of uint8 images against a uint8 reference, by a label metric."""
    import torch

    def tensor(batch: np.ndarray) -> torch.Tensor:
        return (
            torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div(255.0).contiguous()
        )

    prepared = metric.prepare(tensor(reference[None]).to(metric.device))
    raw = metric.raw(tensor(np.stack(images)).to(metric.device), prepared).double().cpu().numpy()
    best, worst = metric.settings.best, metric.settings.worst
    return (raw - best) / (worst - best)  # 0 = identical, 1 = the calibrated worst, may exceed 1


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


def spearman_per_image(degradation: np.ndarray) -> np.ndarray:
    """Spearman rank correlation (float (images,)) of each image's degradation with the level 1..20."""
    from scipy.stats import spearmanr

    levels = np.arange(1, degradation.shape[1] + 1)
    return np.array([spearmanr(levels, row).statistic for row in degradation])


def severity_chain(
    means: np.ndarray, directions: Sequence[str] | None = None, n_levels: int = 20
) -> list[int]:
    """Pick and order `n_levels` candidates so that every measure's mean degradation rises at each level.

    The rule: level 1 is the mildest candidate; each next level is the mildest candidate whose
    degradation exceeds the previous level's by a factor of at least (1 + g) in *every* measure
    (mildest = the smallest such step). With `directions` (two-way types), a candidate of the other
    direction than the previous level's is taken whenever one qualifies, so both directions stay in
    the range while the order follows the measurements. g is the largest growth for which the chain
    still reaches `n_levels` levels (bisection).

    Args:
        means: float (candidates, measures), mean degradation over the sample, > 0, larger = worse.
        directions: the direction of each candidate (e.g. "under", "over"), or None.

    Returns:
        `n_levels` candidate indices, level 1 first.
    """
    scaled = means / means.max(axis=0)
    start = int(np.argmin(scaled.sum(axis=1)))
    labels = np.asarray(directions if directions is not None else [""] * len(means))

    def chain(growth: float) -> list[int]:
        picked = [start]
        while len(picked) < n_levels:
            ratios = means / means[picked[-1]]
            allowed = np.flatnonzero((ratios >= 1.0 + growth).all(axis=1))
            switched = allowed[labels[allowed] != labels[picked[-1]]]
            pool = switched if switched.size else allowed
            if pool.size == 0:
                break
            picked.append(int(pool[np.argmin(ratios[pool].max(axis=1))]))
        return picked

    low, high = 0.0, 4.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if len(chain(middle)) >= n_levels else (low, middle)
    picked = chain(low)
    if len(picked) < n_levels:
        raise ValueError(f"only {len(picked)} candidates rise in every measure; give more candidates")
    return picked
