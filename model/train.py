"""The training loop: AdamW, cosine schedule with warm-up, gradient accumulation, bf16 switch,
JSONL logs and checkpoints that resume where a killed run stopped.

Read top to bottom: `train` builds everything (or restores it from `<out>/checkpoint.pt`), then
`_run_steps` streams items (model/data.shuffled_items: seeded shuffle, the same on a resume),
accumulates micro-batches and steps the optimizer. An item is one conversation: one ROI, or up to
`train.rois_per_conversation` ROIs of one image (the encoder runs once for them); batch_size and
the data position count items, the logged samples/s counts ROIs.

Scale: with precision "bf16" the frozen LLM weights are stored in bf16 (the trainable parts stay
fp32 master weights) and the forward runs under bf16 autocast; `train.gradient_checkpointing`
recomputes the LLM blocks in backward. Under torch.distributed (torchrun, `seagull train --nproc`)
the model is wrapped in DistributedDataParallel: each rank reads its own shards (its `samples`),
the same number of items per epoch (`total_items`), and rank 0 writes the run folder. The loss of
a step is the mean over micro-batches (and ranks) of each micro-batch's token-mean loss, so N
ranks x batch b equals one process with batch b and N-step accumulation on the same items.

A checkpoint holds the trainable parameters (projector, MFE, LoRA, modules_to_save), optimizer,
scheduler, every RNG state and the data position (epoch, items consumed, and the
rois_per_conversation and rois_per_image that give the position its meaning). Frozen weights are not
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
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm
from transformers import get_cosine_schedule_with_warmup

from model.config import ModelConfig
from model.data import collate, count_conversations, shuffled_items
from model.regions import roi_count
from model.run_settings import SettingsChanged, changed_settings, flat_settings, run_settings, settings_tree
from model.seagull import Seagull

CHECKPOINT, WEIGHTS, LOG, RUN = "checkpoint.pt", "trainable.pt", "log.jsonl", "run.json"


@dataclass(frozen=True)
class RunOptions:
    """What one run changes besides the model config."""

    stage: int = 1  # 1: SEAGULL-100w pre-training; 2: fine-tuning
    seed: int = 0  # model init (tiny: every weight), instruction draws, RNG of dropout
    max_steps: int | None = None  # overrides the stage's cap on optimizer steps
    precision: str | None = None  # overrides train.precision ("fp32" | "bf16")
    init_from: str | None = None  # trainable.pt of an earlier stage (stage 2 starts from stage 1)
    device: str = "cpu"
    progress: bool = True  # tqdm bar


@dataclass
class _State:
    step: int = 0
    epoch: int = 0
    position: int = 0  # items (conversations) of `epoch` already consumed


SampleSource = Callable[[int], Iterable[dict[str, Any]]]  # epoch -> this rank's samples (decoded or light)


def build_for_precision(config: ModelConfig, precision: str, tokenizer=None) -> tuple[Seagull, Any]:
    """Model and tokenizer; with "bf16" the frozen LLM weights are bf16 and trainable ones fp32."""
    from model.llm import build_llm
    from model.tokenizer import load_tokenizer

    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(config.tokenizer_path)
    frozen = torch.bfloat16 if precision == "bf16" else torch.float32
    model = Seagull(config, tokenizer, llm=build_llm(config.llm, tokenizer, dtype=frozen))
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != torch.float32:
            parameter.data = parameter.data.float()  # fp32 master weights (LoRA, modules_to_save)
    return model, tokenizer


def prepare_model(config: ModelConfig, options: RunOptions) -> tuple[Seagull, Any]:
    """The model a run trains: built from the seed in the run's precision, initialised from an
    earlier stage, gradient checkpointing switched on as configured, on the run's device."""
    torch.manual_seed(options.seed)
    model, tokenizer = build_for_precision(config, options.precision or config.train.precision)
    if options.init_from:
        model.load_trainable_state(torch.load(options.init_from, map_location="cpu"))
    if config.train.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model.to(options.device), tokenizer


