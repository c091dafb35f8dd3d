"""The shard sample format: keys, the lossless image encoding and the JSON of one sample.

A shard holds, for each reference it covers, one *reference sample* followed by its distorted
samples (the 6 types x 20 levels in `DISTORTION_TYPES` order, level 1..20). A reference and its
variants never straddle two shards, so a streaming reader meets the reference first.

Keys (WebDataset splits a member name at its first dot, so keys never contain one):
    reference sample  `<ref_id>_ref`              (`reference_key`)
    distorted sample  `<ref_id>_<type>_<level:02d>` (`pipeline.taxonomy.sample_key`)

Members of one sample: `<key>.png` (the uint8 sRGB image, lossless) and `<key>.json`:
    {"key", "ref_id", "dist_type", "level", "height", "width", "reference_key", "split",
     "rois": [ROI.to_json() + label fields + "instructions"], "provenance": {...},
     "isp": {"module", "name", "value", "unit", "direction", "params"}}   (distorted samples only)
`split` is "train" or "test", `pipeline.split.split_of(ref_id)` (80/20 by image, as the paper).
The reference sample has dist_type "reference", level 0 and its ROIs without label fields.
Join a distorted sample to its reference by `ref_id` (or directly by `reference_key`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from pipeline.records import ROI, Variant
from pipeline.shards.features import require_declared
from pipeline.split import split_of
from pipeline.taxonomy import DISTORTION_TYPES, sample_key

FORMAT_VERSION = 1
REFERENCE_TYPE = "reference"  # dist_type of a reference sample
REFERENCE_SUFFIX = "_ref"  # sample_key always ends in two digits, so this never collides
IMAGE_EXT = "png"
JSON_EXT = "json"
# Label fields the JSON keeps per ROI; dist_type, level and roi_id are already on the sample / ROI.
LABEL_KEYS_DROPPED = ("dist_type", "level", "roi_id")


@dataclass(frozen=True)
class RefGroup:
    """Everything the shard stage stores about one reference: what a chunk task hands the writer.

    Attributes:
        ref_id: the reference id (RAW stem, dots replaced by '-').
        reference: uint8 array (H, W, 3), sRGB, the rendered reference.
        variants: the distorted renderings, each uint8 (H, W, 3) of the reference's size.
        rois: the reference's ROIs (shared by every variant); may be empty before masks exist.
        labels: labels records (ARCHITECTURE.md), one per (variant, ROI), or empty when the build
            has no labels stage; a partial set is an error.
        provenance: JSON-ready facts about how this group was made (preset_hash, segmenter,
            detector, metric, weights, code_version, seed, raw_file, ...), copied into every sample.
    """

    ref_id: str
    reference: np.ndarray
    variants: Sequence[Variant]
    rois: Sequence[ROI] = ()
    labels: Sequence[Mapping[str, Any]] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)


def reference_key(ref_id: str) -> str:
    """The key of a reference sample: `<ref_id>_ref` (never a dot)."""
    key = f"{ref_id}{REFERENCE_SUFFIX}"
    if "." in key:
        raise ValueError(f"reference key {key!r} contains a dot; WebDataset splits keys at dots")
    return key


def variant_order(variant: Variant) -> tuple[int, int]:
    """Sort key of a variant inside its group: type in DISTORTION_TYPES order, then level."""
    return DISTORTION_TYPES.index(variant.dist_type), variant.level


def encode_image(image: np.ndarray, compression: int) -> bytes:
    """PNG bytes of a uint8 (H, W, 3) RGB image; `compression` is zlib's level 0..9."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {image.dtype} {image.shape}")
    ok, buffer = cv2.imencode(
        ".png", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, compression]
    )
    if not ok:
        raise ValueError(f"OpenCV could not PNG-encode an image of shape {image.shape}")
    return buffer.tobytes()


def decode_image(data: bytes) -> np.ndarray:
    """Decode PNG bytes to a uint8 (H, W, 3) RGB array."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)  # RGB directly: no copy
    if image is None:
        raise ValueError("not a decodable PNG image")
    return image


def dump_json(record: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces) so that shards are byte-reproducible."""
    text = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )
    return text.encode("utf-8")


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays (as labels and ROIs may carry them) to plain JSON values."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable in a shard sample")


