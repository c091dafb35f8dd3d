"""The Mask-based Feature Extractor's global view (paper §4.2, eq. 2-4), as the authors' code runs it.

The authors' code (chencn2020/SEAGULL, `seagull/model/layer.py`, `MaskExtractor`) produced the
released weights, so where it and the paper differ this module follows the code (docs/model.md
lists the differences):

- basic tokens B_j: mask pooling on each of the 4 encoder levels, one Linear(C_j, P) each;
- keys F_j: each level reshaped to C_j x (h_j w_j) and the h_j w_j axis projected to P, so the
  C_j channels are the tokens (paper eq. 3);
- one attention block shared by the levels: self-attention across the ROIs *of one image*
  (per level), cross-attention from them to the level's keys at half width (P/2 inside), a
  2P ReLU MLP; post-norm after each attention, plain residual after the MLP;
- B_j and the attended tokens G_j are each summed over levels, each goes through one Linear to
  the LLM width, and one Linear on their concatenation [G, B] gives the `<global>` token.

ROIs arrive grouped by image (`counts[n]` ROIs of image n, in order); inside the module they
are laid out as a padded (images, max ROIs) grid so attention stays batched.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head attention with separate q/k/v/out projections and an optional narrower inside.

    Args:
        dim: width of queries, keys, values and output.
        heads: attention heads.
        inner: width inside (after q/k/v projection); `dim` by default, `dim // 2` for the
            authors' cross-attention.
    """

    def __init__(self, dim: int, heads: int, inner: int | None = None):
        super().__init__()
        inner = inner or dim
        if inner % heads:
            raise ValueError(f"attention width {inner} must be divisible by {heads} heads")
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(dim, inner) for _ in range(3))
        self.out_proj = nn.Linear(inner, dim)

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_valid: torch.Tensor | None = None
    ) -> torch.Tensor:
        """q (B, Tq, dim), k/v (B, Tk, dim), key_valid bool (B, Tk) or None -> (B, Tq, dim)."""
        q, k, v = (self._heads(proj(x)) for proj, x in ((self.q_proj, q), (self.k_proj, k), (self.v_proj, v)))
        mask = key_valid[:, None, None, :] if key_valid is not None else None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, Tq, inner / H)
        return self.out_proj(out.transpose(1, 2).flatten(2))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)


class RegionBlock(nn.Module):
    """Self-attention across an image's ROIs, cross-attention to one level's keys, MLP.

    The authors' `CrossAttention` (itself after SAM's two-way block): post-norm after both
    attentions, no norm after the MLP; cross-attention at half width; ReLU MLP of width 2P.
    """

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.self_attn = Attention(width, heads)
        self.norm1 = nn.LayerNorm(width)
        self.cross_attn = Attention(width, heads, width // 2)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.ReLU(), nn.Linear(2 * width, width))

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """queries (N, R, P) with valid (N, R) marking real ROIs; keys (N, C, P) -> (N, R, P)."""
        queries = self.norm1(queries + self.self_attn(queries, queries, queries, key_valid=valid))
        queries = self.norm2(queries + self.cross_attn(queries, keys, keys))
        return queries + self.mlp(queries)


def mask_weights(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The authors' mask pooling weights: bilinear resize to the level, binarise (> 0), normalise.

    Args:
        masks: float or bool (R, H, W), 1 inside the ROI.
        size: (h, w) of the feature level.

    Returns:
        float (R, h * w) summing to 1 per ROI (all zeros when the ROI vanishes at this level,
        as in the authors' code: a small ROI can miss every bilinear sample of a coarse level).
    """
    resized = F.interpolate(masks[:, None].float(), size=size, mode="bilinear", align_corners=False)
    binary = (resized[:, 0] > 0).float().flatten(1)
    return binary / (binary.sum(-1, keepdim=True) + 1e-8)


def mask_pool(features: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Mean of the features inside each mask (one ROI per image). features (B, C, h, w), masks
    (B, H, W) -> (B, C)."""
    weights = mask_weights(masks, features.shape[-2:]).to(features.dtype)
    return torch.einsum("bcp,bp->bc", features.flatten(2), weights)


class RegionLayout:
    """Where the ROIs of a batch sit in the padded (images, max ROIs) grid.

    Args:
        counts: ROIs per image (python ints or a CPU tensor), ROIs stored image after image.
        device: device of the grid indices.
    """

    def __init__(self, counts, device: torch.device):
        self.counts = [int(c) for c in counts]
        self.images, self.width = len(self.counts), max(self.counts, default=0)
        slots = [n * self.width + i for n, count in enumerate(self.counts) for i in range(count)]
        self.slots = torch.tensor(slots, dtype=torch.long).to(device)  # (R,) flat grid positions
        valid = torch.zeros(self.images * self.width, dtype=torch.bool)
        valid[slots] = True
        self.valid = valid.view(self.images, self.width).to(device)

    def pad(self, rows: torch.Tensor) -> torch.Tensor:
        """(R, ...) -> (N, max ROIs, ...), zeros where an image has fewer ROIs."""
        grid = rows.new_zeros(self.images * self.width, *rows.shape[1:])
        return grid.index_copy(0, self.slots, rows).view(self.images, self.width, *rows.shape[1:])

    def unpad(self, grid: torch.Tensor) -> torch.Tensor:
        """(N, max ROIs, ...) -> (R, ...)."""
        return grid.flatten(0, 1).index_select(0, self.slots)


class GlobalView(nn.Module):
    """MFE global view: 4 encoder levels + ROI masks -> one `<global>` token per ROI.

    Args:
        channels: channels of the encoder levels, e.g. (192, 384, 768, 1536).
        positions: h_j * w_j of each level at the model's input size, e.g. (16384, 4096, 1024, 256).
        width: P (1,024 in the paper).
        heads: attention heads (8).
        out_dim: the LLM's hidden size (4,096 for Vicuna-7B).
    """

    def __init__(
        self, channels: tuple[int, ...], positions: tuple[int, ...], width: int, heads: int, out_dim: int
    ):
        super().__init__()
        self.basic = nn.ModuleList(nn.Linear(c, width) for c in channels)  # FC_j of eq. 2
        self.keys = nn.ModuleList(nn.Linear(p, width) for p in positions)  # FC_j of eq. 3
        self.block = RegionBlock(width, heads)
        self.fuse_basic = nn.Linear(width, out_dim)  # FC_2 of eq. 4
        self.fuse_global = nn.Linear(width, out_dim)  # FC_3 of eq. 4
        self.out = nn.Linear(2 * out_dim, out_dim)  # FC_1 of eq. 4, on [global, basic]

    def forward(
        self, features: list[torch.Tensor], masks: torch.Tensor, layout: RegionLayout
    ) -> torch.Tensor:
        """features [(N, C_j, h_j, w_j)] x 4; masks (R, H, W) grouped by image -> (R, out_dim)."""
        basic_sum, global_sum = 0, 0
        for basic_fc, key_fc, level in zip(self.basic, self.keys, features, strict=True):
            flat = level.flatten(2)  # (N, C, h*w)
            weights = layout.pad(mask_weights(masks, level.shape[-2:]).to(flat.dtype))  # (N, R, h*w)
            basic = basic_fc(weights @ flat.transpose(1, 2))  # (N, R, P)
            attended = self.block(basic, key_fc(flat), layout.valid)  # keys: channels as tokens
            basic_sum, global_sum = basic_sum + basic, global_sum + attended
        fused = torch.cat([self.fuse_global(global_sum), self.fuse_basic(basic_sum)], -1)
        return layout.unpad(self.out(fused))
