"""One visitor's state in the demo: the image, the prompts clicked on it and the ROI mask they make.

Everything here is independent of Gradio, so the same steps are tested without a browser:
`start(pixels)` -> `click(session, x, y, mode)` (repeatedly) or `use_mask(session, mask)` -> the mask.

Prompts refine the mask one at a time, whatever the segmenter: a positive point or a box adds its
best candidate to the mask, a negative point removes its best candidate from it. That composition
needs only the `Segmenter` interface of `pipeline.masks` (foreground points and boxes), so the
weight-free default and SAM behave the same way in the page.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from pipeline.masks import Segmenter
from pipeline.records import decode_mask

POSITIVE, NEGATIVE, BOX = "positive point", "negative point", "box (or click two opposite corners)"
MODES = (POSITIVE, NEGATIVE, BOX)

# The largest image side the demo accepts: a 24 MP camera frame is ~6000 px; beyond this the
# weight-free segmenter and the overlay get slow on a CPU and a browser upload gets heavy.
MAX_SIDE = 6000
TINT, TINT_ALPHA = (30, 144, 255), 0.45  # the ROI's fill colour (RGB) and opacity on the overlay


class DemoError(Exception):
    """A problem the page shows to the visitor as a sentence (never a stack trace)."""


@dataclass(frozen=True)
class Session:
    """What one visitor has done so far.

    Attributes:
        pixels: uint8 RGB (H, W, 3), the image being assessed (never drawn on).
        key: sha1 of the pixels: tells the shared segmenter when it must embed a new image.
        mask: bool (H, W), the current ROI, or None before the first prompt.
        positive, negative: (x, y) pixels of the points clicked, in click order.
        boxes: XYXY pixel boxes drawn so far.
        corner: the first corner of a box being drawn (box mode), else None.
        source: what made the mask: "clicks" or "uploaded mask".
    """

    pixels: np.ndarray
    key: str
    mask: np.ndarray | None = None
    positive: tuple[tuple[int, int], ...] = ()
    negative: tuple[tuple[int, int], ...] = ()
    boxes: tuple[tuple[int, int, int, int], ...] = ()
    corner: tuple[int, int] | None = None
    source: str = "clicks"


def start(pixels: np.ndarray | None, max_side: int = MAX_SIDE) -> Session:
    """A fresh session on an uploaded image (uint8 (H, W, 3) or (H, W) / (H, W, 4), converted to RGB)."""
    if pixels is None:
        raise DemoError("Upload an image or pick one of the examples first.")
    pixels = _rgb(np.asarray(pixels))
    height, width = pixels.shape[:2]
    if max(height, width) > max_side:
        raise DemoError(
            f"The image is {width}x{height} pixels; this demo takes at most {max_side} px per side. "
            "Resize it (or start the demo with a larger --max-side) and upload it again."
        )
    return Session(pixels=pixels, key=hashlib.sha1(pixels.tobytes()).hexdigest())


def click(session: Session | None, x: float, y: float, mode: str, segmenter: SharedSegmenter) -> Session:
    """Apply one click at pixel (x, y) of the image: a point prompt, or one corner of a box."""
    if session is None:
        raise DemoError("Upload an image or pick one of the examples before clicking.")
    height, width = session.pixels.shape[:2]
    if not (0 <= x < width and 0 <= y < height):
        raise DemoError(
            f"The click at ({x:.0f}, {y:.0f}) is outside the image ({width}x{height} px): "
            "click on the picture itself."
        )
    point = (int(x), int(y))
    if mode == BOX:
        if session.corner is None:
            return replace(session, corner=point)
        return _add_box(session, _box(session.corner, point), segmenter)
    if mode == NEGATIVE:
        if session.mask is None:
            raise DemoError("A negative point removes part of the ROI: click a positive point first.")
        region = segmenter.best_point(session, point)
        return replace(session, mask=session.mask & ~region, negative=(*session.negative, point), corner=None)
    if mode != POSITIVE:
        raise DemoError(f"Unknown click mode {mode!r}: choose one of {', '.join(MODES)}.")
    region = segmenter.best_point(session, point)
    return replace(
        session, mask=_union(session.mask, region), positive=(*session.positive, point), corner=None
    )


def drag(
    session: Session | None,
    start_xy: tuple[float, float],
    end_xy: tuple[float, float],
    segmenter: SharedSegmenter,
) -> Session:
    """Add the box dragged from `start_xy` to `end_xy` (pixels; the ends are clipped to the image)."""
    if session is None:
        raise DemoError("Upload an image or pick one of the examples before drawing a box.")
    height, width = session.pixels.shape[:2]
    (x0, y0), (x1, y1) = (
        (min(max(int(x), 0), width - 1), min(max(int(y), 0), height - 1)) for x, y in (start_xy, end_xy)
    )
    if x0 == x1 or y0 == y1:
        raise DemoError("The box has no area inside the image: drag across the region you want assessed.")
    return _add_box(session, _box((x0, y0), (x1, y1)), segmenter)


def _add_box(session: Session, box: tuple[int, int, int, int], segmenter: SharedSegmenter) -> Session:
    region = segmenter.best_box(session, box)
    return replace(session, mask=_union(session.mask, region), boxes=(*session.boxes, box), corner=None)


def use_mask(session: Session | None, mask: np.ndarray | None) -> Session:
    """Replace the clicked ROI by an uploaded mask image (non-zero = inside), of the image's size."""
    if session is None:
        raise DemoError("Upload the image first, then its mask.")
    if mask is None:
        raise DemoError("The mask upload is empty.")
    mask = np.asarray(mask)
    roi = (mask.max(axis=-1) if mask.ndim == 3 else mask) > 0
    height, width = session.pixels.shape[:2]
    if roi.shape != (height, width):
        raise DemoError(
            f"The mask is {roi.shape[1]}x{roi.shape[0]} px but the image is {width}x{height}: "
            "upload a mask of the same size."
        )
    if not roi.any():
        raise DemoError("The uploaded mask is empty: its ROI pixels must be non-zero.")
    return replace(session, mask=roi, positive=(), negative=(), boxes=(), corner=None, source="uploaded mask")


