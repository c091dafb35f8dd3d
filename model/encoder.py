"""The frozen ConvNeXt image encoder (timm): four levels of image features (`forward_intermediates`).

Weights come from a local file only, in timm's parameter names or in the OpenCLIP layout
(`visual.trunk.<timm name>`), so the release's `convnext_large_d_320` LAION weights
(`open_clip_pytorch_model.bin`) load as they are; the rest of a CLIP file (text tower, the
`visual.head` projection) is not part of the trunk and is skipped. Every trunk tensor must be
there with its shape: a missing, unknown or misshapen one fails with its name (timm's own
pretrained loader would only warn and leave random weights). `trunk_state_dict` writes the same
OpenCLIP layout (`seagull export`). Inputs are normalised with the config's mean/std: the
OpenAI-CLIP values the LAION weights and the authors' demo use.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

from model.config import EncoderConfig


class FrozenEncoder(nn.Module):
    """ConvNeXt returning the feature maps of its four stages; never trained (paper §5, both stages)
    unless `encoder.trainable` (a tiny config's random encoder learns with the rest).

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
        self.trainable = config.trainable
        self.requires_grad_(self.trainable)
        self.eval()

    def train(self, mode: bool = True) -> FrozenEncoder:
        # Frozen: stays in eval mode whatever the parent module asks.
        return super().train(mode and self.trainable)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """0..1 pixels -> the encoder's normalised input (also used for the local view's crops)."""
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Args: images float (B, 3, S, S) in 0..1. Returns four maps (B, C_j, S/stride_j, S/stride_j)."""
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            return self.backbone.forward_intermediates(self.normalize(images), intermediates_only=True)

    def trunk_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights in the OpenCLIP layout (`visual.trunk.<timm name>`) that the loader reads back."""
        return {f"visual.trunk.{name}": value for name, value in self.backbone.state_dict().items()}


OPENCLIP_TRUNK = "visual.trunk."  # the image tower's backbone inside an OpenCLIP checkpoint
CLASSIFIER_HEADS = ("head.fc.", "head.pre_logits.")  # timm's classification head: no part of the features


class EncoderWeightsError(ValueError):
    """An encoder weights file that does not fit the configured trunk: names the file and the tensor."""


def _create_backbone(config: EncoderConfig) -> nn.Module:
    kwargs = {key: tuple(value) if isinstance(value, list) else value for key, value in config.kwargs.items()}
    backbone = timm.create_model(config.arch, pretrained=False, num_classes=0, **kwargs)
    if config.weights is not None:
        weights = Path(config.weights)
        if not weights.is_file():
            raise FileNotFoundError(
                f"encoder weights {weights} not found: set encoder.weights in the model config to a local file"
            )
        backbone.load_state_dict(trunk_weights(_read(weights), backbone.state_dict(), weights, config.arch))
    return backbone


def _read(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("state_dict", "model"):  # training checkpoints nest the weights
        if isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    return state


def trunk_weights(
    state: dict[str, torch.Tensor], own: dict[str, torch.Tensor], source: Path, arch: str
) -> dict[str, torch.Tensor]:
    """The trunk's tensors from a checkpoint in timm or OpenCLIP names, checked against `own`.

    Raises:
        EncoderWeightsError: a trunk tensor is missing, unknown or of another shape (named as in the file).
    """
    prefix = OPENCLIP_TRUNK if any(name.startswith(OPENCLIP_TRUNK) for name in state) else ""
    trunk = {
        name[len(prefix) :]: value
        for name, value in state.items()
        if name.startswith(prefix) and not name[len(prefix) :].startswith(CLASSIFIER_HEADS)
    }
    missing = sorted(set(own) - set(trunk))
    if missing:
        raise EncoderWeightsError(
            f"{source}: tensor {prefix + missing[0]!r} of the {arch} trunk is missing ({len(missing)} missing): "
            "is it the CLIP-ConvNeXt file of this config's encoder.arch?"
        )
    extra = sorted(set(trunk) - set(own))
    if extra:
        raise EncoderWeightsError(
            f"{source}: tensor {prefix + extra[0]!r} has no place in the {arch} trunk ({len(extra)} unknown)"
        )
    for name, value in trunk.items():
        if value.shape != own[name].shape:
            raise EncoderWeightsError(
                f"{source}: tensor {prefix + name!r} has shape {tuple(value.shape)}, the {arch} trunk needs "
                f"{tuple(own[name].shape)}: weights of another encoder? (check encoder.arch)"
            )
    return trunk
