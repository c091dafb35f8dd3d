"""CPU time and memory per ROI of the released SEAGULL-7B, measured on a reduced model and extrapolated.

The full model (ConvNeXt-Large at 512 px, Vicuna-7B: 32 layers of width 4,096, LoRA r = 128) does
not run in minutes on a 2-core CPU in bf16, so this bench times the `paper` architecture at reduced
width — same image size (1,024 image tokens), same prompts (`--prompts authors`), hence the same
sequence lengths — and scales each part to full size:

1. Measure: `assess_items` on one ROI (quality + importance closed-set prompts, one 16-token greedy
   distortion answer; the encoder, projector and MFE run once per prompt). Forward hooks split the
   time into the visual part (encoder + projector + MFE), the decoder layers, the LM head and the
   rest (embedding, sampling loop, tokenisation).
2. Count: the FLOPs of each part for one prefill of the scoring prompt, for the reduced and the full
   model, both built on the meta device (torch.utils.flop_counter; no memory, no weights).
3. Rate: the achieved FLOP rate of a Linear at the reduced layer's shape and at Vicuna-7B's
   (gate_proj, 4,096 -> 11,008) on the same tokens, and of a ConvNeXt block of the encoder's third
   stage at reduced and at full width (768 channels); each part is corrected by its rate ratio
   (larger matrices usually run faster).
4. Extrapolate: full time = visual x visual FLOP ratio x conv rate ratio
                  + per-layer time x layer FLOP ratio x linear rate ratio x 32
                  + LM-head time x head FLOP ratio x linear rate ratio
                  + rest (unscaled).
   Memory = the full model's parameters in bf16 (counted on meta) + the reduced run's peak RSS
   less its own parameters (runtime and activations; an under-estimate of full-width activations).

Usage: nice -n 10 python bench/bench_release.py --out bench/results [--dtype bf16]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from skimage import data as skdata
from skimage.transform import resize
from timm.models.convnext import ConvNeXtBlock
from torch.utils.flop_counter import FlopCounterMode

from model.config import LoRAConfig, create_config
from model.conversation import encode_prompt
from model.data import region_item
from model.prompts import prompt_style
from model.scoring import assess_items
from model.seagull import Seagull
from model.tokenizer import load_tokenizer

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
FULL_LAYERS = 32
REDUCED_LAYERS = 2
# Width / 8 in the LLM (head size 128 kept, LoRA rank scaled alike), width / 4 and fewer blocks in the encoder.
REDUCED_LLM = {
    "vocab_size": 8000,
    "hidden_size": 512,
    "intermediate_size": 1376,
    "num_hidden_layers": REDUCED_LAYERS,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 4096,
}
REDUCED_ENCODER = {"depths": [1, 1, 3, 1], "dims": [48, 96, 192, 384]}


def reduced_config(full):
    """The paper config at reduced width: same image size, prompts and token counts."""
    llm = dataclasses.replace(full.llm, config=REDUCED_LLM, lora=LoRAConfig(r=16, alpha=32, dropout=0.0))
    encoder = dataclasses.replace(full.encoder, kwargs=REDUCED_ENCODER)
    return dataclasses.replace(full, encoder=encoder, mfe=dataclasses.replace(full.mfe, width=256), llm=llm)


def build(config, tokenizer, dtype, device="cpu") -> Seagull:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # built in the target dtype: no fp32 copy in the peak
    try:
        with torch.device(device):
            model = Seagull(config, tokenizer)
    finally:
        torch.set_default_dtype(previous)
    return model.to(dtype).eval() if device != "meta" else model


def decoder_layers(model: Seagull):
    return model.llm.base_model.model.model.layers


def part_flops(model: Seagull, prompt_length: int) -> dict[str, float]:
    """FLOPs of one prefill of a `prompt_length`-token prompt, by part, on the meta device."""
    size, local = model.config.image_size, model.config.mfe.local_size
    width = model.llm.config.hidden_size
    with torch.device("meta"), torch.no_grad():
        images, masks, crops = (
            torch.empty(1, 3, size, size),
            torch.empty(1, size, size),
            torch.empty(1, 3, local, local),
        )
        with FlopCounterMode(display=False) as visual:
            model.region_tokens(images, masks, crops, [1])
        embeds = torch.empty(1, prompt_length, width, dtype=next(model.llm.parameters()).dtype)
        with FlopCounterMode(display=False) as llm:
            model.llm(inputs_embeds=embeds)
    counts = {name: sum(ops.values()) for name, ops in llm.get_flop_counts().items()}
    layer = sum(v for name, v in counts.items() if name.endswith("layers.0"))
    head = sum(v for name, v in counts.items() if name.endswith("lm_head"))
    return {"visual": visual.get_total_flops(), "layer": layer, "lm_head": head}


def achieved_rate(module: torch.nn.Module, x: torch.Tensor, repeats: int = 2) -> float:
    """Achieved GFLOP/s of `module` on `x` (FLOPs counted by torch, time averaged over `repeats`)."""
    module = module.to(x.dtype).eval()
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            module(x)  # also the warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            module(x)
        seconds = (time.perf_counter() - started) / repeats
    return counter.get_total_flops() / seconds / 1e9


def calibration_rates(dtype) -> dict[str, float]:
    """GFLOP/s of a decoder layer's gate_proj (on 64 tokens) and of a ConvNeXt block of the encoder's
    third stage (32 x 32), at reduced and at full width; the full ones in fp32 too, for comparison."""
    tokens = torch.randn(64, REDUCED_LLM["hidden_size"])
    rates = {
        "linear_reduced": achieved_rate(
            torch.nn.Linear(REDUCED_LLM["hidden_size"], REDUCED_LLM["intermediate_size"], bias=False),
            tokens.to(dtype),
        )
    }
    channels = REDUCED_ENCODER["dims"][2]
    rates["conv_block_reduced"] = achieved_rate(
        ConvNeXtBlock(channels), torch.randn(1, channels, 32, 32, dtype=dtype)
    )
    for suffix, kind in (("", dtype), ("_fp32", torch.float32)):
        rates[f"linear_full{suffix}"] = achieved_rate(
            torch.nn.Linear(4096, 11008, bias=False), torch.randn(64, 4096, dtype=kind)
        )
        rates[f"conv_block_full{suffix}"] = achieved_rate(
            ConvNeXtBlock(768), torch.randn(1, 768, 32, 32, dtype=kind)
        )
    return rates


class PartTimer:
    """Wall time spent inside chosen modules' forward passes, by part."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def attach(self, module: torch.nn.Module, part: str) -> None:
        starts: list[float] = []
        module.register_forward_pre_hook(lambda *_: starts.append(time.perf_counter()))

        def stop(*_):
            self.seconds[part] += time.perf_counter() - starts.pop()
            self.calls[part] += 1

        module.register_forward_hook(stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    args = parser.parse_args()
    dtype = DTYPES[args.dtype]
    torch.manual_seed(0)
    full = create_config("paper", prompts="authors")
    small = reduced_config(full)
    tokenizer = load_tokenizer(None)
    load_before = os.getloadavg()

    model = build(small, tokenizer, dtype)
    photo = resize(skdata.astronaut()[..., :3], (683, 1024), anti_aliasing=True).astype(np.float32)
    mask = torch.zeros(683, 1024, dtype=torch.bool)
    mask[100:400, 150:600] = True
    item = region_item(torch.from_numpy(photo).permute(2, 0, 1).contiguous(), mask, small)
    timer = PartTimer()
    for module, part in (
        (model.encoder, "visual"),
        (model.projector, "visual"),
        (model.global_view, "visual"),
    ):
        timer.attach(module, part)
    timer.attach(model.local_view, "visual")
    for layer in decoder_layers(model):
        timer.attach(layer, "layers")
    timer.attach(model.llm.base_model.model.lm_head, "lm_head")
    started = time.perf_counter()
    result = assess_items(model, tokenizer, [item])[0]
    total_s = time.perf_counter() - started
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    small_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    measured = {
        "total_s": total_s,
        "visual_s": timer.seconds["visual"],
        "per_layer_s": timer.seconds["layers"] / REDUCED_LAYERS,
        "lm_head_s": timer.seconds["lm_head"],
    }
    measured["rest_s"] = total_s - measured["visual_s"] - timer.seconds["layers"] - measured["lm_head_s"]
    del model

    style = prompt_style("authors")
    prompt = encode_prompt(
        tokenizer, style.questions["quality"], style.answer_prefixes["quality"], 1024, style.image_prompt
    )
    flops = {
        name: part_flops(build(config, tokenizer, dtype, "meta"), len(prompt))
        for name, config in (("reduced", small), ("full", full))
    }
    ratio = {part: flops["full"][part] / flops["reduced"][part] for part in flops["full"]}
    full_meta = build(full, tokenizer, dtype, "meta")
    full_params = sum(p.numel() for p in full_meta.parameters())
    element = torch.empty((), dtype=dtype).element_size()
    del full_meta

    rates = calibration_rates(dtype)
    llm_rate = rates["linear_reduced"] / rates["linear_full"]
    visual_rate = rates["conv_block_reduced"] / rates["conv_block_full"]
    scaled = {
        "visual_s": measured["visual_s"] * ratio["visual"] * visual_rate,
        "layers_s": measured["per_layer_s"] * ratio["layer"] * llm_rate * FULL_LAYERS,
        "lm_head_s": measured["lm_head_s"] * ratio["lm_head"] * llm_rate,
        "rest_s": measured["rest_s"],
    }
    report = {
        "machine": "2-core CPU sandbox (AMD EPYC, AVX2, no AVX512-BF16/AMX), shared with other jobs",
        "load_average_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "prompt_tokens": len(prompt),
        "reduced_model": {
            "llm": REDUCED_LLM,
            "lora_r": 16,
            "encoder": REDUCED_ENCODER,
            "mfe_width": 256,
            "parameters": sum(p.numel() for p in build(small, tokenizer, dtype, "meta").parameters()),
        },
        "measured_reduced_s_per_roi": {k: round(v, 2) for k, v in measured.items()},
        "calls_per_roi": dict(timer.calls),
        "prefill_gflop": {m: {k: round(v / 1e9, 2) for k, v in f.items()} for m, f in flops.items()},
        "flop_ratio_full_over_reduced": {k: round(v, 1) for k, v in ratio.items()},
        "calibration_gflops_per_s": {k: round(v, 2) for k, v in rates.items()},
        "rate_ratio_reduced_over_full": {"llm": round(llm_rate, 3), "visual": round(visual_rate, 3)},
        "extrapolated_full_s_per_roi": {
            **{k: round(v, 1) for k, v in scaled.items()},
            "total_s": round(sum(scaled.values()), 0),
        },
        "full_parameters": full_params,
        "extrapolated_full_memory_gib": round(
            (full_params * element + max(peak_gib * 2**30 - small_bytes, 0)) / 2**30, 1
        ),
        "reduced_peak_rss_gib": round(peak_gib, 2),
        "quality_level": result["quality_level"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"release_cpu_{args.dtype}.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
