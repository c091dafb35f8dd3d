"""Image preparation for labelling: ROI quality crops, the importance paste, resizing and batching.

Arrays are uint8 (H, W, 3) sRGB unless stated; tensors are float32 (B, 3, H, W) in 0..1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import torch


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The mask's minimum bounding rectangle (y0, y1, x0, x1), end-exclusive.

    Raises:
        ValueError: for an empty mask (it has no rectangle to crop).
    """
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("ROI mask is empty; drop empty ROIs in the masks stage before labelling")
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def to_tensor(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 or float 0..255, (H, W, 3) or (B, H, W, 3) -> float32 (B, 3, H, W) in 0..1."""
    import torch  # here, not at the top: `pipeline.labels` imports without torch (metrics.py)

    batch = images[None] if images.ndim == 3 else images
    tensor = torch.from_numpy(np.ascontiguousarray(batch)).to(device).permute(0, 3, 1, 2)
    # Contiguous NCHW: some pyiqa metrics `.view` their maps, which fails on channels-last strides.
    return tensor.float().div(255.0).contiguous()  # not in place: float input shares its memory


def fit_long_side(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Area-resize so that the long side is at most `max_side` (unchanged when it already is)."""
    height, width = image.shape[:2]
    if max_side is None or max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def pad_to_min(image: np.ndarray, min_size: int, fill: int) -> np.ndarray:
    """Pad bottom/right with `fill` so that both sides are at least `min_size`."""
    height, width = image.shape[:2]
    bottom, right = max(0, min_size - height), max(0, min_size - width)
    if bottom == 0 and right == 0:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_CONSTANT, value=(fill, fill, fill))


def quality_crops(
    images: np.ndarray,
    mask: np.ndarray,
    box: tuple[int, int, int, int],
    fill: int,
    min_size: int,
    max_side: int | None,
) -> np.ndarray:
    """The ROI of each image for the quality score (paper §3.1.3 A).

    Cropped to the mask's minimum bounding rectangle, area-resized if the long side exceeds
    `max_side`, pixels outside the (resized, majority-vote) mask set to `fill`, padded with `fill`
    up to the metric's `min_size`.

    Args:
        images: uint8 (B, H, W, 3); mask: bool (H, W); box: `mask_box(mask)`.

    Returns:
        uint8 (B, h, w, 3): every image cut the same way, so the crops batch together.
    """
    y0, y1, x0, x1 = box
    region = mask[y0:y1, x0:x1]
    # Resize first, then fill: the same result up to the mask edge, at a fraction of the cost.
    small = fit_long_side(region.astype(np.uint8) * 255, max_side)
    inside = small >= 128 if small.shape != region.shape else region
    crops = np.stack([fit_long_side(image[y0:y1, x0:x1], max_side) for image in images])
    crops = np.where(inside[None, ..., None], crops, np.uint8(fill))
    return np.stack([pad_to_min(crop, min_size, fill) for crop in crops])


def paste(
    reference: np.ndarray, image: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]
) -> np.ndarray:
    """The reference with exactly the mask's pixels taken from `image` (paper §3.1.3 B)."""
    y0, y1, x0, x1 = box
    pasted = reference.copy()
    region = mask[y0:y1, x0:x1, None]
    pasted[y0:y1, x0:x1] = np.where(region, image[y0:y1, x0:x1], reference[y0:y1, x0:x1])
    return pasted


def block_factor(shape: tuple[int, ...], max_side: int) -> int:
    """The integer downsampling factor that brings the long side of `shape` to at most `max_side`."""
    return max(1, -(-max(shape[:2]) // max_side))


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean over factor x factor blocks: (H, W, 3) -> float32 (H // f, W // f, 3), in 0..255.

    The bottom/right remainder (fewer than `factor` rows/columns) is dropped. Block means are
    local, which lets `paste_small` update only the blocks an ROI touches.
    """
    height, width = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: height * factor, : width * factor].reshape(height, factor, width, factor, -1)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def paste_small(
    small_reference: np.ndarray,
    small_images: np.ndarray,
    reference: np.ndarray,
    images: np.ndarray,
    mask: np.ndarray,
    factor: int,
) -> np.ndarray:
    """`block_mean(paste(reference, image, mask), factor)` for every image, without pasting at full size.

    Block means are local: a block outside the mask is the reference's block, a block inside it the
    image's block; only blocks the mask boundary crosses are averaged from the full-size pixels.

    Args:
        small_reference: block_mean(reference, factor), float32 (h, w, 3).
        small_images: block_mean of each image, float32 (B, h, w, 3).
        reference: uint8 (H, W, 3); images: uint8 (B, H, W, 3); mask: bool (H, W).

    Returns:
        float32 (B, h, w, 3) in 0..255, equal to pasting at full size then `block_mean`.
    """
    height, width = small_reference.shape[:2]
    mask_blocks = _blocks(mask[..., None], height, width, factor)[..., 0]  # (h, w, f, f)
    coverage = mask_blocks.mean(axis=(2, 3))
    out = np.where((coverage == 1.0)[None, ..., None], small_images, small_reference[None])
    rows, cols = np.nonzero((coverage > 0) & (coverage < 1))
    if rows.size:
        inside = mask_blocks[rows, cols][None, ..., None]  # (1, P, f, f, 1)
        from_images = _blocks(images, height, width, factor)[:, rows, cols]  # (B, P, f, f, 3)
        from_reference = _blocks(reference, height, width, factor)[rows, cols][None]
        out[:, rows, cols] = np.where(inside, from_images, from_reference).mean(axis=(2, 3), dtype=np.float32)
    return out


def _blocks(array: np.ndarray, height: int, width: int, factor: int) -> np.ndarray:
    """View (..., H, W, C) as (..., h, w, f, f, C) blocks (the remainder dropped), without copying."""
    lead = array.shape[:-3]
    cut = array[..., : height * factor, : width * factor, :]
    split = cut.reshape(*lead, height, factor, width, factor, array.shape[-1])
    n = len(lead)
    return split.transpose(*range(n), n, n + 2, n + 1, n + 3, n + 4)


def tile_starts(length: int, tile: int) -> tuple[int, list[int]]:
    """Tiles of side min(tile, length) covering 0..length: (side, starts); the last tile ends at the
    border (overlapping its neighbour) so that every pixel is in a tile and every tile is real pixels."""
    side = min(tile, length)
    starts = list(range(0, length - side + 1, side))
    if starts[-1] + side < length:
        starts.append(length - side)
    return side, starts


def batches(count: int, pixels_per_item: int, max_batch_pixels: int) -> Iterator[slice]:
    """Slices of range(count) whose items hold at most `max_batch_pixels` pixels together (at least 1)."""
    step = max(1, max_batch_pixels // max(1, pixels_per_item))
    for start in range(0, count, step):
        yield slice(start, min(count, start + step))
