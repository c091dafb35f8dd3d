"""Tiny SEAGULL on the CPU: training samples/s (fp32 and bf16), scoring ROIs/s, peak memory (fp32 vs
bf16-frozen, each measured in its own process), and training ROIs/s with one ROI per conversation against
all ROIs of an image per conversation (train.rois_per_conversation), with where the time goes.

Samples are synthetic but follow the loader's contract: skimage photographs at 1,024 x 683 px
(the build's working resolution), two labelled ROIs each (34, the paper's mean, for the ROIs per
conversation comparison), so the cost of resizing and cropping is counted. Ratios within one run
are what to compare (bf16 / fp32, scoring / training, several / one ROI per conversation).

Writes OUT/model.json. Usage: python bench/bench_model.py --out bench/results [--steps 20]
Only the ROIs per conversation part: ... --only-rois [--rois 34 --steps 4 --rounds 2] (OUT/model_rois.json)
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


def _striped(sample: dict, rois: int) -> dict:
    """`sample` with `rois` labelled ROIs: vertical stripes of its photo, alternately good and bad."""
    height, width = sample["image"].shape[-2:]
    masks = torch.zeros(rois, height, width, dtype=torch.bool)
    for index in range(rois):
        masks[index, :, index * width // rois : (index + 1) * width // rois] = True
    labels = [{**sample["rois"][index % 2], "roi_id": index} for index in range(rois)]
    return {**sample, "masks": masks, "rois": labels}


def _grouping_config(rois_per_conversation: int, batch_size: int, steps: int):
    config = create_config("tiny")
    stage = dataclasses.replace(config.train.stage1, batch_size=batch_size, epochs=1000, max_steps=steps)
    train = dataclasses.replace(
        config.train, stage1=stage, log_every=1, rois_per_conversation=rois_per_conversation
    )
    return dataclasses.replace(config, train=train)


def _training_rois_per_s(rois: int, steps: int, rounds: int) -> dict:
    """`seagull train`'s loop (model/train.train, tiny config as it is) on photos with `rois` ROIs
    each: one ROI per conversation (batch `rois` conversations) against all of a photo's ROIs per
    conversation (batch 1), so both steps see `rois` ROIs. Layouts alternate `rounds` times, so a
    change in the machine's load hits both. ROIs/s over steps 2..N: per wall second (the log's
    timestamps) and per CPU second of this process (what the other sessions' load hardly moves)."""
    import model.train as training

    samples = [_striped(sample, rois) for sample in _samples()]
    layouts = {"one_roi_per_conversation": (1, rois), "all_rois_in_one_conversation": (rois, 1)}
    timings: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in layouts}
    log = training._log

    def log_with_cpu(*args, **kwargs):
        return {**log(*args, **kwargs), "cpu_s": time.process_time()}

    training._log = log_with_cpu  # the returned records (not log.jsonl) carry the process CPU time
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_ in range(rounds):
                for name, (per_conversation, batch) in layouts.items():
                    config = _grouping_config(per_conversation, batch, steps)
                    out = Path(tmp) / f"{name}-{round_}"
                    records = train(config, lambda epoch: samples, out, RunOptions(progress=False))
                    done = rois * (len(records) - 1)
                    timings[name]["wall"].append(done / (records[-1]["time"] - records[0]["time"]))
                    timings[name]["cpu"].append(done / (records[-1]["cpu_s"] - records[0]["cpu_s"]))
    finally:
        training._log = log
    result = {"rois_per_image": rois, "steps": steps, "rounds": rounds, "rois_per_step": rois}
    for name, clocks in timings.items():
        result[name] = {
            f"rois_per_{clock}_s": {
                "rounds": [round(v, 2) for v in values],
                "mean": round(sum(values) / len(values), 2),
            }
            for clock, values in clocks.items()
        }
    for clock in ("wall", "cpu"):
        key = f"rois_per_{clock}_s"
        result[f"speed_up_{clock}"] = round(
            result["all_rois_in_one_conversation"][key]["mean"]
            / result["one_roi_per_conversation"][key]["mean"],
            2,
        )
    return result


def _timed(function, repeats: int) -> float:
    """CPU seconds of this process per call (after a warm-up call)."""
    function()
    started = time.process_time()
    for _ in range(repeats):
        function()
    return (time.process_time() - started) / repeats


