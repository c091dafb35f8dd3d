"""The stages of one reference, shared by the build's chunks and the stage commands.

`pipeline.chunk` (the build) and `pipeline.stage_runs` (`seagull render|masks|label`) both call these,
so a behaviour fixed here is fixed for both: decode + render (`render_reference`), the masks stage
(`segment`, seeded per reference as in `pipeline.seeds`), the labels stage (`label`), and the loading
of the models that the masks and labels stages need (`load_mask_models`, `load_components`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.build_config import BuildConfig
from pipeline.decode import DecodedRaw, decode_raw
from pipeline.defaults import NO_DETECTOR
from pipeline.presets import DISTORTIONS_FILE, REFERENCE_FILE, ISPPresets, load_presets
from pipeline.records import ROI, Variant
from pipeline.render import prepare_reference, render_variants
from pipeline.seeds import reference_seed
from pipeline.shards import RefGroup

if TYPE_CHECKING:
    from pipeline.labels import LabelMetric
    from pipeline.masks import Detector, MaskConfig, Segmenter

PACKAGE = "seagull-iqa"


@dataclass(frozen=True)
class Rendered:
    """One RAW file decoded and rendered: `reference` uint8 (H, W, 3) and its `variants`."""

    decoded: DecodedRaw
    reference: np.ndarray
    variants: list[Variant]


def render_reference(
    path: str | Path,
    presets: ISPPresets,
    types: tuple[str, ...] | list[str] | None,
    levels: tuple[int, ...] | list[int] | None,
    size: int | None,
    seed: int,
) -> Rendered:
    """Decode `path` once and render its reference and variants."""
    return render_decoded(decode_raw(path, size=size), presets, types, levels, seed)


def render_decoded(
    decoded: DecodedRaw,
    presets: ISPPresets,
    types: tuple[str, ...] | list[str] | None,
    levels: tuple[int, ...] | list[int] | None,
    seed: int,
) -> Rendered:
    """The reference and variants of a decoded RAW file (the reference ISP runs once for all)."""
    state = prepare_reference(decoded, presets)
    variants = render_variants(decoded, presets, types=types, levels=levels, seed=seed, reference=state)
    return Rendered(decoded, state.image, list(variants))


def segment(
    reference: np.ndarray,
    ref_id: str,
    models: tuple[Segmenter, Detector | None],
    seed: int,
    original_shape: tuple[int, int] | None,
    config: MaskConfig | None = None,
) -> list[ROI]:
    """The ROIs of one reference; the point prompts are seeded by `reference_seed(seed, ref_id)`.

    Args:
        original_shape: (H, W) of the RAW file (the 32 x 32 px floor applies there), or None when
            `reference` is the original.
        config: sampling, gates and cap (`MaskConfig()` when None); its seed is replaced.
    """
    from pipeline import masks

    config = replace(config or masks.MaskConfig(), seed=reference_seed(seed, ref_id))
    segmenter, detector = models
    return masks.compute_rois(reference, segmenter, detector, config, original_shape=original_shape)


def label(
    reference: np.ndarray, rois: list[ROI], variants: list[Variant], metric: LabelMetric
) -> list[dict[str, Any]]:
    """The label records of every (variant, ROI) of one reference (the labels contract)."""
    from pipeline import labels

    return [record.to_json() for record in labels.label_reference(reference, rois, variants, metric)]


def load_mask_models(
    segmenter: str | None,
    checkpoint: str | None,
    detector: str | None,
    detector_weights: str | None,
    device: str,
) -> tuple[Segmenter, Detector | None]:
    """The segmenter and detector by registry name (None: the defaults; detector "none": no detector)."""
    from pipeline import masks

    seg = masks.create_segmenter(segmenter or masks.DEFAULT_SEGMENTER, checkpoint, device=device)
    name = detector or masks.DEFAULT_DETECTOR
    if not name or name.lower() == NO_DETECTOR:
        return seg, None
    return seg, masks.create_detector(name, detector_weights, device=device)


@dataclass(frozen=True)
class Components:
    """The models of one build, loaded once per chunk.

    Attributes:
        presets: the ISP presets.
        masks: (segmenter, detector or None).
        metric: the labels stage's full-reference metric.
        provenance: what made the samples (preset hash, segmenter, detector, metric, weight hashes,
            code version), stored in every sample and in the manifest.
    """

    presets: ISPPresets
    masks: tuple[Segmenter, Detector | None]
    metric: LabelMetric
    provenance: dict[str, Any]


def load_components(config: BuildConfig) -> Components:
    """Load presets, segmenter, detector and metric named by `config` (registry defaults when None)."""
    from pipeline import labels

    presets = load_presets()
    segmenter, detector = load_mask_models(
        config.segmenter, config.checkpoint, config.detector, config.detector_weights, config.device
    )
    metric = labels.create_metric(
        config.metric or labels.DEFAULT_METRIC, config.metric_weights, device=config.device
    )
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
    return Components(presets, (segmenter, detector), metric, provenance)


def ref_group(
    ref_id: str, path: str, rendered: Rendered, rois: list[ROI], labels: list, provenance: dict
) -> RefGroup:
    """What the shard writer stores of one reference."""
    return RefGroup(
        ref_id,
        rendered.reference,
        rendered.variants,
        rois,
        labels,
        {**provenance, "raw_file": Path(path).name},
    )


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
