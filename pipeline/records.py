"""Records passed between stages: a rendered variant and a region of interest (ROI).

Masks travel as COCO run-length encoding (pycocotools), as in the authors' release.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils


@dataclass(frozen=True)
class Variant:
    """One distorted rendering of a reference.

    Attributes:
        dist_type: one of `pipeline.taxonomy.DISTORTION_TYPES`.
        level: 1 (mildest) .. 20 (strongest).
        image: uint8 array (H, W, 3), sRGB, the same H and W as its reference.
        isp: the ISP parameter that made it (`DistortionPreset.describe`: module, name, value, unit,
            direction, params), or None where unknown (e.g. images read back from a render folder).
    """

    dist_type: str
    level: int
    image: np.ndarray
    isp: dict[str, Any] | None = None


@dataclass(frozen=True)
class ROI:
    """One region of interest of a reference image (shared by its 120 distorted images).

    Attributes:
        roi_id: index of the ROI within its image (0..R-1).
        kind: "object" (detector box -> segmenter) or "component" (point prompts).
        rle: COCO RLE, {"size": [H, W], "counts": str}.
        bbox: COCO box (x, y, w, h) in pixels.
        area: mask pixels.
        score: the segmenter's confidence (predicted IoU for SAM), 0..1.
        segmenter: registry name of the segmenter that made the mask.
    """

    roi_id: int
    kind: str
    rle: dict[str, Any]
    bbox: tuple[int, int, int, int]
    area: int
    score: float
    segmenter: str

    @classmethod
    def from_mask(cls, roi_id: int, kind: str, mask: np.ndarray, score: float, segmenter: str) -> ROI:
        """Build an ROI from a boolean mask of shape (H, W)."""
        rle = encode_mask(mask)
        x, y, w, h = (int(round(v)) for v in mask_utils.toBbox(rle))
        return cls(roi_id, kind, rle, (x, y, w, h), int(mask_utils.area(rle)), float(score), segmenter)

    def mask(self) -> np.ndarray:
        """The mask as a bool array (H, W)."""
        return decode_mask(self.rle)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the format of the ROI JSON files and shard samples)."""
        record = asdict(self)
        record["bbox"] = list(self.bbox)
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> ROI:
        fields = {name: record[name] for name in cls.__dataclass_fields__}
        fields["bbox"] = tuple(int(v) for v in fields["bbox"])
        return cls(**fields)


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """COCO RLE of a bool/0-1 mask (H, W), with `counts` as str so that it is JSON-ready."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (H, W), got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_mask(rle: dict[str, Any]) -> np.ndarray:
    """Decode a COCO RLE (counts as str or bytes) to a bool array (H, W)."""
    counts = rle["counts"]
    coded = {
        "size": list(rle["size"]),
        "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
    }
    return mask_utils.decode(coded).astype(bool)
