"""Synthetic reference groups (small random images, a few rectangular ROIs, labels) for shard tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.levels import level_word
from pipeline.records import ROI, Variant
from pipeline.shards import RefGroup, ShardConfig, write_chunk

TYPES = ("noise", "blur", "exposure")  # deliberately not in taxonomy order
LEVELS = (2, 1)


def make_group(ref_id: str, seed: int, n_rois: int = 3, labelled: bool = True, size=(40, 56)) -> RefGroup:
    """A reference with len(TYPES) x len(LEVELS) variants, `n_rois` box ROIs and (optionally) labels."""
    rng = np.random.default_rng(seed)
    height, width = size
    image = lambda: rng.integers(0, 256, (height, width, 3), dtype=np.uint8)  # noqa: E731
    rois = []
    for roi_id in range(n_rois):
        mask = np.zeros((height, width), bool)
        y, x = rng.integers(0, height // 2), rng.integers(0, width // 2)
        mask[y : y + 8 + roi_id, x : x + 10 + 2 * roi_id] = True
        rois.append(
            ROI.from_mask(roi_id, "object" if roi_id % 2 else "component", mask, 0.5 + roi_id / 10, "boxes")
        )
    variants = [Variant(t, level, image()) for t in TYPES for level in LEVELS]
    labels = [_label(rng, v, roi) for v in variants for roi in rois] if labelled else []
    provenance = {
        "preset_hash": "p0",
        "segmenter": "boxes",
        "detector": None,
        "metric": "topiq_fr",
        "weights": {"segmenter": None, "detector": None, "metric": {"file": "topiq.pth", "sha256": "ab12"}},
        "code_version": "test",
        "seed": seed,
    }
    return RefGroup(ref_id, image(), variants, rois, labels, provenance)


def _label(rng: np.random.Generator, variant: Variant, roi: ROI) -> dict:
    quality, importance, severity = (float(v) for v in rng.uniform(0, 1, 3))
    return {
        "dist_type": variant.dist_type,
        "level": variant.level,
        "roi_id": roi.roi_id,
        "quality": quality,
        "quality_level": level_word("quality", quality),
        "importance": importance,
        "importance_level": level_word("importance", importance),
        "distortion": variant.dist_type if quality <= 0.92 else "none",
        # A clean ROI has no severity (labels contract, ARCHITECTURE.md).
        "severity": severity if quality <= 0.92 else None,
        "severity_level": level_word("severity", severity) if quality <= 0.92 else None,
        "metric": "topiq_fr",
    }


def build(out: Path, chunks: list[list[RefGroup]], config: ShardConfig | None = None) -> list:
    """Write each chunk; return all stats."""
    config = config or ShardConfig()
    return [stats for index, groups in enumerate(chunks) for stats in write_chunk(out, index, groups, config)]


@pytest.fixture()
def group_factory():
    """`make_group(ref_id, seed, n_rois=3, labelled=True, size=(40, 56))` (tests cannot import conftest)."""
    return make_group


@pytest.fixture()
def build_chunks():
    """`build(out, chunks, config=None)`: write each chunk, return all stats."""
    return build


@pytest.fixture(scope="session")
def chunks() -> list[list[RefGroup]]:
    """Two chunks: refs b, a (unsorted on purpose) and c."""
    return [[make_group("ref-b", 2), make_group("ref-a", 1)], [make_group("ref-c", 3, n_rois=1)]]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, chunks) -> Path:
    """A finished shard directory of the two chunks (shared: tests must not modify it)."""
    from pipeline.shards import finalize

    out = tmp_path_factory.mktemp("built") / "shards"
    build(out, chunks)
    finalize(out)
    return out
