"""The MFE's local view (paper §4.2): the ROI itself, cropped, through two CNNs and self-attention.

`crop_roi` runs in the data pipeline on the full-resolution image (that is the point of a local
view: details the 512-px overview has lost); `LocalView` turns the crop into the `<local>` token.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def crop_roi(image: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """Crop the ROI by its bounding box, zero the pixels outside the mask, resize to size x size.

    Args:
        image: float (3, H, W) in 0..1.
        mask: bool (H, W), the ROI.
        size: side of the square output.

    Returns:
        float (3, size, size) in 0..1 (all zeros for an empty mask).
    """
    if not mask.any():
        return image.new_zeros(3, size, size)
    rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    crop = image[:, top:bottom, left:right] * mask[top:bottom, left:right].to(image.dtype)
    resized = F.interpolate(
        crop[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized[0].clamp(0, 1)


class LocalView(nn.Module):
    """Crop (B, 3, L, L) -> `<local>` token (B, out_dim): CNN, CNN, self-attention, mean, linear.

    Args:
        size: L, the crop side (512 in the paper).
        grid: the side of the map the two CNNs end at (32: as many tokens as the image tokens).
        width: P, the token width inside the view.
        heads: self-attention heads.
        out_dim: the LLM's hidden size.
    """

    def __init__(self, size: int, grid: int, width: int, heads: int, out_dim: int):
        super().__init__()
        stride = size // grid
        first = 2 ** math.ceil(math.log2(stride) / 2)  # split the stride between the two CNNs
        second = stride // first
        if first * second != stride:
            raise ValueError(f"local_size / local_grid = {stride} must be a power of two")
        self.cnn1 = nn.Sequential(
            nn.Conv2d(3, width // 4, first, stride=first), nn.GroupNorm(1, width // 4), nn.GELU()
        )
        self.cnn2 = nn.Sequential(
            nn.Conv2d(width // 4, width, second, stride=second), nn.GroupNorm(1, width), nn.GELU()
        )
        self.position = nn.Parameter(torch.zeros(1, grid * grid, width))
        self.self_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, out_dim)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Args: crops float (B, 3, L, L) in 0..1. Returns (B, out_dim)."""
        tokens = self.cnn2(self.cnn1(crops)).flatten(2).transpose(1, 2) + self.position  # (B, G*G, P)
        tokens = self.norm(tokens + self.self_attn(tokens, tokens, tokens, need_weights=False)[0])
        return self.out(tokens.mean(1))
