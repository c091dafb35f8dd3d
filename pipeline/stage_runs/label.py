"""`label_folder`: the references of a release and their ROI files -> label records (or a calibration)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import stages
from pipeline.release import REFERENCES, read_release, reference_ids, release_path
from pipeline.stage_runs.common import FolderRun, failure, unexpected

if TYPE_CHECKING:
    from pipeline.labels import LabelMetric

REPORT_NAME = "label_report.json"


class MissingRois(FileNotFoundError):
    """A reference without its `seagull masks` ROI file."""


def label_folder(
    render_dir: Path,
    masks_dir: Path,
    out_dir: Path,
    metric: LabelMetric,
    calibrate: bool = False,
    say: Callable[[str], None] = print,
) -> FolderRun:
    """Label every (variant, ROI) of the references in `render_dir` into `out_dir`.

    Writes labels.jsonl (one record per variant and ROI: ref_id + the labels contract), labels.parquet,
    provenance.json and quality_by_level.png; with `calibrate`, calibration.json instead.
    """
    settings = {
        "render_dir": str(render_dir),
        "masks_dir": str(masks_dir),
        "metric": metric.name,
        "weights": str(metric.weights) if metric.weights else None,
        "calibrate": calibrate,
    }
    run = FolderRun(REPORT_NAME, "labelled", "reference", settings)
    ref_ids = reference_ids(render_dir)
    if not ref_ids:
        fix = f"pass the --out of `seagull render`, or run `seagull render --raw-dir RAW --out {render_dir}` first"
        run.failed.append(failure(Path(render_dir) / REFERENCES, "no references found", fix))
        return run
    out_dir.mkdir(parents=True, exist_ok=True)
    (_calibrate if calibrate else _label)(run, metric, render_dir, masks_dir, out_dir, ref_ids, say)
    return run


def read_inputs(render_dir: Path, masks_dir: Path, ref_id: str) -> tuple[Any, list, list]:
    """(reference, ROIs, variants) of one reference; raises `MissingRois` without its ROI file."""
    from pipeline.masks import read_rois_json

    roi_file = Path(masks_dir) / f"{ref_id}.json"
    if not roi_file.is_file():
        raise MissingRois(f"{roi_file} is missing")
    reference, variants = read_release(render_dir, ref_id)
    return reference, read_rois_json(roi_file).rois, variants


def _failure(render_dir: Path, masks_dir: Path, ref_id: str, error: Exception) -> dict[str, str]:
    """The report record of a reference that failed, with the fix for its kind of error."""
    path = release_path(render_dir, ref_id)
    if isinstance(error, MissingRois):
        return failure(
            path, str(error), f"run `seagull masks --ref-dir {render_dir} --out {masks_dir}` first"
        )
    if isinstance(error, (OSError, ValueError)):
        return failure(path, f"{type(error).__name__}: {error}", "render it again with `seagull render`")
    return unexpected(path, error)


def _label(
    run: FolderRun,
    metric: LabelMetric,
    render_dir: Path,
    masks_dir: Path,
    out_dir: Path,
    ref_ids: list[str],
    say: Callable[[str], None],
) -> None:
    from pipeline.labels.report import mean_quality_by_level, plot_quality_by_level

    records, timings = [], {}
    for ref_id in ref_ids:
        try:
            reference, rois, variants = read_inputs(render_dir, masks_dir, ref_id)
            start = time.perf_counter()
            labelled = stages.label(reference, rois, variants, metric)
        except Exception as error:  # noqa: BLE001 - the error policy: record the reference, go on
            run.failed.append(_failure(render_dir, masks_dir, ref_id, error))
            continue
        run.done.append(ref_id)
        timings[ref_id] = round(time.perf_counter() - start, 2)
        records += [{"ref_id": ref_id, **label} for label in labelled]
        say(
            f"{ref_id}: {len(rois)} ROIs x {len(variants)} variants = {len(labelled)} labels ({timings[ref_id]} s)"
        )
    _write_jsonl(out_dir / "labels.jsonl", records)
    _write_parquet(out_dir / "labels.parquet", records)
    table = mean_quality_by_level(records)
    plot_quality_by_level(
        table, out_dir / "quality_by_level.png", metric.name, metric.settings.clean_threshold
    )
    provenance = {
        **metric.provenance(),
        "labels": len(records),
        "seconds_per_reference": timings,
        "mean_quality_by_level": table,
    }
    (out_dir / "provenance.json").write_text(json.dumps(provenance, indent=2))
    say(f"{len(records)} labels in {out_dir / 'labels.jsonl'}; plot {out_dir / 'quality_by_level.png'}")


def _calibrate(
    run: FolderRun,
    metric: LabelMetric,
    render_dir: Path,
    masks_dir: Path,
    out_dir: Path,
    ref_ids: list[str],
    say: Callable[[str], None],
) -> None:
    from pipeline.labels.calibrate import distances, halves, report

    samples = {}
    for ref_id in ref_ids:
        try:
            samples[ref_id] = distances(*read_inputs(render_dir, masks_dir, ref_id), metric)
        except Exception as error:  # noqa: BLE001 - the error policy: record the reference, go on
            run.failed.append(_failure(render_dir, masks_dir, ref_id, error))
            continue
        say(f"{ref_id}: scored ({samples[ref_id].quality.size} ROI crops)")
    run.done.extend(samples)
    fit_ids, check_ids = halves(list(samples))
    if not fit_ids or not check_ids:
        # Fitting on half and checking on the other half needs two references; where others failed,
        # their failures already say why (and the exit status is 1 either way).
        if not run.failed:
            fix = "pass a release with at least 2 references (one to fit on, one to check on)"
            where = Path(render_dir) / REFERENCES
            run.failed.append(failure(where, "--calibrate needs at least 2 references", fix))
        return
    result = {
        "metric": metric.name,
        "fit_references": fit_ids,
        "check_references": check_ids,
        **report([samples[i] for i in fit_ids], [samples[i] for i in check_ids], metric.settings),
    }
    (out_dir / "calibration.json").write_text(json.dumps(result, indent=2))
    for half in ("fit", "check"):
        shares = result["word_shares_pct"][half]
        say(
            f"{half} half ({len(result[half + '_references'])} references): "
            + "; ".join(
                f"{task} " + ", ".join(f"{word} {share:.1f} %" for word, share in words.items())
                for task, words in shares.items()
            )
        )
    verdict = "transfers" if result["transfers"] else "DOES NOT TRANSFER (more than 5 points apart)"
    say(
        f"suggested `worst` for metrics.yaml: {result['worst']}; word shares of the two halves differ by "
        f"at most {result['max_difference_pp']} points: {verdict}"
    )


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")


def _write_parquet(path: Path, records: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path)
