"""Colour-aware label metrics: CIELAB colour difference (ΔE*ab) and the lower of two metrics' qualities.

Why (issue 13, docs/labels.md): a gradient metric such as GMSD barely sees a change of colourfulness
(greyscale keeps every edge), so alone it leaves many greyscale ROIs "without distortion". ΔE*ab is the
field's established colour difference (CIE 1976 L*a*b*, scikit-image's conversion, D65): 2.3 is about
one just-noticeable difference (Sharma, Digital Color Imaging Handbook, 2003), and pictorial images
need a mean difference of about the same size to be told apart (Stokes, Fairchild & Berns, 1992).
So its normalisation is not fitted: `worst` = 2.3 / (1 - 0.92) = 28.75, which puts the "without
distortion" threshold q = 0.92 at a mean ΔE*ab of one JND.

- `delta_e`: the mean ΔE*ab over the crop after a small Gaussian blur (sigma `BLUR_SIGMA` px) of both
  images — a simplified S-CIELAB (Zhang & Wandell, 1996): the eye does not resolve colour at the pixel
  scale, so pixel noise (which the gradient metric judges) does not count as a colour change. Pixels
  black in both images (the quality crops' fill, which is not part of the ROI) are left out of the mean.
- `min_of`: the lower of its parts' normalised qualities (metrics.yaml `parts`): an ROI is as good as
  the worse of what each part sees. Its raw score is that quality before the clip to 0..1 (best 1,
  worst 0), so it has no constant of its own; each part keeps its own.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from skimage.color import deltaE_cie76, rgb2lab

from pipeline.labels.metrics import LabelMetric, MetricSettings, create_metric, register_builder

BLUR_SIGMA = 1.5  # px: removes pixel-level noise, keeps the colour of any region a few pixels wide


class DeltaEMetric(LabelMetric):
    """Mean ΔE*ab (CIE76) of blurred images; lower is closer (0 = identical)."""

    def __init__(self, settings: MetricSettings, device: str):
        self.settings = settings
        self.model = None
        self.weights = None
        self.label_source = True
        self.device = torch.device(device)

    def prepare(self, ref: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The reference (K, 3, H, W) as sRGB (K, H, W, 3) and its blurred CIELAB, computed once."""
        rgb = _numpy(ref)
        return rgb, _lab(rgb)

    def raw(self, dist: torch.Tensor, prepared: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
        """Mean ΔE*ab (B,) of dist (B, 3, H, W) against the prepared reference(s): dist[i] against
        reference i % K (one reference: against it every time)."""
        ref_rgb, ref_lab = prepared
        rgb = _numpy(dist)
        repeats = rgb.shape[0] // ref_rgb.shape[0]
        ref_rgb, ref_lab = (np.tile(x, (repeats, 1, 1, 1)) for x in (ref_rgb, ref_lab))
        counted = ~((rgb == 0).all(axis=-1) & (ref_rgb == 0).all(axis=-1))  # (B, H, W): not fill in both
        difference = deltaE_cie76(ref_lab, _lab(rgb), channel_axis=-1)
        scores = (difference * counted).sum(axis=(1, 2)) / np.maximum(counted.sum(axis=(1, 2)), 1)
        return torch.from_numpy(scores.astype(np.float32)).to(dist.device)

    def raw_pairs(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self.raw(dist, self.prepare(ref))

    def raw_naive(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.raw(d[None], self.prepare(ref)) for d in dist])

    def provenance(self) -> dict[str, Any]:
        import skimage

        return {
            "metric": self.name,
            "scikit_image_version": skimage.__version__,
            "weights": None,
            "label_source": True,
        }


def _numpy(images: torch.Tensor) -> np.ndarray:
    return images.detach().cpu().permute(0, 2, 3, 1).numpy().astype(np.float32)


def _lab(images: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) sRGB in 0..1 -> CIELAB (float32) after the Gaussian blur of each image."""
    blurred = np.stack([cv2.GaussianBlur(image, (0, 0), BLUR_SIGMA) for image in images])
    return rgb2lab(np.clip(blurred, 0.0, 1.0), channel_axis=-1).astype(np.float32)


class MinOfMetric(LabelMetric):
    """The lower of the parts' normalised qualities (each with its own constants)."""

    def __init__(self, settings: MetricSettings, parts: list[LabelMetric]):
        self.settings = settings
        self.parts = parts
        self.model = None
        self.weights = None
        self.label_source = all(part.label_source for part in parts)
        self.device = parts[0].device

    def prepare(self, ref: torch.Tensor) -> Any:
        return [part.prepare(ref) for part in self.parts]

    def raw(self, dist: torch.Tensor, prepared: list[Any]) -> torch.Tensor:
        return self._lowest([part.raw(dist, p) for part, p in zip(self.parts, prepared, strict=True)])

    def raw_pairs(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self._lowest([part.raw_pairs(dist, ref) for part in self.parts])

    def raw_naive(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self._lowest([part.raw_naive(dist, ref) for part in self.parts])

    def _lowest(self, raws: list[torch.Tensor]) -> torch.Tensor:
        """The lowest part quality, not clipped (below 0 past a part's `worst`: levels stay ordered there)."""
        qualities = [
            (raw.float() - part.settings.worst) / (part.settings.best - part.settings.worst)
            for part, raw in zip(self.parts, raws, strict=True)
        ]
        return torch.stack(qualities).min(dim=0).values

    def provenance(self) -> dict[str, Any]:
        return {
            "metric": self.name,
            "parts": [part.provenance() for part in self.parts],
            "weights": None,
            "label_source": self.label_source,
        }


@register_builder("delta_e")
def _build_delta_e(settings: MetricSettings, weights: str | None, device: str) -> LabelMetric:
    if weights is not None:
        raise ValueError(f"metric {settings.name!r} is weight-free; do not pass weights ({weights!r})")
    return DeltaEMetric(settings, device)


@register_builder("min_of")
def _build_min_of(settings: MetricSettings, weights: str | None, device: str) -> LabelMetric:
    if weights is not None:
        raise ValueError(f"metric {settings.name!r} is weight-free; do not pass weights ({weights!r})")
    if not settings.parts:
        raise ValueError(f"metric {settings.name!r} (builder min_of) names no `parts` in metrics.yaml")
    return MinOfMetric(settings, [create_metric(part, device=device) for part in settings.parts])