def _world() -> tuple[int, int]:
    """(rank, world size) of the torch.distributed process group, (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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
    rank, _ = _world()
    out.mkdir(parents=True, exist_ok=True)
    stage = config.train.stage(options.stage)
    model, tokenizer = prepare_model(config, options)
    per_conversation = config.train.rois_per_conversation
    items = (
        total_items
        if total_items is not None
        else count_conversations(samples(0), per_conversation, config.train.rois_per_image)
    )
    total_steps = _total_steps(
        items, stage.batch_size * stage.grad_accum, stage.epochs, options.max_steps or stage.max_steps
    )
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=config.train.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(
        optimizer, min(stage.warmup_steps, total_steps // 10 + 1), total_steps
    )
    state = (
        _restore(out, model, optimizer, scheduler, config, options, rank)
        if (out / CHECKPOINT).exists()
        else _State()
    )
    if rank == 0:
        _write_run(out, config, options, tokenizer, total_steps)
    return _run_steps(
        model, tokenizer, samples, optimizer, scheduler, state, total_steps, out, config, options, items
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
    epoch_items: int,
) -> list[dict[str, Any]]:
    stage = config.train.stage(options.stage)
    rank, world = _world()
    ddp = DistributedDataParallel(model) if world > 1 else None
    records: list[dict[str, Any]] = []
    bar = tqdm(
        total=total_steps,
        initial=state.step,
        disable=not options.progress or rank != 0,
        desc=f"stage {options.stage}",
    )
    started, seen = time.perf_counter(), 0
    while state.step < total_steps and state.epoch < stage.epochs:
        stream = shuffled_items(
            samples(state.epoch),
            config,
            options.stage,
            options.seed,
            state.epoch,
            skip=state.position,
            limit=epoch_items,
        )
        for micro in _micro_batches(stream, stage.batch_size, stage.grad_accum):
            loss = _step(model, ddp, tokenizer, micro, optimizer, scheduler, config, options)
            state.step += 1
            state.position += sum(len(m) for m in micro)
            seen += sum(roi_count(item) for m in micro for item in m) * world  # ROIs, on every rank alike
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")
            if rank == 0 and (state.step % config.train.log_every == 0 or state.step == total_steps):
                records.append(_log(out, state, loss, scheduler, seen / (time.perf_counter() - started)))
            if rank == 0 and state.step % config.train.checkpoint_every == 0:
                _save_checkpoint(out, model, optimizer, scheduler, state, config, options)
            if state.step >= total_steps:
                break
        else:  # the epoch's items ran out
            state.epoch, state.position = state.epoch + 1, 0
    bar.close()
    if rank == 0:
        _save_checkpoint(out, model, optimizer, scheduler, state, config, options)
        torch.save(model.trainable_state(), out / WEIGHTS)
    return records


def _step(
    model: Seagull,
    ddp: DistributedDataParallel | None,
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
    total = torch.zeros((), dtype=torch.float64)
    for index, items in enumerate(micro):
        batch = {
            k: v.to(device)
            for k, v in collate(items, tokenizer, model.image_tokens, config.llm.max_length).items()
        }
        # DDP averages gradients over ranks on the last micro-batch's backward only.
        sync = contextlib.nullcontext() if ddp is None or index == len(micro) - 1 else ddp.no_sync()
        with sync:
            with autocast:
                loss = (ddp or model)(batch).loss / len(micro)
            loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    if ddp is not None:  # the logged loss is the mean over ranks, as the gradient is
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        total /= dist.get_world_size()
    return float(total)


def _micro_batches(stream: Iterable[dict[str, Any]], size: int, accum: int):
    """Yield lists of up to `accum` micro-batches of up to `size` items until the stream ends."""
    stream = iter(stream)
    while True:
        micro = [m for m in (list(itertools.islice(stream, size)) for _ in range(accum)) if m]
        if not micro:
            return
        yield micro


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


def _save_checkpoint(
    out: Path, model: Seagull, optimizer, scheduler, state: _State, config: ModelConfig, options: RunOptions
) -> None:
    checkpoint = {
        "settings": run_settings(config, options),
        "trainable": model.trainable_state(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": asdict(state),
        "rois_per_conversation": config.train.rois_per_conversation,
        "rois_per_image": config.train.rois_per_image,
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()},
    }
    temporary = out / (CHECKPOINT + ".tmp")
    torch.save(checkpoint, temporary)
    temporary.replace(out / CHECKPOINT)  # atomic: a kill mid-save leaves the previous checkpoint


def _restore(
    out: Path, model: Seagull, optimizer, scheduler, config: ModelConfig, options: RunOptions, rank: int = 0
) -> _State:
    """Load a checkpoint and drop log lines written after it (the steps a killed run will redo).

    Raises:
        SettingsChanged: the checkpoint was written by a run with other settings (model/run_settings.py;
            an older checkpoint without them is compared with run.json), or counted its data
            position in conversations of another size, or of another number of ROIs per image.
    """
    checkpoint = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=False)
    saved = checkpoint.get("settings")
    if saved is None and (out / RUN).exists():  # a checkpoint from before settings were recorded
        run = json.loads((out / RUN).read_text())
        saved = flat_settings({"config": run["config"], "options": run["options"]})
    changes = changed_settings(saved, run_settings(config, options)) if saved else []
    if changes:
        raise SettingsChanged(
            f"{out / CHECKPOINT} was written by a run with other settings ({'; '.join(changes)}); resuming would "
            f"train one run's weights under another's settings. Rerun with the same settings, or train into a new "
            f"--out folder (or delete {out})"
        )
    # Checkpoints written before an option have its default (one ROI each, all ROIs of an image).
    for option, default in (("rois_per_conversation", 1), ("rois_per_image", None)):
        saved, now = checkpoint.get(option, default), getattr(config.train, option)
        if saved != now:
            raise SettingsChanged(
                f"{out / CHECKPOINT} was written with train.{option} {saved}, this run has {now}: "
                f"its data position counts other items. Resume with {option}: {saved} or train into "
                "a new --out folder"
            )
    model.load_trainable_state(checkpoint["trainable"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    random.setstate(checkpoint["rng"]["python"])
    np.random.set_state(checkpoint["rng"]["numpy"])
    state = _State(**checkpoint["state"])
    if rank == 0 and (out / LOG).exists():
        lines = [
            line for line in (out / LOG).read_text().splitlines() if json.loads(line)["step"] <= state.step
        ]
        (out / LOG).write_text("".join(line + "\n" for line in lines))
    return state


def _write_run(out: Path, config: ModelConfig, options: RunOptions, tokenizer, total_steps: int) -> None:
    """run.json (what evaluate/assess need to rebuild the model) and the tokenizer folder."""
    run = {**settings_tree(config, options), "total_steps": total_steps}
    (out / RUN).write_text(json.dumps(run, indent=2))
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
    precision = run["options"].get("precision") or config.train.precision
    model, tokenizer = build_for_precision(config, precision, tokenizer)
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