def encode_group(group: RefGroup, compression: int) -> list[dict[str, Any]]:
    """The WebDataset samples of one reference: its reference sample, then its variants in order.

    Returns:
        dicts {"__key__": str, "png": bytes, "json": bytes}, ready for `webdataset.TarWriter`.

    Raises:
        ValueError: a variant whose size differs from the reference, or labels that do not cover
            every (variant, ROI) pair exactly once.
    """
    height, width = group.reference.shape[:2]
    labels = _index_labels(group)
    rois_json = [roi.to_json() for roi in group.rois]
    samples = [
        _sample(
            reference_key(group.ref_id), group, REFERENCE_TYPE, 0, group.reference, rois_json, compression
        )
    ]
    for variant in sorted(group.variants, key=variant_order):
        if variant.image.shape[:2] != (height, width):
            raise ValueError(
                f"{group.ref_id}: variant {variant.dist_type}/{variant.level} is {variant.image.shape[:2]}, "
                f"its reference is {(height, width)}; render variants from the same decode"
            )
        rois = [_labelled_roi(roi, labels, variant) for roi in rois_json]
        key = sample_key(group.ref_id, variant.dist_type, variant.level)
        samples.append(
            _sample(
                key, group, variant.dist_type, variant.level, variant.image, rois, compression, variant.isp
            )
        )
    return samples


def _sample(key, group, dist_type, level, image, rois, compression, isp=None) -> dict[str, Any]:
    record = {
        "key": key,
        "ref_id": group.ref_id,
        "dist_type": dist_type,
        "level": int(level),
        "height": int(image.shape[0]),
        "width": int(image.shape[1]),
        "reference_key": reference_key(group.ref_id),
        "split": split_of(group.ref_id),
        "rois": rois,
        "provenance": stable_provenance(group.provenance),
        "format_version": FORMAT_VERSION,
    }
    if isp is not None:  # the ISP parameter that made a distorted image (Variant.isp)
        record["isp"] = isp
    require_declared(record)
    return {"__key__": key, IMAGE_EXT: encode_image(image, compression), JSON_EXT: dump_json(record)}


# Provenance values that are text; None (e.g. no detector) is stored as "" so that readers that infer
# a schema (Hugging Face `datasets`, Arrow) see one type in every build, never a null-typed column.
PROVENANCE_TEXT = ("preset_hash", "segmenter", "detector", "metric", "code_version", "raw_file")
WEIGHT_ROLES = ("segmenter", "detector", "metric")


def stable_provenance(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The provenance as stored in a sample: text fields never None ("" when absent), `weights` always
    {role: {"file": str, "sha256": str}} for segmenter, detector and metric ("" when a role has no
    weight file or no hash), `size` 0 for full resolution. Other keys are kept as they are."""
    stable = dict(provenance)
    for name in PROVENANCE_TEXT:
        if name in stable or name in ("segmenter", "detector", "metric"):
            stable[name] = "" if stable.get(name) is None else str(stable[name])
    if "size" in stable and stable["size"] is None:
        stable["size"] = 0
    weights = dict(stable.get("weights") or {})
    stable["weights"] = {
        role: _weight_entry(weights.get(role))
        for role in (*WEIGHT_ROLES, *sorted(set(weights) - set(WEIGHT_ROLES)))
    }
    return stable


def _weight_entry(weight: Any) -> dict[str, str]:
    if isinstance(weight, Mapping):
        return {key: "" if weight.get(key) is None else str(weight[key]) for key in ("file", "sha256")}
    return {"file": "" if weight is None else str(weight), "sha256": ""}


def _index_labels(group: RefGroup) -> dict[tuple[str, int, int], Mapping[str, Any]] | None:
    """Labels by (dist_type, level, roi_id); None when the group has no labels at all."""
    if not group.labels:
        return None
    index = {(lab["dist_type"], int(lab["level"]), int(lab["roi_id"])): lab for lab in group.labels}
    expected = {(v.dist_type, v.level, roi.roi_id) for v in group.variants for roi in group.rois}
    if len(index) != len(group.labels) or set(index) != expected:
        missing, extra = sorted(expected - set(index))[:3], sorted(set(index) - expected)[:3]
        raise ValueError(
            f"{group.ref_id}: labels must cover each (variant, ROI) exactly once "
            f"({len(group.labels)} labels for {len(expected)} pairs; missing e.g. {missing}, unexpected e.g. {extra}); "
            "pass all labels of the reference, or none"
        )
    return index


def _labelled_roi(roi_json: dict[str, Any], labels, variant: Variant) -> dict[str, Any]:
    """An ROI's JSON plus, when labels exist, its label fields and stage-2 instructions."""
    record = dict(roi_json)
    if labels is None:
        return record
    from pipeline.instructions import make_instructions  # writer side only: readers need no YAML

    label = labels[(variant.dist_type, variant.level, roi_json["roi_id"])]
    record.update({k: v for k, v in label.items() if k not in LABEL_KEYS_DROPPED})
    record["instructions"] = make_instructions(dict(label), mode="stage2")
    return record
