"""Compression at the output: a JPEG encode/decode round trip (OpenCV/libjpeg, 4:2:0 chroma)."""

from __future__ import annotations

import cv2
import numpy as np


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode sRGB uint8 (H, W, 3) as JPEG at `quality` (1..100) and decode it back to uint8 (H, W, 3).

    The decoded pixels are what the build stores (losslessly, as PNG), so the JPEG artefacts are
    kept without a second lossy step.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    ok, encoded = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1])
