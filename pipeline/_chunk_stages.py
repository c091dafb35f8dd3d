"""The stages a chunk runs, bound once per chunk: decode, render, masks, labels, shard writer.

Private to `pipeline.chunk`. Each function here is a few lines over the stage's public API
(ARCHITECTURE.md), so that the chunk's life cycle in `pipeline.chunk` reads without the details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.build_config import BuildConfig
from pipeline.records import ROI, Variant


@dataclass(frozen=True)
class BuiltReference:
    """One reference, fully built: image uint8 (H, W, 3), its variants, ROIs and ROI labels."""

    ref_id: str
    reference: np.ndarray
    variants: list[Variant]
    rois: list[ROI]
    labels: list[Any]


@dataclass(frozen=True)
class Components:
    """The stages of one build, with their models loaded once per chunk.

    Attributes:
        decode: (path, size) -> DecodedRaw.
        render: (decoded, config, seed) -> (reference uint8 (H, W, 3), [Variant]).
        masks: (reference, seed) -> [ROI].
        labels: (reference, rois, variants) -> [label records].
        provenance: what made the labels (segmenter, detector, metric, weight hashes, presets, code).
    """

    decode: Callable[[str, int | None], Any]
    render: Callable[[Any, BuildConfig, int], tuple[np.ndarray, list[Variant]]]
    masks: Callable[[np.ndarray, int], list[ROI]]
    labels: Callable[[np.ndarray, list[ROI], list[Variant]], list[Any]]
    provenance: dict[str, Any]


def load_components(config: BuildConfig) -> Components:
    """Load presets, segmenter, detector and metric named by `config` (registry defaults when None)."""
    from pipeline import labels as labels_stage
    from pipeline import masks as masks_stage
    from pipeline.decode import decode_raw
    from pipeline.presets import load_presets
    from pipeline.render import render_reference, render_variants

    presets = load_presets()
    segmenter = masks_stage.create_segmenter(config.segmenter or masks_stage.DEFAULT_SEGMENTER, config.checkpoint)
    detector_name = config.detector or masks_stage.DEFAULT_DETECTOR
    detector = masks_stage.create_detector(detector_name, config.detector_weights) if detector_name else None
    metric = labels_stage.create_metric(config.metric or labels_stage.DEFAULT_METRIC, config.metric_weights)

    def render(decoded: Any, cfg: BuildConfig, seed: int) -> tuple[np.ndarray, list[Variant]]:
        reference = render_reference(decoded, presets)
        variants = list(render_variants(decoded, presets, types=cfg.types, levels=cfg.levels, seed=seed))
        return reference, variants

    def masks(reference: np.ndarray, seed: int) -> list[ROI]:
        return masks_stage.compute_rois(reference, segmenter, detector)

    def labels(reference: np.ndarray, rois: list[ROI], variants: list[Variant]) -> list[Any]:
        return labels_stage.label_reference(reference, rois, variants, metric)

    provenance = {"config": config.fingerprint()}
    return Components(decode_raw, render, masks, labels, provenance)


@contextmanager
def open_chunk_writer(out: Path, index: int, config: BuildConfig) -> Iterator[Any]:
    """The shard writer of chunk `index` (deterministic bytes, atomic rename on close)."""
    from pipeline import shards

    writer = shards.ChunkWriter(out, index, maxsize=config.shard_maxsize)
    try:
        yield writer
    finally:
        writer.close()


def write_reference(writer: Any, built: BuiltReference, provenance: dict[str, Any]) -> None:
    """Write one reference sample and its distorted samples (with ROI labels and instructions)."""
    writer.write_reference(built.ref_id, built.reference, built.variants, built.rois, built.labels, provenance)


def writer_shards(writer: Any) -> list[dict[str, Any]]:
    """[{"name", "bytes", "sha256", "count"}] of the shards the writer finished."""
    return list(writer.shards)


def remove_chunk(out: Path, index: int) -> None:
    """Delete whatever an earlier, unfinished or stale run of chunk `index` left behind."""
    from pipeline import shards

    shards.remove_chunk(out, index)
