"""CPU bf16 inference of the `paper` architecture per ROI, measured with a shortened LLM and extrapolated.

The encoder (ConvNeXt-Large, 512 px), projector, MFE and LoRA (r = 128) are built at the paper's
full width with random weights; the LLM has Vicuna-7B's width (4,096, vocabulary 32,000) but only
`--layers` of its 32 decoder layers. `assess_items` (quality + importance closed-set scores and a
16-token greedy distortion answer: three prompts of ~1,100 tokens) runs on one ROI of a
1,024 x 683 photo. Time and memory of the full model are extrapolated layer-linearly:
  time = 3 x visual + (total - 3 x visual) x 32 / layers
  memory = peak RSS + (32 - layers) x bytes of one decoder layer with its LoRA, in bf16.

Usage: python bench/bench_release.py --out bench/results [--layers 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch
from skimage import data as skdata
from skimage.transform import resize

from model.config import create_config
from model.data import region_item
from model.llm import build_llm
from model.scoring import assess_items
from model.seagull import Seagull
from model.tokenizer import load_tokenizer

FULL_LAYERS = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args()
    config = create_config("paper", prompts="authors")
    llm_config = {**config.llm.config, "num_hidden_layers": args.layers}
    config = dataclasses.replace(config, llm=dataclasses.replace(config.llm, config=llm_config))
    torch.manual_seed(0)
    tokenizer = load_tokenizer(None)
    started = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)  # built in bf16 directly: no fp32 copy in the peak
    try:
        model = Seagull(config, tokenizer, llm=build_llm(config.llm, tokenizer, dtype=torch.bfloat16))
    finally:
        torch.set_default_dtype(torch.float32)
    model = model.to(torch.bfloat16).eval()
    build_s = time.perf_counter() - started
    photo = resize(skdata.astronaut()[..., :3], (683, 1024), anti_aliasing=True).astype(np.float32)
    mask = torch.zeros(683, 1024, dtype=torch.bool)
    mask[100:400, 150:600] = True
    item = region_item(torch.from_numpy(photo).permute(2, 0, 1).contiguous(), mask, config)
    with torch.no_grad():
        started = time.perf_counter()
        model.region_tokens(item["image"][None], item["mask"][None], item["crop"][None])
        visual_s = time.perf_counter() - started
    started = time.perf_counter()
    result = assess_items(model, tokenizer, [item])[0]
    total_s = time.perf_counter() - started
    layer = sum(p.numel() for p in model.llm.base_model.model.model.layers[0].parameters())
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    report = {
        "machine": "2-core CPU sandbox (shared)",
        "threads": torch.get_num_threads(),
        "llm_layers_built": args.layers,
        "build_s": round(build_s, 1),
        "visual_s_per_roi": round(visual_s, 2),
        "assess_s_per_roi": round(total_s, 1),
        "peak_rss_gib": round(peak_gib, 2),
        "params_per_layer_with_lora": layer,
        "extrapolated_32_layers": {
            "assess_s_per_roi": round(3 * visual_s + (total_s - 3 * visual_s) * FULL_LAYERS / args.layers, 0),
            "memory_gib": round(peak_gib + (FULL_LAYERS - args.layers) * layer * 2 / 2**30, 1),
        },
        "quality_level": result["quality_level"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "release_cpu.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
