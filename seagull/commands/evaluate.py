"""`seagull evaluate`: the paper's metrics of a trained run on labelled shards, plus an NR baseline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from seagull.commands._options import run_dir_option


@click.command("evaluate")
@run_dir_option
@click.option("--shards", required=True, help="Shard glob, directory or brace pattern of the test set.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for eval.json, eval.md, predictions.jsonl.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    help="Evaluate only the first N ROIs (default: every labelled ROI of the shards).",
)
@click.option(
    "--batch-size",
    default=8,
    show_default=True,
    type=click.IntRange(1),
    help="ROIs assessed per forward pass (memory grows with it).",
)
@click.option(
    "--baseline",
    default="piqe",
    show_default=True,
    help="Weight-free pyiqa NR metric on ROI crops, or 'none'.",
)
@click.option("--device", default=None, help="torch device (default: cuda if available, else cpu).")
def command(run_dir, shards, out, limit, batch_size, baseline, device) -> None:  # noqa: ANN001
    """Evaluate a trained SEAGULL as the paper does (Tables 1 and 2).

    \b
    seagull evaluate --run runs/tiny-stage1 --shards 'shards/seagull100w-*.tar' --out runs/tiny-stage1/eval
    """
    import torch

    from model.data import open_shards
    from model.evaluate import (
        baseline_metrics,
        baseline_scores,
        collect_records,
        create_baseline,
        markdown_table,
        score_metrics,
    )
    from model.train import load_trained

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_trained(Path(run_dir), device)
    records = collect_records(
        model, tokenizer, open_shards(shards, model.config), model.config, batch_size, limit, progress=True
    )
    if len(records) < 2:
        raise click.ClickException(f"{len(records)} labelled ROIs in {shards}: need at least 2 to correlate")
    result = score_metrics(records)
    if baseline != "none":
        scores = baseline_scores(
            create_baseline(baseline),
            baseline,
            open_shards(shards, model.config),
            len(records),
            progress=True,
        )
        result["baseline"] = {"name": baseline, **baseline_metrics(records, scores)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(result, indent=2))
    (out / "eval.md").write_text(markdown_table(result))
    (out / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    click.echo(markdown_table(result))
