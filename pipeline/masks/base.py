"""The two roles of the masks stage and the records they exchange.

A *segmenter* turns prompts (boxes, points) on one image into candidate masks; a *detector* turns an
image into boxes. Both carry `Provenance` (which weights made them), recorded with every ROI file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pycocotools import mask as mask_utils


@dataclass(frozen=True)
class Provenance:
    """Which component made a mask or a box, and from which weight file.

    Attributes:
        name: registry name, e.g. "sam_vit_b" or "felzenszwalb_rag".
        checkpoint: path of the weight file as given, None for weight-free components.
        sha256: hex digest of that file, None for weight-free components.
    """

    name: str
    checkpoint: str | None = None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "checkpoint": self.checkpoint, "sha256": self.sha256}

    @classmethod
    def of_file(cls, name: str, path: str | Path) -> Provenance:
        return cls(name, str(path), file_sha256(path))


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in 1 MiB blocks (SAM vit_h is 2.4 GB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Candidates:
    """Candidate masks from one segmenter call, already past the segmenter's own quality gates.

    Attributes:
        rles: COCO RLEs ({"size": [H, W], "counts": str}), one per candidate.
        scores: float32 (N,), the segmenter's confidence in 0..1 (predicted IoU for SAM).
        stability: float32 (N,), IoU of the mask under a threshold shift (1.0 for label maps).
    """

    rles: list[dict[str, Any]]
    scores: np.ndarray
    stability: np.ndarray

    def __len__(self) -> int:
        return len(self.rles)

    def areas(self) -> np.ndarray:
        """int64 (N,) mask areas in pixels."""
        return np.asarray([int(mask_utils.area(_coded(r))) for r in self.rles], dtype=np.int64)

    def take(self, index: np.ndarray | list[int]) -> Candidates:
        index = np.asarray(index, dtype=np.int64)
        return Candidates([self.rles[i] for i in index], self.scores[index], self.stability[index])

    @classmethod
    def empty(cls) -> Candidates:
        return cls([], np.zeros(0, np.float32), np.zeros(0, np.float32))

    @classmethod
    def from_masks(cls, masks: np.ndarray, scores: np.ndarray, stability: np.ndarray) -> Candidates:
        """Encode bool masks (N, H, W) in one pycocotools call."""
        if len(masks) == 0:
            return cls.empty()
        encoded = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
        rles = [{"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")} for r in encoded]
        return cls(rles, np.asarray(scores, np.float32), np.asarray(stability, np.float32))

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Candidates.empty()
        return Candidates(
            [r for p in parts for r in p.rles],
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.stability for p in parts]),
        )


@dataclass(frozen=True)
class Detections:
    """Boxes from a detector.

    Attributes:
        boxes: float32 (N, 4), XYXY in pixels of the image given to `detect`.
        scores: float32 (N,), detector confidence in 0..1, sorted descending.
    """

    boxes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)


class Segmenter(Protocol):
    """Prompted segmentation on one image at a time ("embed once, prompt many", as SamPredictor)."""

    provenance: Provenance

    def set_image(self, image: np.ndarray) -> None:
        """Prepare uint8 RGB (H, W, 3); every later prompt refers to this image."""

    def segment_boxes(self, boxes: np.ndarray) -> Candidates:
        """One mask per XYXY box of float32 (N, 4) (or fewer, where the gates drop one)."""

    def segment_points(self, points: np.ndarray) -> Candidates:
        """Masks for foreground points float32 (N, 2) as (x, y) pixels; any number per point."""


class Detector(Protocol):
    """Object proposals for the object-level ROIs."""

    provenance: Provenance

    def detect(self, image: np.ndarray) -> Detections:
        """Boxes on uint8 RGB (H, W, 3)."""


def _coded(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {"size": rle["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def coded_rles(rles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RLEs with bytes counts, as pycocotools' C functions want them."""
    return [_coded(r) for r in rles]
