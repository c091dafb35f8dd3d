"""Tiny SEAGULL on the CPU: training samples/s (fp32 and bf16), scoring ROIs/s, peak memory (fp32 vs
bf16-frozen, each measured in its own process), and training ROIs/s with one ROI per conversation against
several ROIs of an image per conversation.

Samples are synthetic but follow the loader's contract: skimage photographs at 1,024 x 683 px
(the build's working resolution), two labelled ROIs each, so the cost of resizing and cropping
is counted. Ratios within one run are what to compare (bf16 / fp32, scoring / training).

Writes OUT/model.json. Usage: python bench/bench_model.py --out bench/results [--steps 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from skimage import data as skdata
from skimage.transform import resize

from model.config import create_config
from model.data import sample_items
from model.scoring import assess_items
from model.train import RunOptions, load_trained, read_log, train
from pipeline.levels import level_word

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def _samples() -> list[dict]:
    samples = []
    for index, name in enumerate(PHOTOS):
        photo = resize(getattr(skdata, name)()[..., :3], (683, 1024), anti_aliasing=True).astype(np.float32)
        masks = np.zeros((2, 683, 1024), bool)
        masks[0, 100:400, 150:600], masks[1, 350:650, 500:1000] = True, True
        rois = [
            {
                "roi_id": r,
                "quality": q,
                "quality_level": level_word("quality", q),
                "importance": 1 - q,
                "importance_level": level_word("importance", 1 - q),
                "distortion": "blur",
                "severity": 0.5,
                "severity_level": "moderate",
            }
            for r, q in enumerate((0.8, 0.3))
        ]
        samples.append(
            {
                "key": f"{name}_blur_{index:02d}",
                "ref_id": name,
                "dist_type": "blur",
                "level": 10,
                "image": torch.from_numpy(photo).permute(2, 0, 1).contiguous(),
                "masks": torch.from_numpy(masks),
                "rois": rois,
            }
        )
    return samples


def _train(samples: list[dict], steps: int, precision: str, out: Path) -> dict:
    config = create_config("tiny")
    stage = dataclasses.replace(config.train.stage1, epochs=1000)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, stage1=stage, log_every=1))
    started = time.perf_counter()
    train(
        config, lambda epoch: samples, out, RunOptions(max_steps=steps, precision=precision, progress=False)
    )
    seconds = time.perf_counter() - started
    log = read_log(out)
    steady = log[-1]["time"] - log[0]["time"]  # steps 2..N: model building and the first step left out
    items = stage.batch_size * (len(log) - 1)
    return {
        "steps": steps,
        "batch_size": stage.batch_size,
        "seconds_total": round(seconds, 2),
        "samples_per_s": round(items / steady, 2),
        "first_loss": log[0]["loss"],
        "last_loss": log[-1]["loss"],
    }


def _score(samples: list[dict], run: Path) -> dict:
    model, tokenizer = load_trained(run)
    items = [item for sample in samples for item in sample_items(sample, model.config, 2, 0, 0)]
    assess_items(model, tokenizer, items[:2])  # warm-up
    started = time.perf_counter()
    assess_items(model, tokenizer, items)
    return {"rois": len(items), "rois_per_s": round(len(items) / (time.perf_counter() - started), 2)}


def _rois_per_conversation(rois: int, repeats: int) -> dict:
    """Forward + backward ROIs/s of the tiny model: `rois` ROIs of one 1,024 x 683 photo, as `rois`
    one-ROI conversations (the encoder runs `rois` times) or one conversation about all of them
    (the encoder runs once, the image tokens appear once; model/regions.py)."""
    from model.data import collate, sample_items
    from model.regions import group_by_image
    from model.seagull import build_model

    config = create_config("tiny")
    config = dataclasses.replace(
        config, llm=dataclasses.replace(config.llm, max_length=4096)
    )  # nothing dropped
    torch.manual_seed(0)
    model, tokenizer = build_model(config)
    sample = _samples()[0]
    height, width = sample["image"].shape[-2:]
    masks = torch.zeros(rois, height, width, dtype=torch.bool)
    for index in range(rois):  # vertical stripes
        masks[index, :, index * width // rois : (index + 1) * width // rois] = True
    sample = {**sample, "masks": masks, "rois": [{**sample["rois"][0], "roi_id": i} for i in range(rois)]}
    items = list(sample_items(sample, config, stage=1, seed=0, epoch=0))
    layouts = {
        "one_roi_per_conversation": items,
        "rois_in_one_conversation": list(group_by_image(items, rois)),
    }
    result = {"rois": rois}
    for name, batch_items in layouts.items():
        batch = collate(batch_items, tokenizer, model.image_tokens, config.llm.max_length)
        model.train()
        model(batch).loss.backward()  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            model.zero_grad(set_to_none=True)
            model(batch).loss.backward()
        seconds = (time.perf_counter() - started) / repeats
        result[name] = {
            "sequences": len(batch_items),
            "tokens": int(batch["attention_mask"].sum()),
            "rois_per_s": round(rois / seconds, 2),
        }
    result["speed_up"] = round(
        result["rois_in_one_conversation"]["rois_per_s"] / result["one_roi_per_conversation"]["rois_per_s"], 2
    )
    return result


def _memory_probe(precision: str, steps: int) -> dict:
    """In this process: train `steps` steps in `precision`; peak RSS and the model's tensor bytes."""
    from model.train import build_for_precision

    torch.manual_seed(0)
    model, _ = build_for_precision(create_config("tiny"), precision)
    state: dict[str, int] = {}
    for parameter in model.parameters():
        kind = "trainable" if parameter.requires_grad else f"frozen_{str(parameter.dtype).split('.')[-1]}"
        state[kind] = state.get(kind, 0) + parameter.numel() * parameter.element_size()
    with tempfile.TemporaryDirectory() as tmp:
        _train(_samples(), steps, precision, Path(tmp) / precision)
    return {
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "parameter_mib": {k: round(v / 2**20, 3) for k, v in sorted(state.items())},
    }


