"""Prepare many images of a 3k build: skip those already done, record failures, write tasks.jsonl."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.masks import Detector, Segmenter, read_rois_json
from pipeline.sg3k.tasks import RoiConfig, image_id_of, prepare_image, task_id, task_record, write_tasks


def prepared_tasks(path: Path, build: Path, test_fraction: float) -> list[dict[str, Any]] | None:
    """The task records of an image prepared earlier (its ROI JSON and overlays exist), else None."""
    image_id = image_id_of(path)
    roi_path = build / "rois" / f"{image_id}.json"
    if not (roi_path.exists() and (build / "images" / f"{image_id}.png").exists()):
        return None
    roi_file = read_rois_json(roi_path)
    if not all((build / "overlays" / f"{task_id(image_id, r.roi_id)}.jpg").exists() for r in roi_file.rois):
        return None
    shape = (roi_file.height, roi_file.width)
    return [task_record(image_id, roi, path, shape, test_fraction) for roi in roi_file.rois]


def prepare_images(
    paths: Sequence[Path],
    build: Path,
    segmenter: Callable[[], Segmenter],
    detector: Callable[[], Detector | None],
    config: RoiConfig | None = None,
    test_fraction: float = 0.2,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Prepare every image not prepared before (models are built only if one needs them).

    Returns:
        (task records of this chunk's images, failures {"path", "error"}): a failed image has no task.
    """
    build, config = Path(build), config or RoiConfig()
    records: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    models: dict[str, Any] = {}
    for path in paths:
        done = prepared_tasks(Path(path), build, test_fraction)
        if done is not None:
            records += done
            continue
        if not models:
            models.update(segmenter=segmenter(), detector=detector())
        try:
            records += prepare_image(
                Path(path), build, models["segmenter"], models["detector"], config, test_fraction
            )
        except ValueError as error:  # unreadable image, too few ROIs: reported, the others go on
            failures.append({"path": str(path), "error": str(error)})
    return records, failures


def finish_prepare(
    build: Path, records: list[dict[str, Any]], failures: list[dict[str, str]]
) -> dict[str, Any]:
    """Write tasks.jsonl and prepare_report.json; returns the report."""
    write_tasks(build, records)
    report = {
        "images": len({r["image_id"] for r in records}),
        "tasks": len(records),
        "splits": {s: sum(r["split"] == s for r in records) for s in ("train", "test")},
        "failures": failures,
    }
    (Path(build) / "prepare_report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report
