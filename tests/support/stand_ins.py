"""Stand-ins for the tests and the benchmarks, never used by a build.

- `build_tiny_random_sam`: a SAM of segment-anything's own modules, tiny and with RANDOM weights, to
  exercise the SAM code path (prompting, batching, gates) without a checkpoint.
- `NaiveMetric`: a label metric called the plain way (one pyiqa call per pair), the baseline that the
  cached and batched scoring must equal and beat.

The tests get it from the `stand_ins` fixture (tests/conftest.py), the benchmarks by its folder on
`sys.path`: `tests` is not a package here, and pyiqa installs a top-level `tests` package of its own.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import torch

from pipeline.labels.metrics import LabelMetric

if TYPE_CHECKING:
    from segment_anything.modeling import Sam


def build_tiny_random_sam(seed: int = 0, image_size: int = 256) -> Sam:
    """A tiny SAM with random weights drawn from `seed`; torch's global random state is left as it was.

    Its masks mean nothing, so it is not in the registry and never a mask source of a build.
    """
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    dim, patch = 32, 16
    grid = image_size // patch
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = ImageEncoderViT(
            img_size=image_size,
            patch_size=patch,
            embed_dim=dim,
            depth=2,
            num_heads=2,
            mlp_ratio=2.0,
            out_chans=dim,
            qkv_bias=True,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            use_rel_pos=True,
            window_size=4,
            global_attn_indexes=(1,),
        )
        prompt = PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(grid, grid),
            input_image_size=(image_size, image_size),
            mask_in_chans=4,
        )
        decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer_dim=dim,
            iou_head_depth=2,
            iou_head_hidden_dim=dim,
            transformer=TwoWayTransformer(depth=1, embedding_dim=dim, mlp_dim=2 * dim, num_heads=2),
        )
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    return Sam(encoder, prompt, decoder, pixel_mean=mean, pixel_std=std).eval()


class NaiveMetric(LabelMetric):
    """The same metric called the plain way: one pyiqa call per pair, nothing prepared or batched."""

    def __init__(self, metric: LabelMetric):
        super().__init__(metric.settings, metric.model, metric.weights, metric.label_source)
        self.device = metric.device
        self.wrapped = metric  # a combined metric (min of parts) scores each part its own naive way

    def prepare(self, ref: torch.Tensor) -> torch.Tensor:
        return ref

    def raw(self, dist: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        return self.wrapped.raw_naive(dist, prepared)

    def raw_pairs(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.wrapped.raw_naive(d[None], ref[i % len(ref)][None]) for i, d in enumerate(dist)]
        )
