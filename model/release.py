"""The authors' release layout: load SEAGULL-7B from local folders, and export a run in that layout.

A release folder (the authors' `SEAGULL-7B`, or `seagull export`) holds
- `adapter_model.safetensors` (or `.bin`) + `adapter_config.json`: the LoRA adapter of the LLM,
  in peft's own format;
- `non_lora_trainables.bin`: the projector and the Mask-based Feature Extractor under the
  authors' module names (`model.mm_projector.*`, `mask_extractor.*`), as their trainer saves
  them (with a `base_model.model.` prefix, which their loader strips; both forms are read);
- `config.json`: the LLM config plus the authors' `mm_*` fields (an export adds `seagull`: this
  project's model config, so a reduced-width run rebuilds with its own widths).
The frozen parts come from elsewhere: the Vicuna-7B v1.5 base folder (LLM and tokenizer) and the
LAION CLIP-ConvNeXt-Large file `open_clip_pytorch_model.bin` (the encoder, OpenCLIP layout).

`TENSOR_TABLE` maps every authors' tensor name to this model's parameter; loading checks that
nothing is missing, nothing is left over and every shape agrees, and names the tensor if not.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.config import LoRAConfig, ModelConfig, create_config, parse_config
from model.encoder import EncoderWeightsError
from model.llm import LORA_TARGETS, build_llm
from model.seagull import Seagull
from model.tokenizer import load_tokenizer

NON_LORA = "non_lora_trainables.bin"
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_model.bin")
ADAPTER_CONFIG = "adapter_config.json"
CONFIG = "config.json"
ENCODER_FILE = "open_clip_pytorch_model.bin"
BASE_DIR = "base"  # an export of a run whose frozen LLM has no folder of its own (tiny: random weights)
TRAINER_PREFIX = "base_model.model."  # the peft wrapper's prefix in the authors' saved names
LEVELS = ("res2", "res3", "res4", "res5")  # the authors' names of the four ConvNeXt stages


def _module_table() -> list[tuple[str, str]]:
    """(the authors' module, this model's module); each has a weight and a bias."""
    rows = [("model.mm_projector.0", "projector.0"), ("model.mm_projector.2", "projector.2")]
    for index, level in enumerate(LEVELS):
        rows += [
            (f"mask_extractor.{level}", f"global_view.basic.{index}"),  # basic tokens, eq. 2
            (f"mask_extractor.g_{level}", f"global_view.keys.{index}"),  # keys over h*w, eq. 3
        ]
    block = "mask_extractor.cross_att_res"
    for attention in ("self_attn", "cross_attn"):
        for projection in ("q_proj", "k_proj", "v_proj", "out_proj"):
            rows.append((f"{block}.{attention}.{projection}", f"global_view.block.{attention}.{projection}"))
    rows += [
        (f"{block}.norm1", "global_view.block.norm1"),
        (f"{block}.norm2", "global_view.block.norm2"),
        (f"{block}.mlp.lin1", "global_view.block.mlp.0"),
        (f"{block}.mlp.lin2", "global_view.block.mlp.2"),
        ("mask_extractor.feat_linear", "global_view.fuse_basic"),  # summed basic tokens
        ("mask_extractor.cross_feat_linear", "global_view.fuse_global"),  # summed attended tokens
        ("mask_extractor.final_mlp", "global_view.out"),  # on [global, basic]
        ("mask_extractor.global_vit.0", "local_view.cnn.0"),  # 1x1 conv 3 -> 5
        ("mask_extractor.global_vit.3", "local_view.cnn.3"),  # 1x1 conv 5 -> 1
    ]
    rows += [
        (f"mask_extractor.sa.{p}", f"local_view.attn.{p}") for p in ("q_proj", "k_proj", "v_proj", "out_proj")
    ]
    rows += [(f"mask_extractor.mlp.layers.{i}", f"local_view.mlp.{2 * i}") for i in range(3)]
    return rows


TENSOR_TABLE: dict[str, str] = {
    f"{authors}.{kind}": f"{ours}.{kind}" for authors, ours in _module_table() for kind in ("weight", "bias")
}
# Defined in the authors' MaskExtractor but never used in its forward (an MLP over a 112x112
# mask): read if present, shape-free, and dropped.
UNUSED = frozenset(
    f"mask_extractor.mask_linear.layers.{i}.{kind}" for i in range(3) for kind in ("weight", "bias")
)
# LLM weights trained in full (this project's tiny config trains them; the authors' do not).
LLM_FULL = {"model.embed_tokens.weight": "embed_tokens", "lm_head.weight": "lm_head"}


class ReleaseError(ValueError):
    """A release folder that does not fit the model: names the file and the tensor."""


@dataclass(frozen=True)
class ReleasePaths:
    """Local paths of a release: its folder, the Vicuna base folder, the CLIP-ConvNeXt file."""

    weights: Path
    base: Path | None = None  # default: <weights>/base (an export of a random-base run)
    encoder_weights: Path | None = None  # default: <weights>/open_clip_pytorch_model.bin if present

    @classmethod
    def from_file(cls, path: Path) -> tuple[ReleasePaths, dict[str, Any]]:
        """A YAML file naming `weights`, `base`, `encoder_weights` (relative to the file) and
        optionally `config` and `prompts`; returns the paths and those extra keys."""
        import yaml

        raw = yaml.safe_load(Path(path).read_text()) or {}
        if "weights" not in raw:
            raise ReleaseError(f"{path}: needs `weights: RELEASE_DIR` (and base, encoder_weights)")

        def resolve(key: str) -> Path | None:
            return (Path(path).parent / raw[key]).resolve() if raw.get(key) else None

        paths = cls(resolve("weights"), resolve("base"), resolve("encoder_weights"))
        return paths, {key: raw[key] for key in ("config", "prompts") if raw.get(key)}


def canonical_name(name: str) -> str:
    """The authors' name without their trainer's peft prefix (what their own loader ends up with)."""
    return name[len(TRAINER_PREFIX) :] if name.startswith(TRAINER_PREFIX) else name


def convert_non_lora(state: dict[str, torch.Tensor], model: Seagull, source: Path) -> dict[str, torch.Tensor]:
    """The authors' `non_lora_trainables` -> {this model's parameter name: tensor}, checked."""
    tensors = {canonical_name(name): value for name, value in state.items()}
    targets = model.state_dict(keep_vars=True)
    llm_full = _llm_full_targets(model)
    extra = sorted(set(tensors) - set(TENSOR_TABLE) - UNUSED - set(llm_full))
    if extra:
        raise ReleaseError(f"{source}: tensor {extra[0]!r} has no place in this model ({len(extra)} unknown)")
    missing = sorted(set(TENSOR_TABLE) - set(tensors))
    if missing:
        raise ReleaseError(f"{source}: tensor {missing[0]!r} is missing ({len(missing)} missing)")
    uncovered = sorted(
        name for name in targets if name.split(".")[0] in ("projector", "global_view", "local_view")
    )
    unmapped = sorted(set(uncovered) - set(TENSOR_TABLE.values()))
    if unmapped:  # the table itself is out of date with the model
        raise ReleaseError(
            f"this model's {unmapped[0]!r} has no authors' tensor in model/release.TENSOR_TABLE"
        )
    pairs = [(authors, TENSOR_TABLE[authors]) for authors in TENSOR_TABLE]
    pairs += [(authors, llm_full[authors]) for authors in tensors if authors in llm_full]
    converted = {}
    for authors, ours in pairs:
        _check_shape(source, authors, tensors[authors], ours, targets[ours])
        converted[ours] = tensors[authors]
    return converted


def convert_adapter(state: dict[str, torch.Tensor], model: Seagull, source: Path) -> dict[str, torch.Tensor]:
    """peft's saved adapter (`...q_proj.lora_A.weight`, modules_to_save) -> this model's names."""
    targets = model.state_dict(keep_vars=True)
    converted = {}
    for name, value in state.items():
        candidates = [
            "llm."
            + name.replace(".lora_A.weight", ".lora_A.default.weight").replace(
                ".lora_B.weight", ".lora_B.default.weight"
            ),
            "llm." + name.replace(".weight", ".modules_to_save.default.weight"),
        ]
        ours = next((c for c in candidates if c in targets), None)
        if ours is None:
            raise ReleaseError(f"{source}: tensor {name!r} has no place in this model's LLM")
        _check_shape(source, name, value, ours, targets[ours])
        converted[ours] = value
    lora = sorted(name for name in targets if "lora_" in name and name not in converted)
    if lora:
        raise ReleaseError(f"{source}: LoRA tensor for {lora[0]!r} is missing ({len(lora)} missing)")
    return converted


def _llm_full_targets(model: Seagull) -> dict[str, str]:
    """The authors' names of the fully trained LLM weights -> this model's (the trainable copy
    when the config trains them, else the base weight)."""
    names = model.state_dict(keep_vars=True)
    out = {}
    for authors, module in LLM_FULL.items():
        found = [n for n in names if n.endswith(f"{module}.modules_to_save.default.weight")]
        found = found or [n for n in names if n.endswith(f"{module}.weight") and "original_module" not in n]
        if found:
            out[authors] = found[0]
    return out


def _check_shape(source: Path, authors: str, value: torch.Tensor, ours: str, target: torch.Tensor) -> None:
    if tuple(value.shape) != tuple(target.shape):
        raise ReleaseError(
            f"{source}: tensor {authors!r} has shape {tuple(value.shape)}, this model's {ours} needs "
            f"{tuple(target.shape)}: a release of another width? (pick the matching --config)"
        )


def _read_adapter(folder: Path) -> tuple[dict[str, torch.Tensor], Path]:
    for name in ADAPTER_FILES:
        path = folder / name
        if path.exists():
            if name.endswith(".safetensors"):
                from safetensors.torch import load_file

                return load_file(path), path
            return torch.load(path, map_location="cpu", weights_only=True), path
    raise ReleaseError(f"{folder}: no {' or '.join(ADAPTER_FILES)}: is it the SEAGULL release folder?")


def lora_config_of(folder: Path) -> LoRAConfig:
    """The LoRA shape of a release (adapter_config.json); dropout 0: inference."""
    path = folder / ADAPTER_CONFIG
    if not path.exists():
        raise ReleaseError(f"{path} missing: is {folder} the SEAGULL release folder?")
    raw = json.loads(path.read_text())
    targets = set(raw.get("target_modules") or [])
    if targets != set(LORA_TARGETS):
        raise ReleaseError(
            f"{path}: target_modules {sorted(targets)} differ from this model's {sorted(LORA_TARGETS)}"
        )
    return LoRAConfig(
        r=int(raw["r"]),
        alpha=int(raw["lora_alpha"]),
        dropout=0.0,
        modules_to_save=tuple(raw.get("modules_to_save") or ()),
    )


def release_config(
    paths: ReleasePaths, config: ModelConfig | None = None, prompts: str | None = None
) -> ModelConfig:
    """The model config of a release with its local paths filled in.

    The architecture comes from `config`, else from the `seagull` entry of an export's
    config.json, else the `paper` config (the authors' release). Prompts default to the
    authors' wording for the authors' release and to the config's for an export.
    """
    folder = Path(paths.weights)
    if not (folder / NON_LORA).exists():
        raise ReleaseError(f"{folder / NON_LORA} missing: --weights must be the SEAGULL release folder")
    meta = json.loads((folder / CONFIG).read_text()) if (folder / CONFIG).exists() else {}
    if config is None:
        config = (
            parse_config(meta["seagull"], folder / CONFIG) if "seagull" in meta else create_config("paper")
        )
        if "seagull" not in meta:
            config = dataclasses.replace(config, prompts="authors")
    base = Path(paths.base) if paths.base else folder / BASE_DIR
    if not base.is_dir():
        raise ReleaseError(f"LLM base folder {base} not found: give --base VICUNA_7B_V1.5_DIR")
    encoder = paths.encoder_weights or (folder / ENCODER_FILE if (folder / ENCODER_FILE).exists() else None)
    if encoder is None or not Path(encoder).is_file():
        raise ReleaseError(
            f"encoder weights {encoder or folder / ENCODER_FILE} not found: give --encoder-weights open_clip_pytorch_model.bin"
        )
    return dataclasses.replace(
        config,
        # a release's encoder is its file, loaded frozen (a tiny run's trained encoder was written there)
        encoder=dataclasses.replace(config.encoder, weights=str(encoder), trainable=False),
        llm=dataclasses.replace(config.llm, path=str(base), lora=lora_config_of(folder)),
        tokenizer_path=str(base),
        prompts=prompts or config.prompts,
    )


def load_release(
    paths: ReleasePaths,
    config: ModelConfig | None = None,
    prompts: str | None = None,
    dtype: torch.dtype = torch.bfloat16,
    device: str = "cpu",
) -> tuple[Seagull, Any]:
    """The released SEAGULL (or an export) from local paths, in eval mode, in `dtype`.

    The frozen LLM loads directly in `dtype` (Vicuna-7B in bf16: ~13.5 GB); every release
    tensor is converted and checked (module docstring).
    """
    config = release_config(paths, config, prompts)
    tokenizer = load_tokenizer(config.tokenizer_path)
    llm = build_llm(config.llm, tokenizer, dtype=dtype)
    try:
        model = Seagull(config, tokenizer, llm=llm)
    except EncoderWeightsError as error:  # the encoder file is part of the release: same error type
        raise ReleaseError(str(error)) from error
    folder = Path(paths.weights)
    state = convert_non_lora(
        torch.load(folder / NON_LORA, map_location="cpu", weights_only=True), model, folder / NON_LORA
    )
    adapter, adapter_path = _read_adapter(folder)
    state.update(convert_adapter(adapter, model, adapter_path))
    untouched = [n for n, p in model.named_parameters() if p.requires_grad and n not in state]
    if untouched:
        raise ReleaseError(
            f"{folder}: no tensor for this model's trainable {untouched[0]!r} ({len(untouched)} in all)"
        )
    model.load_state_dict(state, strict=False)
    return model.to(device=device, dtype=dtype).eval(), tokenizer
