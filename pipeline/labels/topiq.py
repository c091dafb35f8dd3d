"""TOPIQ-FR (pyiqa's CFANet) with the reference-side backbone features computed once per reference.

CFANet.forward_cross_attention runs its ResNet-50 backbone on the distorted image and on the
reference, then fuses the two feature pyramids. Labelling scores 120 variants against the same
reference (crop), so the reference pass is the same 120 times. `_CachedBackbone` wraps the
backbone module in place: given the empty placeholder tensor (B, 3, 0, 0) as the "reference", it
returns the cached reference pyramid expanded to the batch; given a real image it runs the
backbone. Everything after the backbone is pyiqa's own code, unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from pipeline.labels.metrics import (
    RANDOM_WEIGHTS,
    LabelMetric,
    MetricSettings,
    missing_weights_message,
    register_builder,
)
from pipeline.pyiqa_metrics import create_pyiqa_metric


class _CachedBackbone(nn.Module):
    """The CFANet backbone, or the cached reference features for an empty placeholder input."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.cached: list[torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] == 0:  # the placeholder: serve the prepared reference
            if self.cached is None:
                raise RuntimeError("TOPIQ reference features were not prepared; call prepare(ref) first")
            return [feature.expand(x.shape[0], -1, -1, -1) for feature in self.cached]
        return self.backbone(x)


class CachedTopiqMetric(LabelMetric):
    """TOPIQ-FR whose `prepare` computes the reference backbone features once."""

    def __init__(self, settings: MetricSettings, model: nn.Module, weights: str | None, label_source: bool):
        super().__init__(settings, model, weights, label_source)
        cfanet = model.net
        if not isinstance(cfanet.semantic_model, _CachedBackbone):
            cfanet.semantic_model = _CachedBackbone(cfanet.semantic_model)
        self._cfanet = cfanet

    @torch.inference_mode()
    def prepare(self, ref: torch.Tensor) -> tuple[tuple[int, int], list[torch.Tensor]]:
        """(H, W) and the reference pyramid: CFANet's own preprocessing and backbone on ref (1, 3, H, W)."""
        features = self._cfanet.semantic_model.backbone(self._cfanet.preprocess(ref))
        return tuple(ref.shape[-2:]), [feature.clone() for feature in features]

    @torch.inference_mode()
    def raw(self, dist: torch.Tensor, prepared: tuple[tuple[int, int], list[torch.Tensor]]) -> torch.Tensor:
        """Scores (B,) of dist (B, 3, H, W) against the prepared reference of the same H, W."""
        size, features = prepared
        if tuple(dist.shape[-2:]) != size:
            raise ValueError(
                f"distorted batch {tuple(dist.shape)} does not match the prepared reference {size}"
            )
        wrapper = self._cfanet.semantic_model
        wrapper.cached = features
        try:
            placeholder = dist.new_zeros((dist.shape[0], 3, 0, 0))
            return self._cfanet(dist, placeholder).reshape(-1).float()
        finally:
            wrapper.cached = None


@register_builder("topiq_fr")
def _build_topiq(settings: MetricSettings, weights: str | None, device: str) -> LabelMetric:
    # pretrained=False and backbone_pretrain=False: pyiqa would otherwise download both.
    options = {"pretrained": False, "backbone_pretrain": False}
    if weights != RANDOM_WEIGHTS:
        if weights is None or not Path(weights).is_file():
            raise FileNotFoundError(missing_weights_message(settings, weights))
        options["pretrained_model_path"] = str(weights)
    # Random weights are seeded (the same every time) without touching the caller's RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = create_pyiqa_metric(settings.pyiqa, device=torch.device(device), **options)
    label_source = weights != RANDOM_WEIGHTS
    return CachedTopiqMetric(settings, model.eval(), weights=weights, label_source=label_source)
