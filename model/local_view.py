"""The MFE's local view (paper §4.2), as the authors' code runs it (`MaskExtractor.global_vit`,
`sa`, `mlp` in chencn2020/SEAGULL `seagull/model/layer.py`).

`crop_roi` runs in the data pipeline on the full-resolution image (the point of a local view:
details the 512-px overview has lost). As in the authors' demo it cuts the ROI's bounding box
and keeps the pixels outside the mask (no zeroing); the crop is normalised like the overview
(OpenAI-CLIP mean/std) inside the model. `LocalView` turns the crop into the `<local>` token:
two 1x1 convolutions (3 -> 5 -> 1) each with GELU and an average pool, giving one grid x grid
map (32 x 32 from 512 px), flattened into a single grid²-wide token; self-attention on that one
token; a 3-layer ReLU MLP to the LLM width. (The paper describes "two CNNs, SA, one FC".)
1x1 convolutions see each pixel's colour only; `mfe.local_kernel` 3 makes them see
neighbourhoods, and `mfe.local_channels` widens the two convolutions (the authors' 5 -> 1): with
C output channels the token is C x grid² wide. Both are departures for the tiny config, whose
random encoder gives the model no texture features elsewhere.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from model.mfe import Attention


def crop_roi(image: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """Crop the ROI's bounding box (pixels outside the mask kept) and resize to size x size.

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
    resized = F.interpolate(
        image[None, :, top:bottom, left:right],
        size=(size, size),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return resized[0].clamp(0, 1)


class LocalView(nn.Module):
    """Normalised crops (R, 3, L, L) -> `<local>` tokens (R, out_dim).

    Args:
        size: L, the crop side (512 in the paper).
        grid: side of the map after the two convolutions and pools (32): the token is grid² wide.
        heads: heads of the self-attention on the token (8).
        out_dim: the LLM's hidden size.
        kernel: side of both convolutions' kernels (1: the authors'; padded to keep the size).
        channels: output channels of the first and the second convolution ((5, 1): the authors').
    """

    def __init__(
        self,
        size: int,
        grid: int,
        heads: int,
        out_dim: int,
        kernel: int = 1,
        channels: tuple[int, int] = (5, 1),
    ):
        super().__init__()
        pool = math.isqrt(size // grid)
        if pool * pool * grid != size:
            raise ValueError(f"local_size / local_grid = {size / grid:g} must be a square (two equal pools)")
        hidden_channels, out_channels = channels
        width = out_channels * grid * grid
        self.cnn = nn.Sequential(
            nn.Conv2d(3, hidden_channels, kernel, padding=kernel // 2),
            nn.GELU(),
            nn.AvgPool2d(pool),
            nn.Conv2d(hidden_channels, out_channels, kernel, padding=kernel // 2),
            nn.GELU(),
            nn.AvgPool2d(pool),
        )
        self.attn = Attention(width, heads)
        hidden = width // 2
        self.mlp = nn.Sequential(
            nn.Linear(width, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        token = self.cnn(crops).flatten(1)[:, None]  # (R, 1, channels * grid²)
        return self.mlp(self.attn(token, token, token)[:, 0])
