"""Every Bayer order and EXIF orientation decodes registered and upright, as LibRaw renders it.

DNGs are made with the project's own unprocessing (`pipeline.sample`) in the four 2x2 orders, the four
orientations cameras write (1, 3, 6, 8) and 12- or 14-bit ranges (each order meets both), and rendered at
two working sizes:
256 px (the RAW holds more than 2x the photosites: the sensor's planes are resampled) and 512 px (it
holds fewer: LibRaw AHD demosaics it). The reference must have LibRaw's orientation (shape and content)
and each colour channel's edges must sit where LibRaw's do: the phase correlation of the channel's
gradient magnitude against rawpy's `postprocess` (area-resized to the working size) is at most
`MAX_SHIFT_PX` in x and y. The old decoder was 0.7-1.4 px off for every order but RGGB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import rawpy

from pipeline.decode import decode_raw
from pipeline.presets import ISPPresets
from pipeline.render import render_reference
from pipeline.sample import (
    CFA_ORDERS,
    EXIF_ORIENTATIONS,
    SAMPLE_PHOTOS,
    SampleConfig,
    sample_gains,
    unprocess,
    write_dng,
)

MAX_SHIFT_PX = 0.25  # at the working size
SENSOR_RANGES = {12: (256, 4095), 14: (600, 16383)}  # bits -> (black level, white level)
SIZES = {256: "sensor", 512: "libraw_ahd"}  # working size -> how the 902 x 600 RAW is decoded


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return SAMPLE_PHOTOS["chelsea"]()  # 451 x 300: a 902 x 600 RAW


def _gradient(channel: np.ndarray) -> np.ndarray:
    channel = channel.astype(np.float32)
    return cv2.magnitude(cv2.Sobel(channel, cv2.CV_32F, 1, 0), cv2.Sobel(channel, cv2.CV_32F, 0, 1))


def channel_shifts(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """float (3, 2): (dx, dy) in pixels of each channel of `ours` against `theirs`, both uint8 (H, W, 3)."""
    window = cv2.createHanningWindow(ours.shape[1::-1], cv2.CV_32F)
    return np.array(
        [cv2.phaseCorrelate(_gradient(theirs[..., c]), _gradient(ours[..., c]), window)[0] for c in range(3)]
    )


@pytest.mark.parametrize("orientation", EXIF_ORIENTATIONS)
@pytest.mark.parametrize("cfa", sorted(CFA_ORDERS))
def test_channels_registered_and_upright_like_libraw(
    tmp_path: Path, photo: np.ndarray, presets: ISPPresets, cfa: str, orientation: int
) -> None:
    bits = 12 if orientation in (3, 8) else 14
    black, white = SENSOR_RANGES[bits]
    config = SampleConfig(cfa=cfa, orientation=orientation, black_level=black, white_level=white)
    gains = sample_gains(0, 0, config)
    mosaic = unprocess(photo, gains, config)
    path = write_dng(tmp_path / f"{cfa}_{orientation}_{bits}.dng", mosaic, gains, config)
    with rawpy.imread(str(path)) as raw:
        full = raw.postprocess(use_camera_wb=True)
    for size, source in SIZES.items():
        decoded = decode_raw(path, size=size)
        assert decoded.mosaic_source == source
        ours = render_reference(decoded, presets)
        libraw = cv2.resize(full, decoded.size[::-1], interpolation=cv2.INTER_AREA)
        where = f"{cfa} orientation {orientation} {bits}-bit at {size} px"

        # Same orientation: same shape and the same picture (a wrongly turned cat correlates poorly).
        assert ours.shape == libraw.shape, where
        grey = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) for image in (ours, libraw)]
        correlation = np.corrcoef(grey[0].ravel(), grey[1].ravel())[0, 1]
        assert correlation > 0.95, f"{where}: not LibRaw's picture (r = {correlation:.3f})"

        shifts = channel_shifts(ours, libraw)
        assert np.abs(shifts).max() <= MAX_SHIFT_PX, (
            f"{where}: R, G, B (dx, dy) against LibRaw {np.round(shifts, 3).tolist()}"
        )
