"""Render the reference and the 6 x 20 distorted images of one decoded RAW file.

The reference ISP runs once: mosaic -> demosaic -> white balance -> colour matrix gives the linear sRGB
image that every variant except noise starts from; noise re-runs those stages from a noisy mosaic, as a
camera would. Each distortion changes only the ISP module it belongs to:

    noise        mosaic_noise  shot + read noise on the mosaic, before demosaicing
    exposure     exposure      gain in stops on linear RGB, highlights clip
    blur         blur          defocus disk in linear RGB
    contrast     tone          the tone curve's contrast
    colorfulness color         Oklab chroma between the tone curve and the gamma
    compression  compression   JPEG round trip of the reference output

Determinism: each variant's random numbers come from a generator seeded by (seed, reference id, type,
level) (`pipeline.seeds.variant_rng`), so a variant is the same whichever subset of types and levels is
rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.decode import DecodedRaw
from pipeline.isp.blur import apply_defocus
from pipeline.isp.color_matrix import apply_color_matrix
from pipeline.isp.colorfulness import scale_chroma
from pipeline.isp.compression import jpeg_roundtrip
from pipeline.isp.demosaic import demosaic
from pipeline.isp.exposure import apply_exposure
from pipeline.isp.noise import add_mosaic_noise
from pipeline.isp.tone import apply_lut, display_lut, gamma_lut, tone_lut_linear
from pipeline.isp.white_balance import apply_white_balance
from pipeline.presets import ISPPresets, ReferenceSettings
from pipeline.records import Variant
from pipeline.seeds import variant_rng
from pipeline.taxonomy import DISTORTION_TYPES, N_LEVELS_PER_TYPE, RELEASE_NAMES

BLUR_REFERENCE_SIDE = 1024  # preset blur radii are in pixels at this long side; scaled with the working size


@dataclass(frozen=True)
class ReferenceState:
    """What the reference rendering computes once and every variant reuses.

    Attributes:
        decoded: the decoded RAW file.
        settings: the reference ISP settings.
        linear: float32 (H, W, 3) linear sRGB after demosaic, white balance and colour matrix.
        exposed: float32 (H, W, 3) `linear` after the reference exposure and highlight clip, [0, 1].
        lut: uint8 (65536,) the reference tone curve + gamma look-up table.
        image: uint8 (H, W, 3) the reference rendering.
    """

    decoded: DecodedRaw
    settings: ReferenceSettings
    linear: np.ndarray
    exposed: np.ndarray
    lut: np.ndarray
    image: np.ndarray


def linear_from_mosaic(mosaic: np.ndarray, decoded: DecodedRaw, settings: ReferenceSettings) -> np.ndarray:
    """Demosaic, downsample to the working size, white-balance and colour-correct.

    Args:
        mosaic: float32 (Hm, Wm) Bayer mosaic of order `decoded.cfa`, 0..1 (`decoded.mosaic` or a noisy copy).

    Returns:
        float32 (H, W, 3) linear sRGB, (H, W) = `decoded.size`, not clipped.
    """
    camera = demosaic(mosaic, settings.demosaic, decoded.cfa)
    if camera.shape[:2] != decoded.size:
        # Area averaging of linear light: the correct downsampling for a camera image.
        camera = cv2.resize(camera, decoded.size[::-1], interpolation=cv2.INTER_AREA)
    balanced = apply_white_balance(camera, decoded.wb_gains)
    return apply_color_matrix(balanced, decoded.srgb_from_cam)


def finish(
    exposed: np.ndarray,
    settings: ReferenceSettings,
    contrast: float | None = None,
    saturation: float | None = None,
) -> np.ndarray:
    """Tone curve (with contrast) -> colour stage -> sRGB gamma: float32 linear (H, W, 3) -> uint8 (H, W, 3).

    `contrast` and `saturation` default to the reference settings.
    """
    contrast = settings.contrast if contrast is None else contrast
    saturation = settings.saturation if saturation is None else saturation
    if saturation == 1.0:  # identity colour stage: tone and gamma fuse into one look-up table
        return apply_lut(exposed, display_lut(settings.tone_curve, contrast))
    toned = apply_lut(exposed, tone_lut_linear(settings.tone_curve, contrast))
    return apply_lut(scale_chroma(toned, saturation), gamma_lut())


def prepare_reference(decoded: DecodedRaw, presets: ISPPresets) -> ReferenceState:
    """Run the reference ISP once and keep its intermediates for the variants."""
    settings = presets.reference
    linear = linear_from_mosaic(decoded.mosaic, decoded, settings)
    exposed = apply_exposure(linear, settings.exposure_ev)
    lut = display_lut(settings.tone_curve, settings.contrast)
    image = apply_lut(exposed, lut) if settings.saturation == 1.0 else finish(exposed, settings)
    return ReferenceState(decoded, settings, linear, exposed, lut, image)


def render_reference(decoded: DecodedRaw, presets: ISPPresets) -> np.ndarray:
    """The reference rendering (camera defaults): uint8 (H, W, 3) sRGB, H and W = `decoded.size`."""
    return prepare_reference(decoded, presets).image


def _exposure(ref: ReferenceState, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    # The level's EV replaces the reference's exposure setting.
    return finish(apply_exposure(ref.linear, params["ev"]), ref.settings)


def _noise(ref: ReferenceState, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    noisy = add_mosaic_noise(ref.decoded.mosaic, params["shot"], params["read"], rng)
    linear = linear_from_mosaic(noisy, ref.decoded, ref.settings)
    return finish(apply_exposure(linear, ref.settings.exposure_ev), ref.settings)


def _blur(ref: ReferenceState, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    radius = params["radius"] * max(ref.decoded.size) / BLUR_REFERENCE_SIDE
    return finish(apply_defocus(ref.exposed, radius), ref.settings)


def _contrast(ref: ReferenceState, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    return finish(ref.exposed, ref.settings, contrast=params["contrast"])


def _colorfulness(ref: ReferenceState, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    return finish(ref.exposed, ref.settings, saturation=params["saturation"])


def _compression(ref: ReferenceState, params: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    return jpeg_roundtrip(ref.image, params["quality"])


Renderer = Callable[[ReferenceState, dict[str, Any], np.random.Generator], np.ndarray]

# distortion type -> (the ISP module it acts in, as the presets name it; the function that renders it)
RENDERERS: dict[str, tuple[str, Renderer]] = {
    "exposure": ("exposure", _exposure),
    "noise": ("mosaic_noise", _noise),
    "blur": ("blur", _blur),
    "contrast": ("tone", _contrast),
    "colorfulness": ("color", _colorfulness),
    "compression": ("compression", _compression),
}


def render_variant(
    ref: ReferenceState, presets: ISPPresets, dist_type: str, level: int, seed: int = 0
) -> Variant:
    """Render one distorted image from a prepared reference."""
    module, renderer = RENDERERS[dist_type]
    preset = presets.distortions[dist_type]
    if preset.module != module:
        raise ValueError(
            f"{presets.source}: {dist_type}.module is {preset.module!r}; the renderer acts in {module!r}"
        )
    params = dict(preset.level(level))
    image = renderer(ref, params, variant_rng(seed, ref.decoded.ref_id, dist_type, level))
    return Variant(dist_type, level, image, isp=preset.describe(level))


def render_variants(
    decoded: DecodedRaw,
    presets: ISPPresets,
    types: Iterable[str] | None = None,
    levels: Iterable[int] | None = None,
    seed: int = 0,
    reference: ReferenceState | None = None,
) -> Iterator[Variant]:
    """Render distorted images of one decoded RAW file, type by type, level by level.

    Args:
        decoded: from `pipeline.decode.decode_raw`.
        presets: from `pipeline.presets.load_presets`.
        types: distortion types (default: all of `DISTORTION_TYPES`, in that order).
        levels: levels 1..20 (default: all).
        seed: the seed of the random parts (noise); same seed, same bytes.
        reference: a `prepare_reference` result to reuse (computed here if None).

    Yields:
        `Variant(dist_type, level, image uint8 (H, W, 3))`, H and W = `decoded.size`.
    """
    types = list(DISTORTION_TYPES if types is None else types)
    levels = list(range(1, N_LEVELS_PER_TYPE + 1) if levels is None else levels)
    unknown = [name for name in types if name not in RENDERERS]
    if unknown:
        raise ValueError(f"unknown distortion type(s) {unknown}; choose from {list(DISTORTION_TYPES)}")
    bad = [k for k in levels if not 1 <= k <= N_LEVELS_PER_TYPE]
    if bad:
        raise ValueError(f"level(s) {bad} outside 1..{N_LEVELS_PER_TYPE}")
    ref = reference or prepare_reference(decoded, presets)
    for dist_type in types:
        for level in levels:
            yield render_variant(ref, presets, dist_type, level, seed)


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write sRGB uint8 (H, W, 3) losslessly as PNG (parent folders created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1])):
        raise OSError(f"{path}: OpenCV could not write the PNG; check the folder is writable")
    return path


def contact_sheet(reference: np.ndarray, variants: Iterable[Variant], thumb: int = 160) -> np.ndarray:
    """A grid for a person to look at: one row per type, the reference then levels 1..20.

    Args:
        reference: uint8 (H, W, 3).
        variants: the variants to show (any subset; missing cells stay grey).
        thumb: long side of a cell in pixels.

    Returns:
        uint8 (rows * h, 21 * w, 3), rows = the types present, in `DISTORTION_TYPES` order.
    """
    height, width = reference.shape[:2]
    w, h = (
        (thumb, max(1, round(thumb * height / width)))
        if width >= height
        else (max(1, round(thumb * width / height)), thumb)
    )
    cells = {(v.dist_type, v.level): v.image for v in variants}
    types = [name for name in DISTORTION_TYPES if any(key[0] == name for key in cells)]
    sheet = np.full((max(1, len(types)) * h, (N_LEVELS_PER_TYPE + 1) * w, 3), 128, dtype=np.uint8)
    small_ref = cv2.resize(reference, (w, h), interpolation=cv2.INTER_AREA)
    for row, name in enumerate(types):
        sheet[row * h : (row + 1) * h, :w] = _label(small_ref, RELEASE_NAMES[name])
        for level in range(1, N_LEVELS_PER_TYPE + 1):
            if (name, level) in cells:
                cell = cv2.resize(cells[name, level], (w, h), interpolation=cv2.INTER_AREA)
                sheet[row * h : (row + 1) * h, level * w : (level + 1) * w] = _label(cell, str(level))
    return sheet


def _label(cell: np.ndarray, text: str) -> np.ndarray:
    """The cell with `text` in its top-left corner (white on a dark box, readable on any image)."""
    cell = cell.copy()
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
    cv2.rectangle(cell, (0, 0), (tw + 4, th + 6), (0, 0, 0), thickness=-1)
    cv2.putText(cell, text, (2, th + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return cell
