"""Authentic-looking defects for the SEAGULL-3k demo set, by another route than the 100w ISP.

SEAGULL-100w distorts RAW data inside a camera pipeline; authentic photographs are damaged after it:
by a phone's resize-sharpen-JPEG chain, by a shaking hand, by a dark scene pushed up in gain. These
functions work on finished sRGB images (uint8 (H, W, 3)) and may act on part of the frame only (a
`weight` map in 0..1), because real distortions are uneven (paper §3.2). All are pure and seeded.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.isp.tone import srgb_decode, srgb_encode


def _float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def _uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def blend(original: np.ndarray, damaged: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """`damaged` where weight is 1, `original` where 0 (uint8 (H, W, 3)); weight None = everywhere."""
    if weight is None:
        return damaged
    w = weight.astype(np.float32)[..., None]
    return _uint8(_float(original) * (1 - w) + _float(damaged) * w)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at `quality` (1..100) with 4:2:0 chroma, as phones and web uploads do."""
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not JPEG-encode an image of shape {image.shape}")
    return cv2.imdecode(data, cv2.IMREAD_COLOR_RGB)


def phone_chain(
    image: np.ndarray, scale: float = 0.5, sharpen: float = 1.2, qualities=(60, 35)
) -> np.ndarray:
    """A phone/messaging chain: downscale, unsharp-mask (halos), JPEG, upscale back, JPEG again.

    Gives blocking, ringing and smeared detail (compression, some blur), like a photo forwarded twice.
    """
    height, width = image.shape[:2]
    small = cv2.resize(
        image, (max(8, int(width * scale)), max(8, int(height * scale))), interpolation=cv2.INTER_AREA
    )
    soft = cv2.GaussianBlur(small, (0, 0), 1.0)
    sharp = cv2.addWeighted(small, 1 + sharpen, soft, -sharpen, 0)
    out = jpeg_roundtrip(sharp, qualities[0])
    out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
    for quality in qualities[1:]:
        out = jpeg_roundtrip(out, quality)
    return out


def motion_blur(image: np.ndarray, length: int = 15, angle: float = 30.0) -> np.ndarray:
    """Linear camera-shake blur of `length` px at `angle` degrees, applied in linear light."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    kernel /= kernel.sum()
    linear = srgb_decode(_float(image))
    return _uint8(srgb_encode(np.clip(cv2.filter2D(linear, -1, kernel, borderType=cv2.BORDER_REFLECT), 0, 1)))


def underexposed_noisy(
    image: np.ndarray, stops: float = 2.5, full_well: float = 800.0, read_noise: float = 4.0, seed: int = 0
) -> np.ndarray:
    """A dark exposure with sensor noise: light divided by 2**stops, photon (Poisson) and read
    (Gaussian) noise at a small pixel's full well (electrons), then only a quarter of the lost stops is
    pushed back (auto-exposure gives up), so the result is both dark and noisy."""
    rng = np.random.default_rng(seed)
    linear = srgb_decode(_float(image)) / 2.0**stops
    electrons = rng.poisson(linear * full_well).astype(np.float32) + rng.normal(0, read_noise, linear.shape)
    pushed = np.clip(electrons / full_well * 2.0 ** (stops / 4), 0, 1)
    return _uint8(srgb_encode(pushed.astype(np.float32)))


def haze(image: np.ndarray, amount: float = 0.5, airlight: float = 0.85) -> np.ndarray:
    """Veiling glare / haze: a flat airlight mixed in, lowering contrast (and a little colour)."""
    return _uint8(_float(image) * (1 - amount) + airlight * amount)


def faded_colour(image: np.ndarray, saturation: float = 0.3) -> np.ndarray:
    """Washed-out colour (old prints, cheap sensors in flat light): saturation scaled in HSV."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] *= saturation
    return cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)


def ramp(shape: tuple[int, int], side: str = "left", start: float = 0.3, end: float = 0.7) -> np.ndarray:
    """A 0..1 weight rising across the frame from `side` (0 before `start`, 1 after `end`, as fractions)."""
    height, width = shape
    axis = np.linspace(0, 1, width if side in ("left", "right") else height, dtype=np.float32)
    if side in ("right", "bottom"):
        axis = axis[::-1]
    weight = np.clip((axis - start) / max(end - start, 1e-6), 0, 1)
    return np.broadcast_to(weight[None, :] if side in ("left", "right") else weight[:, None], shape).copy()


# name -> (function, the distortion types it causes). The demo recipes refer to these names.
DEFECTS = {
    "phone_chain": (phone_chain, ("compression", "blur")),
    "motion_blur": (motion_blur, ("blur",)),
    "underexposed_noisy": (underexposed_noisy, ("exposure", "noise")),
    "haze": (haze, ("contrast",)),
    "faded_colour": (faded_colour, ("colorfulness",)),
}
