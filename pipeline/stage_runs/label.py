"""`label_folder`: the references of a release and their ROI files -> label records (or a calibration)."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    job = _Job(run, metric, Path(render_dir), Path(masks_dir), Path(out_dir), ref_ids, say)
    (_calibrate if calibrate else _label)(job)
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


@dataclass(frozen=True)
class _Job:
    """One `label_folder` call: where it reads and writes, with what metric, and its run record."""

    run: FolderRun
    metric: LabelMetric
    render_dir: Path
    masks_dir: Path
    out_dir: Path
    ref_ids: list[str]
    say: Callable[[str], None]


def _per_reference(
    job: _Job,
    work: Callable[[Any, list, list], tuple[Any, str]],
    read: Callable[[str], tuple[Any, list, list]] | None = None,
) -> dict[str, tuple[Any, float]]:
    """{ref_id: (work's result, seconds)} of the references that worked; the others are recorded as
    failed (the error policy: record the reference, go on). `work(reference, rois, variants)` returns
    (result, a line to say); `read(ref_id)` gives its inputs (default: `read_inputs`)."""
    results = {}
    for ref_id in job.ref_ids:
        try:
            inputs = read(ref_id) if read else read_inputs(job.render_dir, job.masks_dir, ref_id)
            start = time.perf_counter()
            result, line = work(*inputs)
        except Exception as error:  # one bad reference must not stop the others
            job.run.failed.append(_failure(job.render_dir, job.masks_dir, ref_id, error))
            continue
        results[ref_id] = result, round(time.perf_counter() - start, 2)
        job.run.done.append(ref_id)
        job.say(f"{ref_id}: {line} ({results[ref_id][1]} s)")
    return results


def _label(job: _Job) -> None:
    from pipeline.labels.report import mean_quality_by_level, plot_quality_by_level

    def work(reference, rois, variants):
        labelled = stages.label(reference, rois, variants, job.metric)
        return labelled, f"{len(rois)} ROIs x {len(variants)} variants = {len(labelled)} labels"

    done, out, metric = _per_reference(job, work), job.out_dir, job.metric
    records = [{"ref_id": ref_id, **label} for ref_id, (labelled, _) in done.items() for label in labelled]
    _write_jsonl(out / "labels.jsonl", records)
    _write_parquet(out / "labels.parquet", records)
    table = mean_quality_by_level(records)
    plot_quality_by_level(table, out / "quality_by_level.png", metric.name, metric.settings.clean_threshold)
    provenance = {
        **metric.provenance(),
        "labels": len(records),
        "seconds_per_reference": {ref_id: seconds for ref_id, (_, seconds) in done.items()},
        "mean_quality_by_level": table,
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2))
    job.say(f"{len(records)} labels in {out / 'labels.jsonl'}; plot {out / 'quality_by_level.png'}")


def _calibrate(job: _Job) -> None:
    from pipeline.labels.calibrate import distances

    def work(reference, rois, variants):
        scored = distances(reference, rois, variants, job.metric)
        return scored, f"scored ({scored.size} ROI crops)"

    # The pixels are decoded from PNG once (the first pass) and kept on disk, not in memory, for the
    # labelling pass of `report`, which reads them back memory-mapped.
    with tempfile.TemporaryDirectory(prefix=".calibrate-pixels-", dir=job.out_dir) as folder:
        pixels = _PixelCache(Path(folder), job.render_dir, job.masks_dir)
        samples = {ref_id: scored for ref_id, (scored, _) in _per_reference(job, work, pixels.read).items()}
        _calibrate_report(job, samples, pixels.load)


class _PixelCache:
    """Each reference's decoded pixels, written to `folder` as .npy when first read and read back
    memory-mapped after: the PNGs are decoded once (the slow part) and no more than one reference's
    images are in memory. `load` drops a reference's files, for a labelling pass reads each once."""

    def __init__(self, folder: Path, render_dir: Path, masks_dir: Path):
        self.folder, self.render_dir, self.masks_dir = folder, render_dir, masks_dir
        self.kept: dict[str, tuple[list, list[tuple[str, int]]]] = {}  # ROIs (RLE: small), variant keys

    def read(self, ref_id: str) -> tuple[Any, list, list]:
        import numpy as np

        reference, rois, variants = read_inputs(self.render_dir, self.masks_dir, ref_id)
        np.save(self.folder / f"{ref_id}.reference.npy", reference)
        if variants:
            np.save(self.folder / f"{ref_id}.variants.npy", np.stack([v.image for v in variants]))
        self.kept[ref_id] = rois, [(v.dist_type, v.level) for v in variants]
        return reference, rois, variants

    def load(self, ref_id: str) -> tuple[Any, list, list]:
        import numpy as np

        from pipeline.records import Variant

        rois, keys = self.kept.pop(ref_id)
        files = [self.folder / f"{ref_id}.{part}.npy" for part in ("reference", "variants")]
        reference = np.load(files[0])
        images = np.load(files[1], mmap_mode="r") if files[1].is_file() else []
        variants = [Variant(dist_type, level, images[i]) for i, (dist_type, level) in enumerate(keys)]
        for file in files:  # a memory map keeps the data readable after the name is gone (POSIX)
            file.unlink(missing_ok=True)
        return reference, rois, variants


def _calibrate_report(
    job: _Job, samples: dict[str, Any], load: Callable[[str], tuple[Any, list, list]]
) -> None:
    """Fit on one half of the references that were scored, check on the other; write and say it."""
    from pipeline.labels.calibrate import halves, report

    fit_ids, check_ids = halves(list(samples))
    if not fit_ids or not check_ids:
        # Fitting on half and checking on the other half needs two references; where others failed,
        # their failures already say why (and the exit status is 1 either way).
        if not job.run.failed:
            fix = "pass a release with at least 2 references (one to fit on, one to check on)"
            where = Path(job.render_dir) / REFERENCES
            job.run.failed.append(failure(where, "--calibrate needs at least 2 references", fix))
        return
    result = {
        "metric": job.metric.name,
        "fit_references": fit_ids,
        "check_references": check_ids,
        **report(load, fit_ids, check_ids, job.metric, measured=samples),
    }
    (job.out_dir / "calibration.json").write_text(json.dumps(result, indent=2))
    for half, shares in result["word_shares_pct"].items():
        job.say(
            f"{half.replace('_', ' ')}: "
            + "; ".join(
                f"{task} " + ", ".join(f"{word} {share:.1f} %" for word, share in words.items())
                for task, words in shares.items()
            )
        )
    verdict = "transfers" if result["transfers"] else "DOES NOT TRANSFER (more than 5 points)"
    job.say(
        f"suggested `worst` of {result['fitted_metric']} for metrics.yaml: {result['worst']} (fitted on the "
        f"check half itself: {result['worst_fitted_on_check_half']}); on the check half the two differ by at "
        f"most {result['transfer_pp']} points: {verdict}; the two halves' shares differ by at most "
        f"{result['between_halves_pp']} points (their content differs)"
    )


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")


def _write_parquet(path: Path, records: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(records), path)
