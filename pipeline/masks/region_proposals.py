"""`region_proposals`: the weight-free default detector (object proposals without a network).

In the spirit of selective search (whose OpenCV implementation lives only in opencv-contrib):
Felzenszwalb graph segmentation at a few coarse scales proposes whole regions; each region's box is
a proposal scored by its edge support (the share of its border lying on an image edge), boxes of
implausible size are dropped and overlapping boxes reduced by non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage import feature, measure, segmentation

from pipeline.masks._regions import downscale, edge_support
from pipeline.masks._registry import DETECTORS
from pipeline.masks.base import Detections, Provenance

NAME = "region_proposals"


@dataclass(frozen=True)
class RegionProposalsConfig:
    work_long_side: int = 384  # proposals need only coarse shapes; 384 px keeps this under ~0.5 s
    scales: tuple[float, ...] = (300.0, 1000.0)  # Felzenszwalb scales: larger = bigger regions
    sigma: float = 0.8
    min_area: float = 0.005  # of the image: smaller regions are components, not objects
    max_area: float = 0.6  # of the image: larger regions are background (sky, floor, wall)
    nms_iou: float = 0.6  # proposals overlapping more than this describe the same object
    max_boxes: int = 20  # more boxes than the ~10 object ROIs kept per image, so dedup can choose
    canny_sigma: float = 2.0


class RegionProposals:
    """Weight-free object proposals (see module docstring)."""

    def __init__(self, config: RegionProposalsConfig | None = None) -> None:
        self.config = config or RegionProposalsConfig()
        self.provenance = Provenance(NAME)

    def detect(self, image: np.ndarray) -> Detections:
        """XYXY boxes float32 (N, 4) in pixels of uint8 RGB `image` (H, W, 3), best first."""
        cfg = self.config
        small, scale = downscale(image, cfg.work_long_side)
        edges = feature.canny(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), sigma=cfg.canny_sigma)
        n_pixels = small.shape[0] * small.shape[1]
        boxes, scores = [], []
        for s in cfg.scales:
            labels = segmentation.felzenszwalb(
                small, scale=s, sigma=cfg.sigma, min_size=int(cfg.min_area * n_pixels)
            )
            for region in measure.regionprops(labels + 1):
                if cfg.min_area * n_pixels <= region.area <= cfg.max_area * n_pixels:
                    y0, x0, y1, x1 = region.bbox
                    boxes.append((x0, y0, x1, y1))
                    scores.append(edge_support(labels + 1 == region.label, edges))
        return self._select(
            np.asarray(boxes, np.float32).reshape(-1, 4) / scale, np.asarray(scores, np.float32)
        )

    def _select(self, boxes: np.ndarray, scores: np.ndarray) -> Detections:
        # torch/torchvision here, not at the top: `import pipeline.masks` must not import them
        # (`seagull build` lists the registries' names before anything runs).
        import torch
        from torchvision.ops import nms

        keep = nms(torch.from_numpy(boxes), torch.from_numpy(scores), self.config.nms_iou).numpy()
        keep = keep[: self.config.max_boxes]
        return Detections(boxes[keep], scores[keep])


@DETECTORS.register(NAME)
def create_region_proposals(weights: str | None = None, device: str = "cpu") -> RegionProposals:
    if weights is not None:
        raise ValueError(
            f"{NAME} is weight-free and takes no weights (got {weights!r}); drop --detector-weights"
        )
    return RegionProposals()
