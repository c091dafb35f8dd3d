"""Example images for the page, taken from the first shard of a shard folder."""

from __future__ import annotations

import numpy as np

from pipeline.records import ROI, Variant
from pipeline.shards.format import RefGroup
from pipeline.shards.writer import ShardConfig, write_chunk
from pipeline.taxonomy import DISTORTION_TYPES
from seagull.demo.examples import extract_examples


def _group(ref_id: str) -> RefGroup:
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    variants = [
        Variant(kind, level, np.full_like(reference, 10 * i + level))
        for i, kind in enumerate(DISTORTION_TYPES[:3])
        for level in (1, 6, 16)
    ]
    mask = np.zeros((24, 32), bool)
    mask[4:12, 4:20] = True
    return RefGroup(ref_id, reference, variants, [ROI.from_mask(0, "object", mask, 0.9, "test")], [], {})


def test_reference_first_then_one_distorted_image_per_type(tmp_path):
    write_chunk(tmp_path / "shards", 0, [_group("alpha"), _group("beta")], ShardConfig())
    examples = extract_examples(tmp_path / "shards", tmp_path / "examples", limit=3)
    assert [p.name for p in examples] == [
        "alpha_ref.png",
        f"alpha_{DISTORTION_TYPES[0]}_06.png",
        f"alpha_{DISTORTION_TYPES[1]}_16.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in examples)


def test_no_shards_no_examples(tmp_path):
    assert extract_examples(tmp_path / "nothing", tmp_path / "examples") == []
