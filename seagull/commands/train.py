"""`seagull train`: train SEAGULL (tiny or paper config) on SEAGULL-100w shards; resumes a killed run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click


def _config_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A bundled config name or an existing YAML path; anything else is a usage error listing the names."""
    from model.config import list_configs

    if value in list_configs() or Path(value).is_file():
        return value
    raise click.BadParameter(
        f"unknown config {value!r}; choose one of: {', '.join(list_configs())}, or a YAML path"
    )


@click.command("train")
@click.option(
    "--config",
    "config_name",
    default="tiny",
    show_default=True,
    callback=_config_name,
    help="Model config: tiny, paper or a YAML path.",
)
@click.option(
    "--stage",
    default=1,
    show_default=True,
    type=click.Choice(["1", "2"]),
    help="1: pre-training, 2: fine-tuning.",
)
@click.option(
    "--shards", required=True, help="Shard glob, directory or brace pattern, e.g. 'shards/seagull100w-*.tar'."
)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Run folder (checkpoints, logs, weights)."
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed of model init and instruction draws."
)
@click.option("--max-steps", type=click.IntRange(1), help="Cap on optimizer steps (default: the config's).")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), help="Override the config's precision.")
@click.option(
    "--init-from", type=click.Path(dir_okay=False, exists=True), help="trainable.pt of a stage-1 run."
)
@click.option("--device", default=None, help="torch device (default: cuda if available, else cpu).")
@click.option(
    "--split",
    default="train",
    show_default=True,
    type=click.Choice(["train", "test", "all"]),
    help="Images to train on (split by reference image, pipeline/split.py).",
)
@click.option(
    "--nproc",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Processes (GPUs) for DistributedDataParallel, started with torchrun; each reads its own shards.",
)
def command(
    config_name, stage, shards, out, seed, max_steps, precision, init_from, device, split, nproc
) -> None:  # noqa: ANN001
    """Train SEAGULL; re-running with the same --out resumes from OUT/checkpoint.pt.

    \b
    seagull train --config tiny --stage 1 --shards 'shards/seagull100w-*.tar' --out runs/tiny-stage1
    seagull train --config tiny --stage 2 --shards 'ft/*.tar' --out runs/tiny-stage2 \\
        --init-from runs/tiny-stage1/trainable.pt

    Writes OUT/log.jsonl (one line per logged step), OUT/checkpoint.pt, OUT/trainable.pt, OUT/run.json.
    Global batch = batch_size x grad_accum (config) x --nproc. `torchrun --nproc-per-node N -m
    seagull.cli train ...` is the same as --nproc N.
    """
    if nproc > 1 and "LOCAL_RANK" not in os.environ:
        _relaunch_with_torchrun(nproc)
        return
    import torch
    import torch.distributed as dist

    from model.config import create_config
    from model.data import open_training_samples, rank_item_counts
    from model.run_settings import SettingsChanged
    from model.train import RunOptions, train

    config = create_config(config_name)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available() and device in (None, "cuda")
        device = f"cuda:{local}" if cuda else (device or "cpu")
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if cuda else "gloo")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    options = RunOptions(
        stage=int(stage),
        seed=seed,
        max_steps=max_steps,
        precision=precision,
        init_from=init_from,
        device=device,
    )
    counts = rank_item_counts(shards, config, world, split)
    items = min(counts)  # every rank runs the same number of steps
    if rank == 0:
        per_conversation = config.train.rois_per_conversation
        what = "labelled ROIs" if per_conversation == 1 else f"conversations of up to {per_conversation} ROIs"
        click.echo(
            f"{sum(counts)} {what} of the {split} split per epoch in {shards} ({items} per process x "
            f"{world}); config {config.name}, stage {stage}, {device}"
            + (
                f"; at most {config.train.rois_per_image} ROIs of each image"
                if config.train.rois_per_image
                else ""
            )
        )

    def samples(epoch: int):
        return open_training_samples(shards, config, seed, epoch, rank, world, split)

    try:
        records = train(config, samples, Path(out), options, total_items=items)
    except SettingsChanged as error:  # a finished or killed run of other settings is in --out
        raise click.ClickException(str(error)) from None
    finally:
        if world > 1:
            dist.destroy_process_group()
    if records:
        click.echo(
            f"step {records[-1]['step']}: loss {records[-1]['loss']:.4f}; weights in {Path(out) / 'trainable.pt'}"
        )


def _relaunch_with_torchrun(nproc: int) -> None:
    """Run this same command under torchrun with `nproc` processes (the --nproc option dropped)."""
    args, skip = [], False
    for arg in sys.argv[sys.argv.index("train") + 1 :]:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            args.append(arg)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    status = subprocess.call([*launcher, "-m", "seagull.cli", "train", *args])
    if status:
        raise click.ClickException(f"torchrun exited with status {status}")
