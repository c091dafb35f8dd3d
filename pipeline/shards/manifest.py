"""The parquet manifest: one row per (distorted image, ROI) label, with the shard that holds it.

Each chunk writes `part-<chunk:06d>.parquet` into the build state (`pipeline.build_state`) before its stats; `merge_manifest` joins the
parts, in chunk order, into `manifest.parquet` at the end of a build. Query it with pandas/pyarrow
to pick shards or samples without opening a tar, e.g.
`pd.read_parquet("shards/manifest.parquet").query("quality_level == 'bad'")`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import build_state
from pipeline.atomic_io import atomic_file
from pipeline.shards.format import REFERENCE_TYPE

MANIFEST_NAME = "manifest.parquet"

# Fixed schema: every part has the same columns (null where a stage did not run), so parts concatenate.
SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("key", pa.string()),
        ("ref_id", pa.string()),
        ("dist_type", pa.string()),
        ("level", pa.int16()),
        ("roi_id", pa.int32()),
        ("kind", pa.string()),
        ("area", pa.int64()),
        ("bbox_x", pa.int32()),
        ("bbox_y", pa.int32()),
        ("bbox_w", pa.int32()),
        ("bbox_h", pa.int32()),
        ("mask_score", pa.float32()),  # the segmenter's confidence of the mask
        ("quality", pa.float64()),
        ("quality_level", pa.string()),
        ("importance", pa.float64()),
        ("importance_level", pa.string()),
        ("distortion", pa.string()),
        ("severity", pa.float64()),
        ("severity_level", pa.string()),
        ("metric", pa.string()),
        ("preset_hash", pa.string()),
        ("segmenter", pa.string()),
        ("detector", pa.string()),
        ("weights", pa.string()),  # JSON: weight file name -> sha256
        ("code_version", pa.string()),
        ("provenance", pa.string()),  # JSON: the sample's whole provenance
        # The ISP parameter that made the distorted image (the sample JSON's "isp"): e.g. ev, -1.2,
        # "EV ...", "under"; direction is null for one-way types; isp_params is JSON of all its parameters.
        ("isp_parameter", pa.string()),
        ("isp_value", pa.float64()),
        ("isp_unit", pa.string()),
        ("isp_direction", pa.string()),
        ("isp_params", pa.string()),
        ("split", pa.string()),  # "train" | "test" by reference image (pipeline/split.py)
        ("distortions", pa.string()),  # JSON: the multi-label `distortions` list, when the label has one
        # Raw values behind the labels (docs/labels.md), to re-derive labels with other rules:
        ("quality_raw", pa.float64()),  # the metric's own score of the ROI crop pair
        ("importance_drop", pa.float64()),  # whole-image drop when the ROI is pasted, before mapping
    ]
)
LABEL_COLUMNS = (
    "quality",
    "quality_level",
    "importance",
    "importance_level",
    "distortion",
    "severity",
    "severity_level",
)
PROVENANCE_COLUMNS = ("preset_hash", "segmenter", "detector", "metric", "weights", "code_version")


def manifest_rows(record: Mapping[str, Any], shard: str) -> list[dict[str, Any]]:
    """Rows of one sample's JSON record (see `format`); a reference sample has none."""
    if record["dist_type"] == REFERENCE_TYPE:
        return []
    provenance = record.get("provenance", {})
    common = {
        "shard": shard,
        "key": record["key"],
        "ref_id": record["ref_id"],
        "dist_type": record["dist_type"],
        "level": record["level"],
        "split": record.get("split"),  # null in shards written before the split was recorded
        "provenance": json.dumps(provenance, sort_keys=True),
    }
    common.update({name: _as_text(provenance.get(name)) for name in PROVENANCE_COLUMNS})
    common.update(_isp_columns(record.get("isp")))
    return [_roi_row(common, roi) for roi in record["rois"]]


def _isp_columns(isp: Mapping[str, Any] | None) -> dict[str, Any]:
    if not isp:
        return {}
    return {
        "isp_parameter": isp["name"],
        "isp_value": float(isp["value"]),
        "isp_unit": isp["unit"],
        "isp_direction": isp.get("direction"),
        "isp_params": json.dumps(isp.get("params", {}), sort_keys=True),
    }


def _roi_row(common: dict[str, Any], roi: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(common)
    x, y, w, h = roi["bbox"]
    row.update(roi_id=roi["roi_id"], kind=roi["kind"], area=roi["area"], mask_score=roi.get("score"))
    row.update(bbox_x=x, bbox_y=y, bbox_w=w, bbox_h=h)
    row.update({name: roi.get(name) for name in LABEL_COLUMNS})
    row.update(quality_raw=roi.get("quality_raw"), importance_drop=roi.get("importance_drop"))
    if roi.get("distortions") is not None:
        row["distortions"] = json.dumps(roi["distortions"], sort_keys=True)
    if roi.get("metric") is not None:  # the label's own metric wins over the build's
        row["metric"] = _as_text(roi["metric"])
    return row


def _as_text(value: Any) -> str | None:
    """Strings as they are, structures (e.g. {name, checkpoint, sha256}) as canonical JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def write_manifest_part(out_dir: Path, chunk_index: int, rows: Iterable[dict[str, Any]]) -> Path:
    """Write one chunk's rows atomically (temporary name, rename) and return the part's path."""
    path = build_state.manifest_part_path(out_dir, chunk_index)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_table_atomic(pa.Table.from_pylist(list(rows), schema=SCHEMA), path)
    return path


def merge_manifest(out_dir: Path, chunks: Iterable[int] | None = None) -> Path:
    """Concatenate the manifest parts (all, or those of `chunks`) in chunk order into manifest.parquet.

    Raises:
        FileNotFoundError: a requested part is missing (its chunk never finished: rebuild it).
    """
    out_dir = Path(out_dir)
    if chunks is None:
        paths = sorted(build_state.parts_dir(out_dir).glob("part-*.parquet"))
    else:
        paths = [build_state.manifest_part_path(out_dir, chunk) for chunk in sorted(chunks)]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise FileNotFoundError(
            f"manifest parts missing: {missing}; their chunks did not finish, rebuild them"
        )
    tables = [pq.read_table(path, schema=SCHEMA) for path in paths]
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    target = out_dir / MANIFEST_NAME
    _write_table_atomic(table, target)
    return target


def read_manifest(out_dir: Path) -> pa.Table:
    """The merged manifest of a shard directory."""
    path = Path(out_dir) / MANIFEST_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; finish the build (it merges the manifest last)")
    return pq.read_table(path)


def _write_table_atomic(table: pa.Table, path: Path) -> None:
    with atomic_file(path, "wb") as handle:
        pq.write_table(table, handle)
