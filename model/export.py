"""`seagull export`: a trained run written in the authors' release layout (model/release.py).

The LoRA adapter is written by peft itself (`adapter_model.safetensors`, `adapter_config.json`),
the projector and MFE under the authors' names with their trainer's prefix
(`non_lora_trainables.bin`), and `config.json` with the LLM config, the authors' `mm_*` fields
and this project's model config. A run whose frozen parts have no files of their own (tiny:
random weights from the seed) also gets them: `base/` (LLM + tokenizer) and
`open_clip_pytorch_model.bin` (the encoder, OpenCLIP layout), so the folder loads on its own.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from transformers import LlamaForCausalLM

from model.release import (
    BASE_DIR,
    CONFIG,
    ENCODER_FILE,
    NON_LORA,
    TENSOR_TABLE,
    TRAINER_PREFIX,
    _llm_full_targets,
)
from model.train import config_to_raw, load_trained


def export_run(run: Path, out: Path) -> list[str]:
    """Write the run folder `run` (a finished `seagull train`) to `out`; returns the files written."""
    model, tokenizer = load_trained(Path(run))
    config = model.config
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.llm.save_pretrained(out)  # peft: adapter_model.safetensors + adapter_config.json
    state = model.state_dict()
    non_lora = {TRAINER_PREFIX + authors: state[ours].clone() for authors, ours in TENSOR_TABLE.items()}
    trained_in_full = {n for n, p in model.named_parameters() if p.requires_grad}
    for authors, ours in _llm_full_targets(model).items():
        if ours in trained_in_full:
            non_lora[TRAINER_PREFIX + authors] = state[ours].clone()
    torch.save(non_lora, out / NON_LORA)
    written = ["adapter_model.safetensors", "adapter_config.json", NON_LORA, CONFIG]
    portable = dataclasses.replace(
        config,
        encoder=dataclasses.replace(config.encoder, weights=None, trainable=False),  # written to ENCODER_FILE
        llm=dataclasses.replace(config.llm, path=None),
        tokenizer_path=None,
    )
    if config.llm.path is None:
        _write_base(model, tokenizer, out / BASE_DIR)
        written.append(BASE_DIR + "/")
    if config.encoder.weights is None:
        torch.save(model.encoder.trunk_state_dict(), out / ENCODER_FILE)
        written.append(ENCODER_FILE)
    llm_config = model.llm.get_base_model().config.to_dict()
    meta = {
        **llm_config,
        "model_type": "seagull",
        "architectures": ["SeagullLlamaForCausalLM"],
        "mm_vision_tower": config.encoder.weights or ENCODER_FILE,
        "mm_projector_type": config.projector,
        "mm_hidden_size": model.encoder.channels[config.encoder.image_level],
        "mm_use_im_start_end": False,
        "mm_use_im_patch_token": False,
        "seagull": config_to_raw(dataclasses.asdict(portable)),
    }
    (out / CONFIG).write_text(json.dumps(meta, indent=2, default=list))
    return written


def _write_base(model, tokenizer, folder: Path) -> None:
    """The frozen LLM without LoRA (the base weights under the adapters) and the tokenizer."""
    base = model.llm.get_base_model()
    weights = {}
    for name, value in base.state_dict().items():
        if "lora_" in name or ".modules_to_save." in name:
            continue
        weights[name.replace(".base_layer.", ".").replace(".original_module.", ".")] = value
    plain = LlamaForCausalLM(base.config)
    plain.load_state_dict(weights, strict=True)
    plain.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
