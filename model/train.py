"""The training loop: AdamW, cosine schedule with warm-up, gradient accumulation, bf16 switch,
JSONL logs and checkpoints that resume where a killed run stopped.

Read top to bottom: `train` builds everything (or restores it from `<out>/checkpoint.pt`), then
`_run_steps` streams items, accumulates micro-batches and steps the optimizer.

A checkpoint holds the trainable parameters (projector, MFE, LoRA, modules_to_save), optimizer,
scheduler, every RNG state and the data position (epoch, items consumed). Frozen weights are not
saved: they come from their files (paper) or from the seed (tiny, random weights), which is why
the model is always built under `torch.manual_seed(seed)`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm
from transformers import get_cosine_schedule_with_warmup

from model.config import ModelConfig
from model.data import collate, stream_items
from model.seagull import Seagull, build_model

CHECKPOINT, WEIGHTS, LOG, RUN = "checkpoint.pt", "trainable.pt", "log.jsonl", "run.json"


@dataclass(frozen=True)
class RunOptions:
    """What one run changes besides the model config."""

    stage: int = 1  # 1: SEAGULL-100w pre-training; 2: fine-tuning
    seed: int = 0  # model init (tiny: every weight), instruction draws, RNG of dropout
    max_steps: int | None = None  # overrides the stage's cap on optimizer steps
    precision: str | None = None  # overrides train.precision ("fp32" | "bf16")
    init_from: str | None = None  # trainable.pt of an earlier stage (stage 2 starts from stage 1)
    stop_after: int | None = None  # stop after this many steps WITHOUT a checkpoint: a simulated kill
    device: str = "cpu"
    progress: bool = True  # tqdm bar


@dataclass
class _State:
    step: int = 0
    epoch: int = 0
    position: int = 0  # items of `epoch` already consumed


SampleSource = Callable[[int], Iterable[dict[str, Any]]]  # epoch -> decoded samples (shard order)


def train(
    config: ModelConfig,
    samples: SampleSource,
    out: Path,
    options: RunOptions = RunOptions(),
    total_items: int | None = None,
) -> list[dict[str, Any]]:
    """Train (or resume training) and return the log records of this call.

    Args:
        config: the model config.
        samples: epoch -> iterable of decoded samples (pipeline.shards.loader contract).
        out: run folder: checkpoint.pt, trainable.pt, log.jsonl, run.json, tokenizer/.
        options: stage, seed, caps and switches.
        total_items: items per epoch, for the schedule's length (counted from `samples` if None).
    """
    out.mkdir(parents=True, exist_ok=True)
    stage = config.train.stage(options.stage)
    torch.manual_seed(options.seed)
    model, tokenizer = build_model(config)
    if options.init_from:
        model.load_trainable_state(torch.load(options.init_from, map_location="cpu"))
    model.to(options.device)
    items = total_items if total_items is not None else count_items(samples(0))
    total_steps = _total_steps(
        items, stage.batch_size * stage.grad_accum, stage.epochs, options.max_steps or stage.max_steps
    )
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=config.train.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(
        optimizer, min(stage.warmup_steps, total_steps // 10 + 1), total_steps
    )
    state = _restore(out, model, optimizer, scheduler) if (out / CHECKPOINT).exists() else _State()
    _write_run(out, config, options, tokenizer, total_steps)
    return _run_steps(
        model, tokenizer, samples, optimizer, scheduler, state, total_steps, out, config, options
    )


def _run_steps(
    model: Seagull,
    tokenizer,
    samples: SampleSource,
    optimizer,
    scheduler,
    state: _State,
    total_steps: int,
    out: Path,
    config: ModelConfig,
    options: RunOptions,
) -> list[dict[str, Any]]:
    stage = config.train.stage(options.stage)
    records: list[dict[str, Any]] = []
    bar = tqdm(
        total=total_steps, initial=state.step, disable=not options.progress, desc=f"stage {options.stage}"
    )
    started, seen = time.perf_counter(), 0
    while state.step < total_steps and state.epoch < stage.epochs:
        stream = stream_items(
            samples(state.epoch), config, options.stage, options.seed, state.epoch, skip=state.position
        )
        for micro in _micro_batches(stream, stage.batch_size, stage.grad_accum):
            loss = _step(model, tokenizer, micro, optimizer, scheduler, config, options)
            state.step += 1
            state.position += sum(len(m) for m in micro)
            seen += sum(len(m) for m in micro)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
            if state.step % config.train.log_every == 0 or state.step == total_steps:
                records.append(_log(out, state, loss, scheduler, seen / (time.perf_counter() - started)))
            if options.stop_after is not None and state.step >= options.stop_after:
                bar.close()
                return records  # a simulated kill: no checkpoint, no weights
            if state.step % config.train.checkpoint_every == 0:
                _save_checkpoint(out, model, optimizer, scheduler, state)
            if state.step >= total_steps:
                break
        else:  # the epoch's items ran out
            state.epoch, state.position = state.epoch + 1, 0
    bar.close()
    _save_checkpoint(out, model, optimizer, scheduler, state)
    torch.save(model.trainable_state(), out / WEIGHTS)
    return records


def _step(
    model: Seagull,
    tokenizer,
    micro: list[list[dict[str, Any]]],
    optimizer,
    scheduler,
    config: ModelConfig,
    options: RunOptions,
) -> float:
    """One optimizer step over gradient-accumulated micro-batches; returns the mean loss."""
    model.train()
    precision = options.precision or config.train.precision
    device = torch.device(options.device)
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    )
    total = 0.0
    for items in micro:
        batch = {
            k: v.to(device)
            for k, v in collate(items, tokenizer, model.image_tokens, config.llm.max_length).items()
        }
        with autocast:
            loss = model(batch).loss / len(micro)
        loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return total


def _micro_batches(stream: Iterable[dict[str, Any]], size: int, accum: int):
    """Yield lists of up to `accum` micro-batches of up to `size` items until the stream ends."""
    stream = iter(stream)
    while True:
        micro = [m for m in (list(itertools.islice(stream, size)) for _ in range(accum)) if m]
        if not micro:
            return
        yield micro


def count_items(samples: Iterable[dict[str, Any]]) -> int:
    """Labelled ROIs (= training items) in one epoch of samples."""
    return sum(sum("quality_level" in roi for roi in sample["rois"]) for sample in samples)


def _total_steps(items: int, per_step: int, epochs: int, cap: int | None) -> int:
    steps = epochs * math.ceil(items / per_step)
    if steps == 0:
        raise ValueError("no labelled ROIs in the shards: build them with labels (make shards)")
    return min(steps, cap) if cap else steps


def _log(out: Path, state: _State, loss: float, scheduler, samples_per_s: float) -> dict[str, Any]:
    record = {
        "step": state.step,
        "epoch": state.epoch,
        "loss": loss,
        "lr": scheduler.get_last_lr()[0],
        "samples_per_s": round(samples_per_s, 3),
        "time": time.time(),
    }
    with open(out / LOG, "a") as log:
        log.write(json.dumps(record) + "\n")
    return record


def _save_checkpoint(out: Path, model: Seagull, optimizer, scheduler, state: _State) -> None:
    checkpoint = {
        "trainable": model.trainable_state(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": asdict(state),
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()},
    }
    temporary = out / (CHECKPOINT + ".tmp")
    torch.save(checkpoint, temporary)
    temporary.replace(out / CHECKPOINT)  # atomic: a kill mid-save leaves the previous checkpoint


def _restore(out: Path, model: Seagull, optimizer, scheduler) -> _State:
    """Load a checkpoint and drop log lines written after it (the steps a killed run will redo)."""
    checkpoint = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=False)
    model.load_trainable_state(checkpoint["trainable"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    random.setstate(checkpoint["rng"]["python"])
    np.random.set_state(checkpoint["rng"]["numpy"])
    state = _State(**checkpoint["state"])
    if (out / LOG).exists():
        lines = [
            line for line in (out / LOG).read_text().splitlines() if json.loads(line)["step"] <= state.step
        ]
        (out / LOG).write_text("".join(line + "\n" for line in lines))
    return state


def _write_run(out: Path, config: ModelConfig, options: RunOptions, tokenizer, total_steps: int) -> None:
    """run.json (what evaluate/assess need to rebuild the model) and the tokenizer folder."""
    run = {"config": asdict(config), "options": asdict(options), "total_steps": total_steps}
    (out / RUN).write_text(json.dumps(run, indent=2, default=list))
    tokenizer.save_pretrained(out / "tokenizer")


def load_trained(out: Path, device: str = "cpu") -> tuple[Seagull, Any]:
    """Rebuild a trained model from its run folder (run.json, tokenizer/, trainable.pt), in eval mode."""
    from transformers import PreTrainedTokenizerFast

    from model.config import parse_config

    for name in (RUN, WEIGHTS):
        if not (out / name).exists():
            raise FileNotFoundError(
                f"{out / name} missing: is {out} the --out folder of a finished `seagull train`?"
            )
    run = json.loads((out / RUN).read_text())
    config = parse_config(config_to_raw(run["config"]), out / RUN)
    tokenizer = (
        PreTrainedTokenizerFast.from_pretrained(out / "tokenizer") if config.tokenizer_path is None else None
    )
    torch.manual_seed(run["options"]["seed"])  # the frozen random weights of a tiny model come from it
    model, tokenizer = build_model(config, tokenizer)
    model.load_trainable_state(torch.load(out / WEIGHTS, map_location="cpu"))
    return model.to(device).eval(), tokenizer


def config_to_raw(config: dict[str, Any]) -> dict[str, Any]:
    """asdict(ModelConfig) -> the YAML layout parse_config reads (tokenizer_path -> tokenizer.path)."""
    raw = dict(config)
    raw["tokenizer"] = {"path": raw.pop("tokenizer_path")}
    return raw


def read_log(out: Path) -> list[dict[str, Any]]:
    """The JSONL log of a run folder as a list of records."""
    return [json.loads(line) for line in (out / LOG).read_text().splitlines()]
