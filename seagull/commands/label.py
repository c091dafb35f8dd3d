"""`seagull label RENDER_DIR MASKS_DIR OUT_DIR`: ROI labels of every rendered variant.

Reads the release layout of `seagull render` (Ref.Images/, Dist.Images/) and the ROI files of
`seagull masks` (<ref_id>.json), and writes OUT_DIR/labels.jsonl (one record per variant and ROI:
ref_id + the labels contract), labels.parquet, provenance.json and quality_by_level.png. With
--calibrate it writes calibration.json (suggested metrics.yaml constants) instead. Either way it writes
label_report.json (what was done, what failed and why, as `seagull render` does). A reference without
its ROI file, or that fails, is reported and skipped; the exit status is 1 then.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from seagull.commands._report import failure, finish, unexpected

REPORT_NAME = "label_report.json"


@click.command("label")
@click.argument("render_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("masks_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--metric",
    "metric_name",
    default=None,
    help="Label metric registry name (default: gmsd_rgb_delta_e, weight-free).",
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
    render_dir, masks_dir, out_dir, metric_name, weights, old_weights, device, threads, calibrate
) -> None:  # noqa: ANN001
    """Label every (variant, ROI) of the references in RENDER_DIR.

    \b
    seagull label renders/ masks/ labels/                                   # weight-free default
    seagull label renders/ masks/ labels/ --metric topiq_fr --metric-weights cfanet_fr_kadid_res50-2c4cc61d.pth
    """
    if old_weights and weights:
        raise click.UsageError("pass --metric-weights only (--weights is its deprecated old name)")
    weights = weights or old_weights
    import torch

    from pipeline import labels
    from pipeline.labels import io

    if threads:
        torch.set_num_threads(threads)
    metric = _create(labels, metric_name or labels.DEFAULT_METRIC, weights, device)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "render_dir": str(render_dir),
        "masks_dir": str(masks_dir),
        "metric": metric.name,
        "weights": str(metric.weights) if metric.weights else None,
        "calibrate": calibrate,
    }
    ref_ids = io.reference_ids(render_dir) if (render_dir / "Ref.Images").is_dir() else []
    if not ref_ids:
        fix = f"pass the OUT_DIR of `seagull render`, or run `seagull render RAW_DIR {render_dir}` first"
        problem = failure(render_dir / "Ref.Images", "no references found", fix)
        finish(out_dir, REPORT_NAME, settings, "labelled", [], [problem], "reference")
    run = _calibrate if calibrate else _label
    done, failed = run(labels, io, metric, render_dir, masks_dir, out_dir, ref_ids)
    finish(out_dir, REPORT_NAME, settings, "labelled", done, failed, "reference")


def _create(labels, name: str, weights: str | None, device: str):  # noqa: ANN001, ANN202
    try:
        metric = labels.create_metric(name, weights, device)
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    kind = "WEIGHT-FREE, no model weights" if metric.weights is None else f"weights {metric.weights}"
    click.secho(
        f"LABELS metric: {metric.name} -- {kind}", fg="yellow" if metric.weights is None else None, bold=True
    )
    return metric


def _inputs(io, render_dir: Path, masks_dir: Path, ref_id: str):  # noqa: ANN001, ANN202
    from pipeline.masks import read_rois_json

    roi_file = masks_dir / f"{ref_id}.json"
    if not roi_file.is_file():
        raise MissingRois(f"{roi_file} is missing")
    reference, variants = io.read_release(render_dir, ref_id)
    return reference, read_rois_json(roi_file).rois, variants


class MissingRois(FileNotFoundError):
    """A reference without its `seagull masks` ROI file."""


def _failure(render_dir: Path, masks_dir: Path, ref_id: str, error: Exception) -> dict[str, str]:
    """The report record of a reference that failed, with the fix for its kind of error."""
    path = render_dir / "Ref.Images" / f"{ref_id}.png"
    if isinstance(error, MissingRois):
        return failure(path, str(error), f"run `seagull masks {render_dir} {masks_dir}` first")
    if isinstance(error, (OSError, ValueError)):
        return failure(path, f"{type(error).__name__}: {error}", "render it again with `seagull render`")
    return unexpected(path, error)


def _label(
    labels, io, metric, render_dir: Path, masks_dir: Path, out_dir: Path, ref_ids: list[str]
) -> tuple[list[str], list[dict[str, str]]]:  # noqa: ANN001
    from pipeline.labels.report import mean_quality_by_level, plot_quality_by_level

    records, done, failed, timings = [], [], [], {}
    for ref_id in ref_ids:
        try:
            reference, rois, variants = _inputs(io, render_dir, masks_dir, ref_id)
            start = time.perf_counter()
            labelled = labels.label_reference(reference, rois, variants, metric)
        except Exception as error:  # noqa: BLE001 — one bad reference must not stop the others
            failed.append(_failure(render_dir, masks_dir, ref_id, error))
            continue
        done.append(ref_id)
        timings[ref_id] = round(time.perf_counter() - start, 2)
        records += [{"ref_id": ref_id, **label.to_json()} for label in labelled]
        click.echo(
            f"{ref_id}: {len(rois)} ROIs x {len(variants)} variants = {len(labelled)} labels ({timings[ref_id]} s)"
        )
    count = io.write_jsonl(out_dir / "labels.jsonl", records)
    _write_parquet(out_dir / "labels.parquet", records)
    table = mean_quality_by_level(records)
    plot_quality_by_level(
        table, out_dir / "quality_by_level.png", metric.name, metric.settings.clean_threshold
    )
    provenance = {
        **metric.provenance(),
        "labels": count,
        "seconds_per_reference": timings,
        "mean_quality_by_level": table,
    }
    (out_dir / "provenance.json").write_text(json.dumps(provenance, indent=2))
    click.echo(f"{count} labels in {out_dir / 'labels.jsonl'}; plot {out_dir / 'quality_by_level.png'}")
    return done, failed


def _calibrate(
    labels, io, metric, render_dir: Path, masks_dir: Path, out_dir: Path, ref_ids: list[str]
) -> tuple[list[str], list[dict[str, str]]]:  # noqa: ANN001
    from pipeline.labels.calibrate import distances, halves, report

    def load(ref_id: str):  # noqa: ANN202
        return _inputs(io, render_dir, masks_dir, ref_id)

    samples, failed = {}, []
    for ref_id in ref_ids:
        try:
            samples[ref_id] = distances(*load(ref_id), metric)
        except Exception as error:  # noqa: BLE001 — one bad reference must not stop the others
            failed.append(_failure(render_dir, masks_dir, ref_id, error))
            continue
        click.echo(f"{ref_id}: scored ({samples[ref_id].size} ROI crops)")
    fit_ids, check_ids = halves(list(samples))
    if not fit_ids or not check_ids:
        # Fitting on half and checking on the other half needs two references; where others failed,
        # their failures already say why (and the exit status is 1 either way).
        if not failed:
            fix = "pass a release with at least 2 references (one to fit on, one to check on)"
            failed.append(failure(render_dir / "Ref.Images", "--calibrate needs at least 2 references", fix))
        return list(samples), failed
    result = {
        "metric": metric.name,
        "fit_references": fit_ids,
        "check_references": check_ids,
        **report(load, fit_ids, check_ids, metric, measured=samples),
    }
    (out_dir / "calibration.json").write_text(json.dumps(result, indent=2))
    for half, shares in result["word_shares_pct"].items():
        click.echo(
            f"{half.replace('_', ' ')}: "
            + "; ".join(
                f"{task} " + ", ".join(f"{word} {share:.1f} %" for word, share in words.items())
                for task, words in shares.items()
            )
        )
    verdict = "transfers" if result["transfers"] else "DOES NOT TRANSFER (more than 5 points)"
    click.echo(
        f"suggested `worst` of {result['fitted_metric']} for metrics.yaml: {result['worst']} (fitted on the "
        f"check half itself: {result['worst_fitted_on_check_half']}); on the check half the two differ by at "
        f"most {result['transfer_pp']} points: {verdict}; the two halves' shares differ by at most "
        f"{result['between_halves_pp']} points (their content differs)"
    )
    return list(samples), failed


def _write_parquet(path: Path, records: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path)
