"""The frozen ConvNeXt image encoder (timm): four levels of image features (`forward_intermediates`).

Weights come from a local file only: timm reads it through `pretrained_cfg_overlay={"file": ...}`,
and its ConvNeXt checkpoint filter also accepts OpenCLIP checkpoints (`visual.trunk.*` keys), so
the release's `convnext_large_d_320` LAION weights (`open_clip_pytorch_model.bin`) load as they
are. The trunk keeps timm's own parameter names, so `trunk_state_dict` writes a file in that
same OpenCLIP layout (`seagull export`). Inputs are normalised with the config's mean/std: the
OpenAI-CLIP values the LAION weights and the authors' demo use.
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
        stages = self.backbone.feature_info[-4:]  # the four stages (the stem is not a level)
        self.channels = tuple(info["num_chs"] for info in stages)
        self.strides = tuple(info["reduction"] for info in stages)
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenEncoder:
        # Frozen: stays in eval mode whatever the parent module asks.
        return super().train(False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """0..1 pixels -> the encoder's normalised input (also used for the local view's crops)."""
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Args: images float (B, 3, S, S) in 0..1. Returns four maps (B, C_j, S/stride_j, S/stride_j)."""
        return self.backbone.forward_intermediates(self.normalize(images), intermediates_only=True)

    def trunk_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights in the OpenCLIP layout (`visual.trunk.<timm name>`) that the loader reads back."""
        return {f"visual.trunk.{name}": value for name, value in self.backbone.state_dict().items()}


def _create_backbone(config: EncoderConfig) -> nn.Module:
    kwargs = {key: tuple(value) if isinstance(value, list) else value for key, value in config.kwargs.items()}
    if config.weights is None:
        return timm.create_model(config.arch, pretrained=False, num_classes=0, **kwargs)
    weights = Path(config.weights)
    if not weights.is_file():
        raise FileNotFoundError(
            f"encoder weights {weights} not found: set encoder.weights in the model config to a local file"
        )
    overlay = {"file": str(weights)}
    return timm.create_model(
        config.arch, pretrained=True, num_classes=0, pretrained_cfg_overlay=overlay, **kwargs
    )