def _where_the_time_goes(rois: int, repeats: int) -> dict:
    """CPU milliseconds per ROI of each part of a training step on one photo's `rois` ROIs, one ROI per
    conversation vs all in one (split where llm.max_length requires): reading the items (resize,
    mask, crop, instructions), collate (tokenizing), the visual side (encoder, projector, MFE)
    forward + backward (of which the frozen encoder's forward), the LLM forward + backward on the
    finished embeddings, the whole model's forward + backward. Also the wall seconds of a
    forward + backward of 8 ROIs with 1 and with 2 torch threads, alternated (on a busy machine
    OpenMP threads wait for each other)."""
    from model.data import collate, shuffled_items
    from model.seagull import build_model

    samples = [_striped(_samples()[0], rois)]
    torch.manual_seed(0)
    config = _grouping_config(1, rois, 1)
    model, tokenizer = build_model(config)
    model.train()
    result = {"rois": rois, "max_length": config.llm.max_length}
    for name, per_conversation in (("one_roi_per_conversation", 1), ("all_rois_in_one_conversation", rois)):
        layout = _grouping_config(per_conversation, rois, 1)
        items = list(shuffled_items(samples, layout, 1, 0, 0))
        batch = collate(items, tokenizer, model.image_tokens, config.llm.max_length)

        def visual(batch=batch):
            tokens = model.region_tokens(batch["images"], batch["masks"], batch["crops"], batch["roi_counts"])
            sum(t.sum() for t in tokens).backward()

        with torch.no_grad():
            embeds = model.embed(
                *(batch[k] for k in ("input_ids", "images", "masks", "crops")),
                batch["roi_counts"],
                batch["region_index"],
            )

        def llm(batch=batch, embeds=embeds):
            inputs = embeds.detach().requires_grad_()
            model.llm(
                inputs_embeds=inputs, attention_mask=batch["attention_mask"], labels=batch["labels"]
            ).loss.backward()

        def step(batch=batch):
            model(batch).loss.backward()

        def encoder(batch=batch):
            with torch.no_grad():
                model.encoder(batch["images"])

        parts = {
            "read_items": _timed(
                lambda layout=layout: list(shuffled_items(samples, layout, 1, 0, 0)), repeats
            ),
            "collate": _timed(
                lambda items=items: collate(items, tokenizer, model.image_tokens, config.llm.max_length),
                repeats,
            ),
            "encoder_fwd": _timed(encoder, repeats),  # frozen: no backward through it
            "visual_fwd_bwd": _timed(visual, repeats),
            "llm_fwd_bwd": _timed(llm, repeats),
            "model_fwd_bwd": _timed(step, repeats),
        }
        model.zero_grad(set_to_none=True)
        result[name] = {
            "sequences": int(batch["input_ids"].shape[0]),
            "tokens": int(batch["attention_mask"].sum()),
            "padded_tokens": int(batch["attention_mask"].numel()),
            "ms_per_roi": {part: round(1000 * seconds / rois, 1) for part, seconds in parts.items()},
        }
        if per_conversation == 1:  # 8 of the one-ROI conversations: 2 threads can be slow here
            eight = collate(items[:8], tokenizer, model.image_tokens, config.llm.max_length)
            result["wall_s_of_8_rois_fwd_bwd_by_threads"] = _wall_by_threads(
                lambda eight=eight: model(eight).loss.backward()
            )
    return result


def _wall_by_threads(function, rounds: int = 2) -> dict:
    """Wall seconds of `function` with 1 and 2 torch threads, alternated `rounds` times."""
    threads, walls = torch.get_num_threads(), {1: [], 2: []}
    function()  # warm-up
    try:
        for _ in range(rounds):
            for count in walls:
                torch.set_num_threads(count)
                started = time.perf_counter()
                function()
                walls[count].append(round(time.perf_counter() - started, 2))
    finally:
        torch.set_num_threads(threads)
    return {f"threads_{count}": values for count, values in walls.items()}


def _paper_llm_tokens(rois: int) -> dict:
    """LLM tokens per ROI at the `paper` config's shapes (1,024 image tokens, max_length 2,048), one
    ROI per conversation vs all of an image's ROIs (split to fit), stage 1 and 2. Counted with the
    offline word-level tokenizer, not Vicuna's (which splits words further): an estimate of the 7B
    LLM's work, whose cost grows with tokens; nothing runs the 7B model here."""
    import sys

    from model.conversation import encode_conversation
    from model.regions import fit_to_length, merge_rois
    from model.tokenizer import load_tokenizer

    tokenizer, paper = load_tokenizer(None), create_config("paper")
    image_tokens = (paper.image_size // 16) ** 2
    sample = _striped(_samples()[0], rois)
    result = {"image_tokens": image_tokens, "max_length": paper.llm.max_length}

    def tokens(turns):
        return len(encode_conversation(tokenizer, turns, image_tokens, sys.maxsize).input_ids)

    def fits(turns):
        return tokens(turns) <= paper.llm.max_length

    for stage in (1, 2):
        items = list(sample_items(sample, create_config("tiny"), stage=stage, seed=0, epoch=0))
        one = [tokens(item["turns"]) for item in items]
        grouped = [tokens(part["turns"]) for part in fit_to_length(merge_rois(items), fits)]
        result[f"stage{stage}"] = {
            "one_roi_per_conversation": {"sequences": len(one), "tokens_per_roi": round(sum(one) / rois)},
            "all_rois_in_one_conversation": {
                "sequences": len(grouped),
                "tokens_per_roi": round(sum(grouped) / rois),
            },
            "token_ratio": round(sum(one) / sum(grouped), 2),
        }
    return result


def _rois_per_conversation(rois: int, steps: int, rounds: int, repeats: int) -> dict:
    """One thread, so that a CPU second is a unit of work (no OpenMP spinning on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {
            "threads": 1,
            "training": _training_rois_per_s(rois, steps, rounds),
            "where_the_time_goes": _where_the_time_goes(rois, repeats),
            "paper_llm_tokens": _paper_llm_tokens(rois),
        }
    finally:
        torch.set_num_threads(threads)


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
        "--rois",
        type=int,
        default=34,
        help="ROIs per image for the per-conversation comparison (the paper's mean)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two layouts")
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
        result = _rois_per_conversation(args.rois, args.steps, args.rounds, 3)
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
        "rois_per_conversation": _rois_per_conversation(args.rois, min(args.steps, 8), args.rounds, 3),
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
