"""`seagull label RENDER_DIR MASKS_DIR OUT_DIR`: ROI labels of every rendered variant.

Reads the release layout of `seagull render` (Ref.Images/, Dist.Images/) and the ROI files of
`seagull masks` (<ref_id>.json), and writes OUT_DIR/labels.jsonl (one record per variant and ROI:
ref_id + the labels contract), labels.parquet, provenance.json and quality_by_level.png. With
--calibrate it writes calibration.json (suggested metrics.yaml constants) instead. A reference
without its ROI file, or that fails, is reported and skipped; the exit status is 1 then.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click


@click.command("label")
@click.argument("render_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("masks_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--metric",
    "metric_name",
    default=None,
    help="Label metric registry name (default: the weight-free DEFAULT_METRIC).",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    help="Metric weights, e.g. cfanet_fr_kadid_res50-2c4cc61d.pth for topiq_fr.",
)
@click.option("--device", default="cpu", show_default=True, help="torch device of the metric.")
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's own choice).")
@click.option(
    "--calibrate",
    is_flag=True,
    help="Write calibration.json instead of labels: `worst` fitted on half of the references, "
    "label word shares on both halves (they must agree within 5 points).",
)
def command(render_dir, masks_dir, out_dir, metric_name, weights, device, threads, calibrate) -> None:  # noqa: ANN001
    """Label every (variant, ROI) of the references in RENDER_DIR.

    \b
    seagull label renders/ masks/ labels/                                   # weight-free default
    seagull label renders/ masks/ labels/ --metric topiq_fr --weights cfanet_fr_kadid_res50-2c4cc61d.pth
    """
    import torch

    from pipeline import labels
    from pipeline.labels import io

    if threads:
        torch.set_num_threads(threads)
    metric = _create(labels, metric_name or labels.DEFAULT_METRIC, weights, device)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref_ids = io.reference_ids(render_dir)
    if not ref_ids:
        raise click.ClickException(f"no references in {render_dir}/Ref.Images")
    run = _calibrate if calibrate else _label
    failed = run(labels, io, metric, render_dir, masks_dir, out_dir, ref_ids)
    if failed:
        click.echo(f"{len(failed)} of {len(ref_ids)} references failed: {', '.join(failed)}", err=True)
        raise SystemExit(1)


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
        raise FileNotFoundError(f"{roi_file} is missing; run `seagull masks {render_dir} {masks_dir}` first")
    reference, variants = io.read_release(render_dir, ref_id)
    return reference, read_rois_json(roi_file).rois, variants


def _label(
    labels, io, metric, render_dir: Path, masks_dir: Path, out_dir: Path, ref_ids: list[str]
) -> list[str]:  # noqa: ANN001
    from pipeline.labels.report import mean_quality_by_level, plot_quality_by_level

    records, failed, timings = [], [], {}
    for ref_id in ref_ids:
        try:
            reference, rois, variants = _inputs(io, render_dir, masks_dir, ref_id)
            start = time.perf_counter()
            labelled = labels.label_reference(reference, rois, variants, metric)
        except (OSError, ValueError) as error:
            click.echo(f"{ref_id}: FAILED {error}", err=True)
            failed.append(ref_id)
            continue
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
    return failed


def _calibrate(
    labels, io, metric, render_dir: Path, masks_dir: Path, out_dir: Path, ref_ids: list[str]
) -> list[str]:  # noqa: ANN001
    from pipeline.labels.calibrate import distances, halves, report

    samples, failed = {}, []
    for ref_id in ref_ids:
        try:
            samples[ref_id] = distances(*_inputs(io, render_dir, masks_dir, ref_id), metric)
        except (OSError, ValueError) as error:
            click.echo(f"{ref_id}: FAILED {error}", err=True)
            failed.append(ref_id)
            continue
        click.echo(f"{ref_id}: scored ({samples[ref_id].quality.size} ROI crops)")
    fit_ids, check_ids = halves(list(samples))
    if not fit_ids or not check_ids:
        raise click.ClickException(
            "--calibrate needs at least 2 references (fit on half, check on the other)"
        )
    result = {
        "metric": metric.name,
        "fit_references": fit_ids,
        "check_references": check_ids,
        **report([samples[i] for i in fit_ids], [samples[i] for i in check_ids], metric.settings),
    }
    (out_dir / "calibration.json").write_text(json.dumps(result, indent=2))
    for half in ("fit", "check"):
        shares = result["word_shares_pct"][half]
        click.echo(
            f"{half} half ({len(result[half + '_references'])} references): "
            + "; ".join(
                f"{task} " + ", ".join(f"{word} {share:.1f} %" for word, share in words.items())
                for task, words in shares.items()
            )
        )
    verdict = "transfers" if result["transfers"] else "DOES NOT TRANSFER (more than 5 points apart)"
    click.echo(
        f"suggested `worst` for metrics.yaml: {result['worst']}; word shares of the two halves differ by "
        f"at most {result['max_difference_pp']} points: {verdict}"
    )
    return failed


def _write_parquet(path: Path, records: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path)
