"""The Mask-based Feature Extractor's global view (paper §4.2, eq. 2-4; SPEC.md §4).

For each ROI mask: mask pooling on the four encoder levels -> one linear each to width P = the
"basic tokens" B_j; each level's flattened map -> its own linear to P = keys/values F_j;
self-attention on the four basic tokens, cross-attention from each to its level's keys, an MLP;
the basic and attended tokens are each summed over levels, projected to the LLM width,
concatenated, and an MLP gives the `<global>` token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def mask_pool(features: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Average of the features inside each mask, the mask resized to the feature map.

    The mask is resized by area (adaptive average pooling), so it becomes the fraction of each
    feature cell it covers: a small ROI keeps a non-zero weight even at stride 32, where a
    thresholded nearest-neighbour resize would lose it.

    Args:
        features: float (B, C, h, w).
        masks: float or bool (B, H, W), 1 inside the ROI; H, W multiples of h, w.

    Returns:
        float (B, C): the weighted mean (zeros for an empty mask).
    """
    weights = F.adaptive_avg_pool2d(masks[:, None].to(features.dtype), features.shape[-2:])  # (B, 1, h, w)
    total = weights.sum(dim=(-2, -1)).clamp_min(1e-6)  # (B, 1)
    return (features * weights).sum(dim=(-2, -1)) / total


class GlobalView(nn.Module):
    """MFE global view: multi-level features + masks -> one token of the LLM width.

    Args:
        channels: channels of the encoder levels, e.g. (192, 384, 768, 1536).
        width: P, the common width of basic tokens and keys (1,024 in the paper).
        heads: attention heads (8 in the paper).
        out_dim: the LLM's hidden size (4,096 for Vicuna-7B).
    """

    def __init__(self, channels: tuple[int, ...], width: int, heads: int, out_dim: int):
        super().__init__()
        self.basic_fc = nn.ModuleList(nn.Linear(c, width) for c in channels)
        self.key_fc = nn.ModuleList(nn.Linear(c, width) for c in channels)
        self.self_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.self_norm = nn.LayerNorm(width)
        # One cross-attention and MLP shared by the levels: their keys already share width P.
        self.cross_attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.cross_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.fuse_basic = nn.Linear(width, out_dim)  # FC_2 of eq. 4
        self.fuse_global = nn.Linear(width, out_dim)  # FC_3 of eq. 4
        self.out = nn.Sequential(
            nn.Linear(2 * out_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim)
        )  # FC_1

    def forward(self, features: list[torch.Tensor], masks: torch.Tensor) -> torch.Tensor:
        """Args: features [(B, C_j, h_j, w_j)] x 4; masks (B, H, W). Returns (B, out_dim)."""
        basic = torch.stack(
            [fc(mask_pool(f, masks)) for fc, f in zip(self.basic_fc, features, strict=True)], 1
        )  # (B, 4, P)
        queries = self.self_norm(basic + self.self_attn(basic, basic, basic, need_weights=False)[0])
        attended = [
            self._attend(queries[:, j : j + 1], fc(f.flatten(2).transpose(1, 2)))
            for j, (fc, f) in enumerate(zip(self.key_fc, features, strict=True))
        ]  # 4 x (B, 1, P)
        summed_basic = basic.sum(1)  # (B, P)
        summed_global = torch.cat(attended, 1).sum(1)  # (B, P)
        fused = torch.cat([self.fuse_basic(summed_basic), self.fuse_global(summed_global)], -1)  # (B, 2D)
        return self.out(fused)

    def _attend(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """query (B, 1, P), keys (B, h*w, P) -> (B, 1, P): cross-attention, then the MLP."""
        attended = self.cross_norm(query + self.cross_attn(query, keys, keys, need_weights=False)[0])
        return attended + self.mlp(attended)
