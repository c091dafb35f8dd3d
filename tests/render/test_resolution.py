"""A level means the same whatever the RAW's resolution, and a small RAW's demosaic is LibRaw AHD's.

One scene (the china photograph, roof tiles and foliage) is unprocessed into a RAW of 1x and of 4x the
working size. The 1x RAW has fewer photosites than the 2x mosaic, so LibRaw AHD demosaics it; the 4x
RAW's planes are resampled. For every type, level 1 and level 10 must have PSNR against their own
reference within `MAX_PSNR_GAP_DB` of each other (the old decoder's 1x demosaic made JPEG level 1
12 dB harsher). The 1x reference's high-frequency chroma error against the photograph must be at most
`MAX_CHROMA_RATIO` x that of LibRaw AHD alone on the same mosaic, finished by the same colour pipeline
(measured 0.57 x: the decoder adds dcraw's false-colour median filter after AHD).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import rawpy
from skimage.metrics import peak_signal_noise_ratio

from pipeline.decode import decode_raw, libraw_camera_rgb
from pipeline.isp.color_matrix import apply_color_matrix
from pipeline.isp.tone import apply_lut, display_lut
from pipeline.isp.white_balance import apply_white_balance
from pipeline.presets import ISPPresets
from pipeline.render import prepare_reference, render_variant
from pipeline.sample import SAMPLE_PHOTOS, SampleConfig, sample_gains, unprocess, write_dng
from pipeline.taxonomy import DISTORTION_TYPES

MAX_PSNR_GAP_DB = 2.0
MAX_CHROMA_RATIO = 1.25
CHECKED_LEVELS = (1, 10)


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return SAMPLE_PHOTOS["china"]()  # 640 x 427


@pytest.fixture(scope="module")
def raws(tmp_path_factory: pytest.TempPathFactory, scene: np.ndarray) -> dict[int, Path]:
    """upscale -> a DNG of the scene with that many photosites per photograph pixel (per side)."""
    folder = tmp_path_factory.mktemp("resolution")
    paths = {}
    for upscale in (1, 4):
        config = SampleConfig(upscale=upscale)
        gains = sample_gains(5, 0, config)
        paths[upscale] = write_dng(folder / f"x{upscale}.dng", unprocess(scene, gains, config), gains, config)
    return paths


def test_level_psnr_does_not_depend_on_raw_size(
    raws: dict[int, Path], scene: np.ndarray, presets: ISPPresets
) -> None:
    size = max(scene.shape[:2])
    psnr: dict[int, dict[tuple[str, int], float]] = {}
    for upscale, path in raws.items():
        decoded = decode_raw(path, size=size)
        assert decoded.mosaic_source == ("libraw_ahd" if upscale == 1 else "sensor")
        reference = prepare_reference(decoded, presets)
        psnr[upscale] = {
            (t, k): peak_signal_noise_ratio(
                reference.image, render_variant(reference, presets, t, k).image, data_range=255
            )
            for t in DISTORTION_TYPES
            for k in CHECKED_LEVELS
        }
    gaps = {key: round(psnr[1][key] - psnr[4][key], 2) for key in psnr[1]}
    worst = max(gaps, key=lambda key: abs(gaps[key]))
    assert abs(gaps[worst]) <= MAX_PSNR_GAP_DB, f"PSNR(1x) - PSNR(4x) by (type, level): {gaps}"


def _high_frequency_chroma_error(image: np.ndarray, truth: np.ndarray) -> float:
    """RMS of the high-pass (detail above ~2 px) of the Cr and Cb error of uint8 RGB `image` vs `truth`."""
    error = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float32) - cv2.cvtColor(
        truth, cv2.COLOR_RGB2YCrCb
    ).astype(np.float32)
    chroma = error[..., 1:]
    detail = chroma - cv2.GaussianBlur(chroma, (0, 0), 2.0)
    return float(np.sqrt(np.mean(detail[8:-8, 8:-8] ** 2)))


def test_small_raw_chroma_artefacts_are_libraw_ahds(
    raws: dict[int, Path], scene: np.ndarray, presets: ISPPresets
) -> None:
    path = raws[1]
    decoded = decode_raw(path, size=max(scene.shape[:2]))
    ours = prepare_reference(decoded, presets).image
    with rawpy.imread(str(path)) as raw:
        camera = libraw_camera_rgb(raw, decoded.wb_gains, median_passes=0)  # AHD alone
    linear = apply_color_matrix(apply_white_balance(camera, decoded.wb_gains), decoded.srgb_from_cam)
    ahd = apply_lut(linear, display_lut(presets.reference.tone_curve, presets.reference.contrast))
    truth = scene[: ours.shape[0], : ours.shape[1]]
    assert ahd.shape == ours.shape == truth.shape
    ratio = _high_frequency_chroma_error(ours, truth) / _high_frequency_chroma_error(ahd, truth)
    assert ratio <= MAX_CHROMA_RATIO, f"high-frequency chroma error {ratio:.2f} x LibRaw AHD's"
