"""ROI JSON files: one per reference, masks as COCO RLE (as in the authors' release).

Layout (ARCHITECTURE.md): {"ref_id", "height", "width", "segmenter": {name, checkpoint, sha256},
"detector": {...} or null, "rois": [ROI.to_json()]}; validated against `roi_file.schema.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from pipeline.atomic_io import write_text_atomic
from pipeline.masks.base import Detector, Segmenter
from pipeline.records import ROI


@dataclass(frozen=True)
class RoiFile:
    """The content of one ROI JSON file."""

    ref_id: str
    height: int
    width: int
    segmenter: dict[str, Any]
    detector: dict[str, Any] | None
    rois: list[ROI]


def provenance(segmenter: Segmenter, detector: Detector | None) -> dict[str, Any]:
    """{"segmenter": {name, checkpoint, sha256}, "detector": {...} or None} for `write_rois_json`."""
    return {
        "segmenter": segmenter.provenance.to_json(),
        "detector": detector.provenance.to_json() if detector is not None else None,
    }


def write_rois_json(
    path: str | Path, ref_id: str, image_shape: tuple[int, ...], rois: list[ROI], provenance: dict[str, Any]
) -> Path:
    """Write one reference's ROIs; written to a temporary name and renamed, so never half a file.

    Args:
        path: output .json path.
        ref_id: reference id (no dots).
        image_shape: (H, W) or (H, W, C) of the image the masks belong to.
        rois: from `compute_rois`.
        provenance: from `provenance(segmenter, detector)`.
    """
    record = {
        "ref_id": ref_id,
        "height": int(image_shape[0]),
        "width": int(image_shape[1]),
        "segmenter": provenance["segmenter"],
        "detector": provenance.get("detector"),
        "rois": [roi.to_json() for roi in rois],
    }
    _validate(record, path)
    path = Path(path)
    write_text_atomic(path, json.dumps(record, separators=(",", ":")))
    return path


def read_rois_json(path: str | Path) -> RoiFile:
    """Read and validate a file written by `write_rois_json`."""
    try:
        record = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error}); re-run `seagull masks` for this reference") from error
    _validate(record, path)
    rois = [ROI.from_json(r) for r in record["rois"]]
    return RoiFile(
        record["ref_id"], record["height"], record["width"], record["segmenter"], record["detector"], rois
    )


def _validate(record: dict[str, Any], path: str | Path) -> None:
    try:
        jsonschema.validate(record, _schema())
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ValueError(f"{path}: not a valid ROI file at {where}: {error.message}") from error


@cache
def _schema() -> dict[str, Any]:
    return json.loads(resources.files("pipeline.masks").joinpath("roi_file.schema.json").read_text())
