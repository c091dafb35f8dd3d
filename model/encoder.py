"""The frozen ConvNeXt image encoder (timm, features_only): four levels of image features.

Weights come from a local file only: timm reads it through `pretrained_cfg_overlay={"file": ...}`,
and its ConvNeXt checkpoint filter also accepts OpenCLIP checkpoints (`visual.trunk.*` keys), so
the release's `convnext_large_d_320` LAION weights load as they are.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

from model.config import EncoderConfig


class FrozenEncoder(nn.Module):
    """ConvNeXt returning the feature maps of its four stages; never trained (paper §5, both stages).

    Attributes:
        channels: channels of the four levels, e.g. (192, 384, 768, 1536) for ConvNeXt-Large.
        strides: their strides, (4, 8, 16, 32).
    """

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.backbone = _create_backbone(config)
        self.channels = tuple(self.backbone.feature_info.channels())
        self.strides = tuple(self.backbone.feature_info.reduction())
        mean = self.backbone.pretrained_cfg.get("mean", (0.485, 0.456, 0.406))
        std = self.backbone.pretrained_cfg.get("std", (0.229, 0.224, 0.225))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenEncoder:
        # Frozen: stays in eval mode whatever the parent module asks.
        return super().train(False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Args: images float (B, 3, S, S) in 0..1. Returns four maps (B, C_j, S/stride_j, S/stride_j)."""
        return self.backbone((images - self.mean) / self.std)


def _create_backbone(config: EncoderConfig) -> nn.Module:
    kwargs = {key: tuple(value) if isinstance(value, list) else value for key, value in config.kwargs.items()}
    if config.weights is None:
        return timm.create_model(config.arch, pretrained=False, features_only=True, **kwargs)
    weights = Path(config.weights)
    if not weights.is_file():
        raise FileNotFoundError(
            f"encoder weights {weights} not found: set encoder.weights in the model config to a local file"
        )
    overlay = {"file": str(weights)}
    return timm.create_model(
        config.arch, pretrained=True, features_only=True, pretrained_cfg_overlay=overlay, **kwargs
    )
