"""The masks stage: reference image -> object- and component-level ROIs (COCO RLE).

    >>> from pipeline.masks import compute_rois, create_detector, create_segmenter, DEFAULT_SEGMENTER
    >>> segmenter = create_segmenter(DEFAULT_SEGMENTER)            # weight-free, no download
    >>> segmenter = create_segmenter("sam_vit_b", checkpoint="weights/sam_vit_b_01ec64.pth")
    >>> rois = compute_rois(image, segmenter, create_detector(DEFAULT_DETECTOR))

Segmenters and detectors sit behind registries; each module registers its names on import.
Importing this package and listing the names does not import torch, torchvision or
segment_anything (`seagull build` checks `--segmenter/--detector` with it): the modules import them
where a model is built or run.
"""

from __future__ import annotations

from typing import Any

from pipeline import defaults

# Imported for their registrations (a module's file name is the family it registers).
from pipeline.masks import fasterrcnn, felzenszwalb_rag, mobile_sam, region_proposals, sam, seem  # noqa: F401
from pipeline.masks._registry import DETECTORS, SEGMENTERS
from pipeline.masks.base import Candidates, Detections, Detector, Provenance, Segmenter
from pipeline.masks.overlay import draw_overlay
from pipeline.masks.rois import MaskConfig, compute_rois
from pipeline.masks.rois_json import RoiFile, provenance, read_rois_json, write_rois_json

# The weight-free defaults: what `make shards` uses when no weight file is given.
DEFAULT_SEGMENTER = defaults.SEGMENTER
DEFAULT_DETECTOR = defaults.DETECTOR


def create_segmenter(
    name: str, checkpoint: str | None = None, device: str = "cpu", **kwargs: Any
) -> Segmenter:
    """A segmenter by registry name, loading `checkpoint` (a local path) where it needs weights."""
    return SEGMENTERS.create(name, checkpoint=checkpoint, device=device, **kwargs)


def list_segmenters() -> list[str]:
    """Names `create_segmenter` accepts here (optional packages that are missing are left out)."""
    return SEGMENTERS.names()


def create_detector(name: str, weights: str | None = None, device: str = "cpu", **kwargs: Any) -> Detector:
    """A detector by registry name, loading `weights` (a local path) where it needs them."""
    return DETECTORS.create(name, weights=weights, device=device, **kwargs)


def list_detectors() -> list[str]:
    """Names `create_detector` accepts here."""
    return DETECTORS.names()


__all__ = [
    "DEFAULT_DETECTOR",
    "DEFAULT_SEGMENTER",
    "Candidates",
    "Detections",
    "Detector",
    "MaskConfig",
    "Provenance",
    "RoiFile",
    "Segmenter",
    "compute_rois",
    "create_detector",
    "create_segmenter",
    "draw_overlay",
    "list_detectors",
    "list_segmenters",
    "provenance",
    "read_rois_json",
    "write_rois_json",
]