def clear(session: Session | None) -> Session | None:
    """The same image with no prompts and no mask."""
    return None if session is None else Session(pixels=session.pixels, key=session.key)


def require_mask(session: Session | None) -> np.ndarray:
    """The ROI to assess, or a DemoError saying what to do first."""
    if session is None:
        raise DemoError("Upload an image or pick one of the examples, then click on it.")
    if session.mask is None or not session.mask.any():
        raise DemoError(
            "There is no ROI yet (or the last negative point removed all of it): click on the image."
        )
    return session.mask


def overlay(session: Session | None) -> np.ndarray | None:
    """uint8 RGB (H, W, 3): the image with the ROI tinted and outlined, points and boxes marked."""
    if session is None:
        return None
    canvas = session.pixels.copy()
    if session.mask is not None and session.mask.any():
        mask = session.mask
        canvas[mask] = (1 - TINT_ALPHA) * canvas[mask] + TINT_ALPHA * np.asarray(TINT, np.float32)
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(canvas, contours, -1, TINT, 2)
    radius = max(3, max(canvas.shape[:2]) // 120)
    for points, colour in ((session.positive, (0, 220, 0)), (session.negative, (230, 0, 0))):
        for x, y in points:
            cv2.circle(canvas, (x, y), radius, colour, -1, cv2.LINE_AA)
            cv2.circle(canvas, (x, y), radius, (255, 255, 255), 1, cv2.LINE_AA)
    for x0, y0, x1, y1 in session.boxes:
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (255, 200, 0), 2)
    if session.corner is not None:
        cv2.drawMarker(canvas, session.corner, (255, 200, 0), cv2.MARKER_CROSS, 4 * radius, 2)
    return canvas


@dataclass
class SharedSegmenter:
    """One segmenter shared by every visitor: embeds each new image once, one prompt at a time.

    Attributes:
        segmenter: a `pipeline.masks` segmenter (stateful: it holds the last image it embedded).
        name: what the page says it uses, e.g. "felzenszwalb_rag (weight-free)".
    """

    segmenter: Segmenter
    name: str
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key: str | None = None

    def best_point(self, session: Session, point: tuple[int, int]) -> np.ndarray:
        """bool (H, W): the best-scored candidate mask of one foreground point."""
        with self._lock:
            self._embed(session)
            candidates = self.segmenter.segment_points(np.array([point], np.float32))
        return self._best(candidates, f"at {point}")

    def best_box(self, session: Session, box: tuple[int, int, int, int]) -> np.ndarray:
        """bool (H, W): the best-scored candidate mask of one XYXY box."""
        with self._lock:
            self._embed(session)
            candidates = self.segmenter.segment_boxes(np.array([box], np.float32))
        return self._best(candidates, f"in the box {box}")

    def _embed(self, session: Session) -> None:
        if self._key != session.key:
            self.segmenter.set_image(session.pixels)
            self._key = session.key

    def _best(self, candidates, where: str) -> np.ndarray:
        if not len(candidates):
            raise DemoError(f"The segmenter found no region {where}: click elsewhere or upload a mask.")
        return decode_mask(candidates.rles[int(np.argmax(candidates.scores))])


def _rgb(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    if pixels.ndim != 3 or pixels.shape[-1] not in (3, 4):
        raise DemoError(f"Cannot read an image of shape {pixels.shape}: upload an RGB picture (PNG, JPEG).")
    if pixels.dtype != np.uint8:
        raise DemoError(f"Cannot read an image of {pixels.dtype} pixels: upload an 8-bit PNG or JPEG.")
    return np.ascontiguousarray(pixels[..., :3])


def _box(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]) + 1, max(a[1], b[1]) + 1


def _union(mask: np.ndarray | None, region: np.ndarray) -> np.ndarray:
    return region if mask is None else mask | region


def interactive_options(name: str) -> dict:
    """Extra factory arguments for one interactive click per call, by segmenter name (data, not if/elif).

    SAM's automatic-mask gates (predicted IoU >= 0.88, stability >= 0.95) would drop the masks of
    many single clicks; a person judges the overlay instead, so the demo keeps every candidate and
    takes the best-scored one.
    """
    from pipeline.masks.sam import SamConfig

    ungated = {"config": SamConfig(pred_iou_thresh=0.0, stability_score_thresh=0.0)}
    return {
        "sam_vit_b": ungated,
        "sam_vit_l": ungated,
        "sam_vit_h": ungated,
        "mobile_sam_vit_t": ungated,
    }.get(name, {})


def create_shared_segmenter(name: str, checkpoint: str | None = None, device: str = "cpu") -> SharedSegmenter:
    """The demo's segmenter by registry name, with a description for the page."""
    from pipeline.masks import create_segmenter

    segmenter = create_segmenter(name, checkpoint=checkpoint, device=device, **interactive_options(name))
    where = f"from {checkpoint}" if checkpoint else "weight-free"
    return SharedSegmenter(segmenter, f"{name} ({where})")
