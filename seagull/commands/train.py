"""`seagull train`: train SEAGULL (tiny or paper config) on SEAGULL-100w shards; resumes a killed run."""

from __future__ import annotations

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
def command(config_name, stage, shards, out, seed, max_steps, precision, init_from, device) -> None:  # noqa: ANN001
    """Train SEAGULL; re-running with the same --out resumes from OUT/checkpoint.pt.

    \b
    seagull train --config tiny --stage 1 --shards 'shards/seagull100w-*.tar' --out runs/tiny-stage1
    seagull train --config tiny --stage 2 --shards 'ft/*.tar' --out runs/tiny-stage2 \\
        --init-from runs/tiny-stage1/trainable.pt

    Writes OUT/log.jsonl (one line per logged step), OUT/checkpoint.pt, OUT/trainable.pt, OUT/run.json.
    """
    import torch

    from model.config import create_config
    from model.data import count_shard_items, open_shards
    from model.train import RunOptions, train

    config = create_config(config_name)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    options = RunOptions(
        stage=int(stage),
        seed=seed,
        max_steps=max_steps,
        precision=precision,
        init_from=init_from,
        device=device,
    )
    items = count_shard_items(shards)
    click.echo(f"{items} labelled ROIs per epoch in {shards}; config {config.name}, stage {stage}, {device}")
    records = train(config, lambda epoch: open_shards(shards, config), Path(out), options, total_items=items)
    if records:
        click.echo(
            f"step {records[-1]['step']}: loss {records[-1]['loss']:.4f}; weights in {Path(out) / 'trainable.pt'}"
        )
