"""`seagull label --render-dir RENDERS --masks-dir MASKS --out OUT`: ROI labels of every rendered variant.

Reads the release layout of `seagull render` (`pipeline.release`, either layout) and the ROI files of
`seagull masks` (<ref_id>.json), and writes OUT/labels.jsonl (one record per variant and ROI: ref_id +
the labels contract), labels.parquet, provenance.json and quality_by_level.png. With --calibrate it
writes calibration.json (suggested metrics.yaml constants) instead. Either way it writes
label_report.json (what was done, what failed and why, as `seagull render` does). The work is
`pipeline.stage_runs.label_folder`, the build's own labels stage. A reference without its ROI file, or
that fails, is reported and skipped; the exit status is 1 then.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline import defaults
from seagull.commands._folders import folder_option, pick_folder
from seagull.commands._report import finish

if TYPE_CHECKING:
    from pipeline.labels import LabelMetric


@click.command("label")
@folder_option(
    "render-dir", "RENDER_DIR", "A `seagull render` output (Ref.Images/, Dist.Images/).", exists=True
)
@folder_option("masks-dir", "MASKS_DIR", "A `seagull masks` output (<ref_id>.json).", exists=True)
@folder_option("out", "OUT_DIR", "Output folder (labels.jsonl, labels.parquet, label_report.json ...).")
@click.option(
    "--metric",
    "metric_name",
    default=None,
    help=f"Label metric registry name (default: {defaults.METRIC}, weight-free).",
)
@click.option(
    "--metric-weights",
    "weights",
    type=click.Path(dir_okay=False),
    help="Metric weights, e.g. cfanet_fr_kadid_res50-2c4cc61d.pth for topiq_fr (as `seagull build`).",
)
@click.option(
    "--weights",
    "old_weights",
    type=click.Path(dir_okay=False),
    hidden=True,
    deprecated="use --metric-weights, the name `seagull build` uses",
)
@click.option("--device", default="cpu", show_default=True, help="torch device of the metric.")
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's own choice).")
@click.option(
    "--calibrate",
    is_flag=True,
    help="Write calibration.json instead of labels: `worst` fitted on half of the references, "
    "label word shares on both halves (they must agree within 5 points).",
)
def command(
    render_dir: Path | None,
    old_render_dir: Path | None,
    masks_dir: Path | None,
    old_masks_dir: Path | None,
    out: Path | None,
    old_out: Path | None,
    metric_name: str | None,
    weights: str | None,
    old_weights: str | None,
    device: str,
    threads: int | None,
    calibrate: bool,
) -> None:
    """Label every (variant, ROI) of the references in --render-dir.

    \b
    seagull label --render-dir renders/ --masks-dir masks/ --out labels/          # weight-free default
    seagull label --render-dir renders/ --masks-dir masks/ --out labels/ \\
        --metric topiq_fr --metric-weights cfanet_fr_kadid_res50-2c4cc61d.pth

    RENDER_DIR MASKS_DIR OUT_DIR: the positional form of --render-dir --masks-dir --out, deprecated
    (goes in the next release).
    """
    if old_weights and weights:
        raise click.UsageError("pass --metric-weights only (--weights is its deprecated old name)")
    weights = weights or old_weights
    render_dir = pick_folder(render_dir, old_render_dir, "render-dir", "RENDER_DIR")
    masks_dir = pick_folder(masks_dir, old_masks_dir, "masks-dir", "MASKS_DIR")
    out = pick_folder(out, old_out, "out", "OUT_DIR")
    import torch

    from pipeline import labels
    from pipeline.stage_runs import label_folder

    if threads:
        torch.set_num_threads(threads)
    metric = _create(metric_name or labels.DEFAULT_METRIC, weights, device)
    finish(out, label_folder(render_dir, masks_dir, out, metric, calibrate, click.echo))


def _create(name: str, weights: str | None, device: str) -> LabelMetric:
    """The metric, announced loudly; a bad name or weight file is a usage error."""
    from pipeline import labels

    try:
        metric = labels.create_metric(name, weights, device)
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    kind = "WEIGHT-FREE, no model weights" if metric.weights is None else f"weights {metric.weights}"
    click.secho(
        f"LABELS metric: {metric.name} -- {kind}", fg="yellow" if metric.weights is None else None, bold=True
    )
    return metric
