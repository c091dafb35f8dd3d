"""`seagull evaluate`: the paper's metrics of a trained run on labelled shards, plus an NR baseline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from seagull.commands._options import load_model_from_options, model_source_options


@click.command("evaluate")
@model_source_options
@click.option("--shards", required=True, help="Shard glob, directory or brace pattern of the test set.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for eval.json, eval.md, predictions.jsonl.",
)
@click.option(
    "--split",
    default="test",
    show_default=True,
    type=click.Choice(["test", "train", "all"]),
    help="Images to evaluate on (split by reference image, pipeline/split.py); training reads 'train'.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    help="Evaluate N ROIs drawn evenly across images, types and levels (default: every labelled ROI).",
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
def command(
    shards,
    out,
    split,
    limit,
    batch_size,
    baseline,
    device,
    **model_source,  # the options of @model_source_options, read by load_model_from_options
) -> None:  # noqa: ANN001
    """Evaluate a trained SEAGULL as the paper does (Tables 1 and 2).

    \b
    seagull evaluate --run runs/tiny-stage1 --shards 'shards/seagull100w-*.tar' --out runs/tiny-stage1/eval
    """
    import torch

    from model.data import labelled_rois, open_shards
    from model.evaluate import (
        baseline_metrics,
        baseline_scores,
        collect_records,
        create_baseline,
        floor_comparison,
        markdown_table,
        score_metrics,
        stratified_selection,
    )

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_model_from_options(**model_source, device=device)
    config = model.config
    rois = labelled_rois(shards, config, split)
    select = stratified_selection(rois, limit) if limit and limit < len(rois) else None
    click.echo(f"{len(rois)} labelled ROIs in the {split} split; evaluating {len(select or rois)}")
    records = collect_records(
        model, tokenizer, open_shards(shards, config, split, select), config, batch_size, progress=True
    )
    if len(records) < 2:
        raise click.ClickException(
            f"{len(records)} labelled ROIs of the {split} split in {shards}: need at least 2 to correlate "
            "(--split all evaluates every image)"
        )
    result = score_metrics(records)
    result["split"] = split
    if baseline != "none":
        scores = baseline_scores(
            create_baseline(baseline), baseline, open_shards(shards, config, split, select), progress=True
        )
        result["baseline"] = {"name": baseline, **baseline_metrics(records, scores)}
    result["floors"] = floor_comparison(result)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(result, indent=2))
    (out / "eval.md").write_text(markdown_table(result))
    (out / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    click.echo(markdown_table(result))
