"""SEAGULL-3k shards in the SEAGULL-100w format, written by the same writer, read by the same loader.

One authentic image is one sample, key `<image_id>_authentic_00` (dist_type "authentic", level 0):
`<key>.png` and `<key>.json` with the 100w fields (key, ref_id = the image id, dist_type, level,
height, width, rois: ROI JSON + label + stage-2 instructions, provenance, format_version) plus
`split` and `dataset`. There is no reference image: `reference_key` is null (the loader's
references="attach" has nothing to attach). ROIs that were not aggregated (too few ratings) are left
out of the sample. Train and test images go to their own shards, `seagull3k-train-*.tar` and
`seagull3k-test-*.tar`, so either split is one glob; each sample also records its split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.instructions import make_instructions
from pipeline.records import ROI
from pipeline.shards import ShardConfig, write_chunk
from pipeline.shards.features import (
    BOOL,
    FLOAT,
    INT,
    ROI_FIELDS,
    SAMPLE_FEATURES,
    SAMPLE_JSON,
    STRING,
    require_declared,
)
from pipeline.shards.format import FORMAT_VERSION, IMAGE_EXT, JSON_EXT, dump_json, encode_image
from pipeline.split import SPLITS
from pipeline.taxonomy import sample_key

DATASET = "SEAGULL-3k"
AUTHENTIC = "authentic"  # dist_type of a 3k sample: no synthetic type, no level
PREFIX = "seagull3k"
# Shard numbers a split's chunk owns: train 0.., test SHARDS_PER_SPLIT.. (968 images at 1,024 px
# are ~1.5 GB of PNG, so a split needs a few 1 GB shards).
SHARDS_PER_SPLIT = 16

# The sample's declared types (pipeline.shards.features), published by the card: the 100w fields
# less the ISP and the metric's raw scores, with the ratings' aggregates and the 3k provenance.
ROI_FIELDS_3K = {
    **{name: kind for name, kind in ROI_FIELDS.items() if name not in ("quality_raw", "importance_drop")},
    "quality_mos": FLOAT,
    "importance_mos": FLOAT,
    "n_ratings": INT,
    "distortions": [
        {
            "type": STRING,
            "severity": FLOAT,
            "severity_level": STRING,
            "mean_level": FLOAT,
            "votes_absent": INT,
        }
    ],
}
COMPONENT = {"name": STRING, "checkpoint": STRING, "sha256": STRING}
PROVENANCE_3K = {
    "dataset": STRING,
    "annotators": STRING,
    "rating_sources": [STRING],
    # pipeline.sg3k.aggregate.AggregationRules
    "aggregation_rules": {
        "min_ratings": INT,
        "absent_level": INT,
        "absent_on_tie": BOOL,
        "severity_over": STRING,
        "score_max": FLOAT,
    },
    # the ROI file's components (pipeline.masks.base.Provenance.to_json); detector null without one
    "segmenter": COMPONENT,
    "detector": COMPONENT,
    "source_file": STRING,
}
SAMPLE_JSON_3K = {
    **{name: kind for name, kind in SAMPLE_JSON.items() if name != "isp"},
    "provenance": PROVENANCE_3K,
    "rois": [ROI_FIELDS_3K],
    "dataset": STRING,
}
SAMPLE_FEATURES_3K = {**SAMPLE_FEATURES, "json": SAMPLE_JSON_3K}


@dataclass(frozen=True)
class AuthenticGroup:
    """One authentic image with its aggregated ROIs: what the 3k writer hands `write_chunk`.

    Attributes:
        ref_id: the image id.
        image: uint8 (H, W, 3) sRGB at working resolution.
        rois: the ROIs that have labels, in roi_id order.
        labels: roi_id -> the aggregated label (pipeline.sg3k.aggregate.aggregate_roi).
        split: "train" | "test".
        provenance: JSON-ready facts (segmenter, annotators, rules, source file ...).
    """

    ref_id: str
    image: np.ndarray
    rois: Sequence[ROI]
    labels: Mapping[int, Mapping[str, Any]]
    split: str
    provenance: Mapping[str, Any] = field(default_factory=dict)


def encode_authentic(group: AuthenticGroup, compression: int) -> list[dict[str, Any]]:
    """The one WebDataset sample of an authentic image: {"__key__", "png", "json"}."""
    key = sample_key(group.ref_id, AUTHENTIC, 0)
    rois = []
    for roi in group.rois:
        label = dict(group.labels[roi.roi_id])
        record = {**roi.to_json(), **label}
        record["instructions"] = make_instructions({**label, "dist_type": AUTHENTIC}, mode="stage2")
        rois.append(record)
    record = {
        "key": key,
        "ref_id": group.ref_id,
        "dist_type": AUTHENTIC,
        "level": 0,
        "height": int(group.image.shape[0]),
        "width": int(group.image.shape[1]),
        "reference_key": None,
        "rois": rois,
        "provenance": dict(group.provenance),
        "format_version": FORMAT_VERSION,
        "split": group.split,
        "dataset": DATASET,
    }
    require_declared(record, SAMPLE_JSON_3K, "SAMPLE_JSON_3K (pipeline/sg3k/shards.py)")
    return [{"__key__": key, IMAGE_EXT: encode_image(group.image, compression), JSON_EXT: dump_json(record)}]


def shard_config(split: str) -> ShardConfig:
    return ShardConfig(prefix=f"{PREFIX}-{split}", shards_per_chunk=SHARDS_PER_SPLIT)


def write_split_shards(out_dir: Path, groups: Sequence[AuthenticGroup]) -> list[Any]:
    """Write the groups into train and test shards (chunk 0 = train, 1 = test); returns the stats."""
    stats = []
    for chunk, split in enumerate(SPLITS):
        members = [g for g in groups if g.split == split]
        if members:
            stats += write_chunk(Path(out_dir), chunk, members, shard_config(split), encode=encode_authentic)
    return stats
