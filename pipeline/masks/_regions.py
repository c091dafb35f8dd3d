"""Colour-region hierarchy shared by the weight-free segmenter: graph-based regions merged on a RAG.

Felzenszwalb's graph segmentation gives fine, edge-following regions; merging neighbours on a region
adjacency graph by mean Lab colour (skimage.graph.merge_hierarchical) at a low threshold gives
component-like parts (a face, a collar, a cup's rim) and at a higher threshold object-like regions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage import color, feature, graph, segmentation


@dataclass(frozen=True)
class RegionConfig:
    # Felzenszwalb + RAG cost grows with pixels; 512 px keeps one image near 2 s on one core and
    # still separates parts larger than the 32x32 px ROI floor of a 1,024 px reference.
    work_long_side: int = 512
    scale: float = 60.0  # Felzenszwalb scale: small enough that object borders are never crossed
    sigma: float = 0.8  # Felzenszwalb pre-smoothing, the value from the original paper
    min_size: int = 40  # px at work size: smaller fragments are merged into a neighbour
    # Lab distances (Delta-E 1976) below which neighbouring regions merge. ~10 is a clearly visible
    # colour step (parts of one object stay apart); ~22 joins shading variations of one surface.
    thresholds: tuple[float, ...] = (10.0, 22.0)
    canny_sigma: float = 2.0  # edges used to score region borders; 2 ignores texture-level edges


@dataclass(frozen=True)
class RegionLevels:
    """Label maps of one image at the working size.

    Attributes:
        labels: one int64 (h, w) label map per threshold of the config, finest first.
        edges: bool (h, w) Canny edges of the work image.
        scale: work size / original size (same factor on both axes).
        original_shape: (H, W) of the image given.
    """

    labels: tuple[np.ndarray, ...]
    edges: np.ndarray
    scale: float
    original_shape: tuple[int, int]


def region_levels(image: np.ndarray, config: RegionConfig) -> RegionLevels:
    """Region label maps of uint8 RGB (H, W, 3) at `config.thresholds`, from one shared RAG."""
    small, scale = downscale(image, config.work_long_side)
    fine = segmentation.felzenszwalb(small, scale=config.scale, sigma=config.sigma, min_size=config.min_size)
    edges = feature.canny(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), sigma=config.canny_sigma)
    if fine.max() == 0:  # one region (a flat image): no graph to merge, skimage's RAG would fail
        return RegionLevels(
            tuple(fine for _ in config.thresholds), edges, scale, (image.shape[0], image.shape[1])
        )
    rag = graph.rag_mean_color(color.rgb2lab(small), fine)
    levels = tuple(
        graph.merge_hierarchical(
            fine,
            rag,
            thresh=t,
            rag_copy=True,
            in_place_merge=True,
            merge_func=_merge_mean,
            weight_func=_weight,
        )
        for t in config.thresholds
    )
    return RegionLevels(levels, edges, scale, (image.shape[0], image.shape[1]))


def edge_support(mask: np.ndarray, edges: np.ndarray) -> float:
    """Share of a region's inner border (away from the frame) lying within 1 px of an image edge, 0..1.

    A region cut along real edges is a confident segment; one whose border runs through flat colour
    is an artefact of the merge threshold.
    """
    border = segmentation.find_boundaries(mask, mode="inner")
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = False
    n_border = int(border.sum())
    if n_border == 0:
        return 1.0  # the region is the whole frame: nothing to contradict it
    near_edge = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return float((border & near_edge).sum() / n_border)


def upscale_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """bool (h, w) -> bool (H, W) by nearest neighbour."""
    resized = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool)


def downscale(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    height, width = image.shape[:2]
    scale = min(1.0, long_side / max(height, width))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _merge_mean(rag: graph.RAG, src: int, dst: int) -> None:
    # Not `+=`: rag_copy is a shallow copy, in-place updates would leak into the next threshold.
    node = rag.nodes[dst]
    node["total color"] = node["total color"] + rag.nodes[src]["total color"]
    node["pixel count"] = node["pixel count"] + rag.nodes[src]["pixel count"]
    node["mean color"] = node["total color"] / node["pixel count"]


def _weight(rag: graph.RAG, src: int, dst: int, neighbour: int) -> dict[str, float]:
    diff = rag.nodes[dst]["mean color"] - rag.nodes[neighbour]["mean color"]
    return {"weight": float(np.linalg.norm(diff))}
