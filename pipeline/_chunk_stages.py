"""The stages a chunk runs, bound once per chunk: decode, render, masks, labels, and the shard writer.

Private to `pipeline.chunk`. Each function here is a few lines over a stage's public API
(ARCHITECTURE.md), so that the chunk's life cycle in `pipeline.chunk` reads without the details.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.build_config import BuildConfig
from pipeline.decode import DecodedRaw, decode_raw
from pipeline.presets import DISTORTIONS_FILE, REFERENCE_FILE, ISPPresets, load_presets
from pipeline.records import ROI, Variant
from pipeline.render import prepare_reference, render_variants
from pipeline.shards import RefGroup, ShardConfig

PACKAGE = "seagull-iqa"


@dataclass(frozen=True)
class Components:
    """The stages of one build with their models loaded (once per chunk).

    Attributes:
        presets: the ISP presets.
        segment: reference uint8 (H, W, 3), seed, original (H, W) -> [ROI].
        label: reference, rois, variants -> [label dict] (the labels contract).
        provenance: what made the samples (preset hash, segmenter, detector, metric, weight hashes,
            code version), stored in every sample and in the manifest.
    """

    presets: ISPPresets
    segment: Callable[[np.ndarray, int, tuple[int, int]], list[ROI]]
    label: Callable[[np.ndarray, list[ROI], list[Variant]], list[dict[str, Any]]]
    provenance: dict[str, Any]


def load_components(config: BuildConfig) -> Components:
    """Load presets, segmenter, detector and metric named by `config` (registry defaults when None)."""
    from pipeline import labels, masks

    presets = load_presets()
    device = config.device
    segmenter = masks.create_segmenter(
        config.segmenter or masks.DEFAULT_SEGMENTER, config.checkpoint, device=device
    )
    detector_name = config.detector or masks.DEFAULT_DETECTOR
    detector = (
        masks.create_detector(detector_name, config.detector_weights, device=device)
        if detector_name
        else None
    )
    metric = labels.create_metric(
        config.metric or labels.DEFAULT_METRIC, config.metric_weights, device=device
    )

    def segment(reference: np.ndarray, seed: int, original: tuple[int, int]) -> list[ROI]:
        mask_config = masks.MaskConfig(seed=seed)
        return masks.compute_rois(reference, segmenter, detector, mask_config, original_shape=original)

    def label(reference: np.ndarray, rois: list[ROI], variants: list[Variant]) -> list[dict[str, Any]]:
        return [record.to_json() for record in labels.label_reference(reference, rois, variants, metric)]

    provenance = {
        "preset_hash": preset_hash(presets),
        "segmenter": segmenter.provenance.name,
        "detector": detector.provenance.name if detector is not None else None,
        "metric": metric.name,
        # Base names and sha256 only: absolute paths would make the bytes depend on the machine.
        "weights": {
            "segmenter": _weight(config.checkpoint),
            "detector": _weight(config.detector_weights),
            "metric": _weight(config.metric_weights),
        },
        "code_version": metadata.version(PACKAGE),
        "seed": config.seed,
        "size": config.size,
    }
    return Components(presets, segment, label, provenance)


def resolve_defaults(config: BuildConfig) -> BuildConfig:
    """Fill in the registries' default segmenter, detector and metric where the config names none."""
    from pipeline import labels, masks

    return config.with_defaults(masks.DEFAULT_SEGMENTER, masks.DEFAULT_DETECTOR, labels.DEFAULT_METRIC)


def decode(path: str, config: BuildConfig) -> DecodedRaw:
    return decode_raw(path, size=config.size)


def render(
    decoded: DecodedRaw, components: Components, config: BuildConfig
) -> tuple[np.ndarray, list[Variant]]:
    """The reference uint8 (H, W, 3) and its variants (the reference ISP runs once for both)."""
    state = prepare_reference(decoded, components.presets)
    variants = render_variants(
        decoded,
        components.presets,
        types=config.types,
        levels=config.levels,
        seed=config.seed,
        reference=state,
    )
    return state.image, list(variants)


def ref_group(
    ref_id: str,
    path: str,
    reference: np.ndarray,
    variants: list[Variant],
    rois: list[ROI],
    labels: list[dict[str, Any]],
    provenance: dict[str, Any],
) -> RefGroup:
    """What the shard writer stores of one reference."""
    return RefGroup(ref_id, reference, variants, rois, labels, {**provenance, "raw_file": Path(path).name})


def shard_config(config: BuildConfig) -> ShardConfig:
    """One shard per chunk: names stay contiguous and a chunk's shard is its unit of resume."""
    return ShardConfig(shards_per_chunk=1)


def preset_hash(presets: ISPPresets) -> str:
    """sha256 (16 hex) of the preset files' bytes: changes whenever a level's parameters change."""
    digest = hashlib.sha256()
    for name in (REFERENCE_FILE, DISTORTIONS_FILE):
        digest.update((Path(presets.source) / name).read_bytes())
    return digest.hexdigest()[:16]


def _weight(path: str | None) -> dict[str, str] | None:
    if path is None:
        return None
    if not Path(path).is_file():  # e.g. labels.RANDOM_WEIGHTS, a name rather than a file
        return {"file": path, "sha256": None}
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return {"file": Path(path).name, "sha256": digest}
