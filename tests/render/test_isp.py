"""ISP stages on their own: calibration values of each stage."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.isp.blur import apply_defocus, disk_kernel
from pipeline.isp.colorfulness import scale_chroma
from pipeline.isp.compression import jpeg_roundtrip
from pipeline.isp.demosaic import demosaic, list_demosaic_methods
from pipeline.isp.exposure import apply_exposure
from pipeline.isp.noise import add_mosaic_noise
from pipeline.isp.tone import contrast_curve, inverse_smoothstep, smoothstep, srgb_decode, srgb_encode
from pipeline.sample import CFA_ORDERS


def test_noise_variance_follows_shot_plus_read() -> None:
    rng = np.random.default_rng(0)
    for level in (0.05, 0.5):
        flat = np.full((256, 256), level, np.float32)
        noisy = add_mosaic_noise(flat, shot=0.01, read=0.02, rng=rng)
        assert noisy.std() == pytest.approx(np.sqrt(0.01 * level + 0.02**2), rel=0.03)
        assert noisy.mean() == pytest.approx(level, abs=0.002)  # values below black are kept: no bias


@pytest.mark.parametrize("cfa", sorted(CFA_ORDERS))
@pytest.mark.parametrize("method", list_demosaic_methods())
def test_demosaic_keeps_flat_colours(method: str, cfa: str) -> None:
    # Each Bayer order maps to its own OpenCV code: R sites must come out red, B sites blue.
    mosaic = np.empty((32, 32), np.float32)
    for site, colour in enumerate(CFA_ORDERS[cfa]):
        mosaic[site // 2 :: 2, site % 2 :: 2] = (0.8, 0.4, 0.1)[colour]
    rgb = demosaic(mosaic, method, cfa)
    np.testing.assert_allclose(rgb[8:-8, 8:-8], np.broadcast_to([0.8, 0.4, 0.1], (16, 16, 3)), atol=2e-4)


def test_tone_curves_invert() -> None:
    y = np.linspace(0, 1, 101)
    np.testing.assert_allclose(smoothstep(inverse_smoothstep(y)), y, atol=1e-9)
    np.testing.assert_allclose(srgb_decode(srgb_encode(y)), y, atol=1e-9)
    assert srgb_encode(np.array(0.18)) == pytest.approx(0.4614, abs=1e-3)  # mid-grey in sRGB


def test_contrast_curve_slope_and_end_points() -> None:
    for contrast in (0.5, 2.0, 4.0):
        ends = contrast_curve(np.array([0.0, 1.0]), contrast)
        slope = (
            contrast_curve(np.array(0.5 + 1e-5), contrast) - contrast_curve(np.array(0.5 - 1e-5), contrast)
        ) / 2e-5
        assert slope == pytest.approx(contrast, rel=1e-3)
        if contrast > 1:
            np.testing.assert_allclose(ends, [0.0, 1.0], atol=1e-12)


def test_exposure_gain_and_clip() -> None:
    linear = np.array([[[0.1, 0.3, 0.6]]], np.float32)
    np.testing.assert_allclose(apply_exposure(linear, 1.0), [[[0.2, 0.6, 1.0]]], atol=1e-6)
    np.testing.assert_allclose(apply_exposure(linear, -1.0), linear / 2, atol=1e-6)


def test_disk_kernel_area() -> None:
    assert disk_kernel(0.4).shape == (1, 1)  # a PSF inside one pixel does not blur
    kernel = disk_kernel(5.0)
    assert kernel.sum() == pytest.approx(1.0) and kernel.shape == (11, 11)
    # Inside pixels are fully covered: each weighs 1 / (disk area).
    assert kernel.max() == pytest.approx(1.0 / (np.pi * 25), rel=0.02)
    flat = np.full((20, 20, 3), 0.3, np.float32)
    np.testing.assert_allclose(apply_defocus(flat, 3.0), flat, atol=1e-6)


def test_chroma_scale_identity_and_grey() -> None:
    rng = np.random.default_rng(1)
    linear = rng.uniform(0.05, 0.9, (8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(scale_chroma(linear, 1.0), linear, atol=1e-4)
    grey = scale_chroma(linear, 0.0)
    np.testing.assert_allclose(grey, grey[..., :1].repeat(3, axis=2), atol=1e-4)


def test_jpeg_roundtrip() -> None:
    image = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    out = jpeg_roundtrip(image, 10)
    assert out.shape == image.shape and out.dtype == np.uint8 and not np.array_equal(out, image)
    with pytest.raises(ValueError, match="1..100"):
        jpeg_roundtrip(image, 0)