def _peak_memory(steps: int) -> dict:
    """fp32 vs bf16-frozen (frozen LLM weights bf16, trainable fp32), each in a fresh process so
    that one's peak does not hide the other's."""
    result = {}
    for precision in ("fp32", "bf16"):
        output = subprocess.run(
            [sys.executable, __file__, "--memory-probe", precision, "--steps", str(steps), "--out", "."],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result[precision] = json.loads(output.strip().splitlines()[-1])
    result["bf16_over_fp32_peak_rss"] = round(
        result["bf16"]["peak_rss_mib"] / result["fp32"]["peak_rss_mib"], 3
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--rois", type=int, default=8, help="ROIs of one image for the per-conversation comparison"
    )
    parser.add_argument(
        "--only-rois", action="store_true", help="run only the ROIs-per-conversation comparison"
    )
    parser.add_argument("--memory-probe", choices=("fp32", "bf16"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        print(
            json.dumps(_memory_probe(args.memory_probe, max(2, min(args.steps, 3))))
        )  # 2+: _train times steps 2..N
        return
    if args.only_rois:
        result = {"threads": torch.get_num_threads(), **_rois_per_conversation(args.rois, 3)}
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "model_rois.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        return
    torch.manual_seed(0)
    samples = _samples()
    tracemalloc.start()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = _train(samples, args.steps, "fp32", Path(tmp) / "fp32")
        bf16 = _train(samples, args.steps, "bf16", Path(tmp) / "bf16")
        scoring = _score(samples, Path(tmp) / "fp32")
    _, python_peak = tracemalloc.get_traced_memory()
    result = {
        "config": "tiny",
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "train_fp32": fp32,
        "train_bf16": bf16,
        "scoring": scoring,
        "bf16_over_fp32_speed": round(bf16["samples_per_s"] / fp32["samples_per_s"], 3),
        "rois_per_conversation": _rois_per_conversation(args.rois, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_memory_fp32_vs_bf16_frozen": _peak_memory(args.steps),
        "peak_python_heap_mib": round(
            python_peak / 2**20, 1
        ),  # tracemalloc: Python objects, not torch tensors
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
