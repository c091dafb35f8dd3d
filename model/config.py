"""Model configs as data: `configs/<name>.yaml` loaded into frozen dataclasses, validated once.

Example:
    >>> cfg = create_config("tiny")
    >>> cfg.mfe.width
    64
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).parent / "configs"
PRECISIONS = ("fp32", "bf16")
PROMPT_STYLES = ("paper", "authors")  # model/prompts.py
# The OpenAI-CLIP normalisation the authors' LAION ConvNeXt weights were trained with (their demo uses it).
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class EncoderConfig:
    arch: str = "convnext_large"  # timm name; the paper's encoder is ConvNeXt-Large
    weights: str | None = None  # local checkpoint; None = random weights (tests, tiny)
    kwargs: dict[str, Any] = field(default_factory=dict)  # overrides of the timm variant (tiny dims)
    image_level: int = 2  # the stage whose tokens feed the projector (768 ch, stride 16)
    # Train the encoder with the rest (the paper freezes it); only sensible for random weights (tiny).
    trainable: bool = False
    mean: tuple[float, ...] = CLIP_MEAN  # normalisation of the overview and the local crops
    std: tuple[float, ...] = CLIP_STD


@dataclass(frozen=True)
class MFEConfig:
    width: int = 1024  # P, the paper's common width of basic tokens and keys
    heads: int = 8  # the paper's cross-attention heads
    local_size: int = 512  # the ROI crop is resized to the encoder's input size
    local_grid: int = 32  # the local CNNs end at 32x32: one token of 32² = 1,024 values
    # Kernel of the local CNNs: 1 (1x1) as in the authors' code, which sees colour statistics
    # only; 3 lets them see texture (noise, blur, blocking) at the crop's resolution.
    local_kernel: int = 1
    # Output channels of the two local CNNs: (5, 1) as the authors'; the token is
    # local_channels[1] x local_grid² wide. Wider (tiny) keeps more of the crop's texture statistics.
    local_channels: tuple[int, int] = (5, 1)


@dataclass(frozen=True)
class LoRAConfig:
    r: int = 128  # the paper's rank
    alpha: int = 256  # the paper's alpha (2r)
    dropout: float = 0.05  # LLaVA's default
    modules_to_save: tuple[str, ...] = ()  # LLM modules trained in full besides LoRA


@dataclass(frozen=True)
class LLMConfig:
    path: str | None = None  # local LlamaForCausalLM folder; None = random weights from `config`
    config: dict[str, Any] = field(default_factory=dict)  # LlamaConfig kwargs when path is None
    max_length: int = 2048  # the paper's maximum sequence length
    lora: LoRAConfig = LoRAConfig()


@dataclass(frozen=True)
class StageConfig:
    lr: float = 4e-5  # stage 1 of the paper
    batch_size: int = 32  # the paper's batch
    grad_accum: int = 1  # batch_size is per step; accumulation multiplies it
    epochs: int = 1
    max_steps: int | None = None  # cap on optimizer steps (the tiny run must end in minutes)
    warmup_steps: int = 100  # linear warm-up before the cosine decay


@dataclass(frozen=True)
class TrainConfig:
    stage1: StageConfig = StageConfig()
    stage2: StageConfig = StageConfig(lr=1e-5, epochs=5)
    weight_decay: float = 0.0  # LLaVA-style recipes use none
    precision: str = "bf16"  # "fp32"; or "bf16": autocast, frozen LLM/encoder stored in bf16, trainable fp32
    gradient_checkpointing: bool = False  # recompute the LLM blocks' activations in backward
    shard_shuffle: bool = True  # reshuffle each process's shard list every epoch (seeded)
    sample_buffer: int = 1000  # shuffle buffer of samples (JSON + image position: ~50 kB each)
    item_buffer: int = 1000  # shuffle buffer of (sample, ROI) items, so a batch mixes images
    # Decoded images kept (uint8, full resolution: 3 MB at 1,024 x 1,024) while the item buffer
    # interleaves the ROIs of many images; too few and most items decode their PNG again.
    image_cache: int = 64
    # ROIs of one image per training conversation (model/regions.py): the encoder runs once for
    # them and the overview's tokens enter the LLM once. batch_size counts conversations.
    rois_per_conversation: int = 1
    # ROIs of each image an epoch trains on (a seeded draw, new each epoch); None: all of them.
    # The ROIs of one image share its distortion type and level, so fewer per image puts more
    # images into the same number of steps (model/data.py).
    rois_per_image: int | None = None
    test_fraction: float = 0.2  # share of reference images held out (pipeline/split.py)
    # Stage 1's chance, per task, of an AIR (full answer) rather than a JIR (yes/no) question;
    # None: pipeline/templates/instructions.yaml's stage1.p_air (0.5).
    p_air: float | None = None
    checkpoint_every: int = 500  # optimizer steps between checkpoints
    log_every: int = 10  # optimizer steps between JSONL log lines

    def stage(self, stage: int) -> StageConfig:
        return {1: self.stage1, 2: self.stage2}[stage]


@dataclass(frozen=True)
class ModelConfig:
    name: str
    image_size: int = 512  # the paper's encoder input
    encoder: EncoderConfig = EncoderConfig()
    projector: str = "mlp2x_gelu"  # a projector spec string (model/projector.py)
    mfe: MFEConfig = MFEConfig()
    llm: LLMConfig = LLMConfig()
    tokenizer_path: str | None = None  # None = the offline WordLevel tokenizer (model/tokenizer.py)
    train: TrainConfig = TrainConfig()
    prompts: str = "paper"  # scoring prompt wording: "paper" or "authors" (the released weights')


def list_configs() -> list[str]:
    """Names of the bundled configs (the stems of model/configs/*.yaml)."""
    return sorted(path.stem for path in CONFIG_DIR.glob("*.yaml"))


def create_config(name_or_path: str, **overrides: Any) -> ModelConfig:
    """Load a bundled config by name ('tiny', 'paper') or a YAML file by path.

    Args:
        name_or_path: a name from `list_configs()` or a path to a YAML file of the same layout.
        overrides: top-level fields replaced after loading (e.g. image_size=256).
    """
    path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        path = Path(name_or_path)
    if not path.exists():
        raise ValueError(f"unknown model config {name_or_path!r}: use one of {list_configs()} or a YAML path")
    return dataclasses.replace(parse_config(yaml.safe_load(path.read_text()), path), **overrides)


def parse_config(raw: dict[str, Any], source: Path | str = "<dict>") -> ModelConfig:
    """Build and validate a ModelConfig from a dict with the layout of configs/*.yaml."""
    try:
        llm = dict(raw["llm"])
        llm["lora"] = LoRAConfig(
            **{
                **llm.get("lora", {}),
                "modules_to_save": tuple(llm.get("lora", {}).get("modules_to_save", ())),
            }
        )
        train = dict(raw.get("train", {}))
        for stage in ("stage1", "stage2"):
            if stage in train:
                train[stage] = StageConfig(**train[stage])
        encoder = dict(raw["encoder"])
        for key in ("mean", "std"):
            if key in encoder:
                encoder[key] = tuple(encoder[key])
        config = ModelConfig(
            name=raw["name"],
            image_size=int(raw.get("image_size", 512)),
            encoder=EncoderConfig(**encoder),
            projector=raw.get("projector", "mlp2x_gelu"),
            mfe=_mfe_config(raw["mfe"]),
            llm=LLMConfig(**llm),
            tokenizer_path=(raw.get("tokenizer") or {}).get("path"),
            train=TrainConfig(**train),
            prompts=raw.get("prompts", "paper"),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"{source}: malformed model config ({error}); compare with {CONFIG_DIR / 'tiny.yaml'}"
        ) from error
    _validate(config, source)
    return config


def _mfe_config(raw: dict[str, Any]) -> MFEConfig:
    raw = dict(raw)
    if "local_channels" in raw:
        raw["local_channels"] = tuple(raw["local_channels"])  # YAML gives a list; the config is frozen
    return MFEConfig(**raw)


def _validate(config: ModelConfig, source: Path | str) -> None:
    if config.train.precision not in PRECISIONS:
        raise ValueError(
            f"{source}: train.precision must be one of {PRECISIONS}, got {config.train.precision!r}"
        )
    if not 0.0 <= config.train.test_fraction <= 1.0:
        raise ValueError(f"{source}: train.test_fraction must be in [0, 1], got {config.train.test_fraction}")
    if config.train.p_air is not None and not 0.0 <= config.train.p_air <= 1.0:
        raise ValueError(f"{source}: train.p_air must be in [0, 1] (or null), got {config.train.p_air}")
    if config.train.rois_per_conversation < 1:
        raise ValueError(
            f"{source}: train.rois_per_conversation must be at least 1, got {config.train.rois_per_conversation}"
        )
    if config.train.rois_per_image is not None and config.train.rois_per_image < 1:
        raise ValueError(
            f"{source}: train.rois_per_image must be at least 1 (or null: all), got {config.train.rois_per_image}"
        )
    if config.train.image_cache < 1:
        raise ValueError(
            f"{source}: train.image_cache must be at least 1 image, got {config.train.image_cache}"
        )
    if config.mfe.width % config.mfe.heads:
        raise ValueError(
            f"{source}: mfe.width {config.mfe.width} must be divisible by mfe.heads {config.mfe.heads}"
        )
    if config.mfe.local_kernel < 1 or config.mfe.local_kernel % 2 == 0:
        raise ValueError(
            f"{source}: mfe.local_kernel must be odd and positive, got {config.mfe.local_kernel}"
        )
    channels = config.mfe.local_channels
    if len(channels) != 2 or any(not isinstance(c, int) or c < 1 for c in channels):
        raise ValueError(
            f"{source}: mfe.local_channels must be two positive integers (the authors': [5, 1]), got {list(channels)}"
        )
    if channels[1] * config.mfe.local_grid**2 % config.mfe.heads:
        raise ValueError(
            f"{source}: the <local> token (mfe.local_channels[1] x mfe.local_grid² = "
            f"{channels[1] * config.mfe.local_grid**2}) must be divisible by mfe.heads {config.mfe.heads}"
        )
    if config.mfe.local_size % config.mfe.local_grid:
        raise ValueError(f"{source}: mfe.local_size must be a multiple of mfe.local_grid")
    if config.prompts not in PROMPT_STYLES:
        raise ValueError(f"{source}: prompts must be one of {PROMPT_STYLES}, got {config.prompts!r}")
