"""SEAGULL-3k inputs and annotation tasks: authentic images -> 2-3 ROIs each (the masks stage) -> tasks.

Layout of a 3k build folder (`prepare_image` writes one image's part):
    images/<image_id>.png          the image at working resolution (lossless: no further JPEG damage)
    rois/<image_id>.json           its ROIs (pipeline.masks ROI JSON: COCO RLE + segmenter provenance)
    overlays/<task_id>.jpg         the image with one ROI outlined: what an annotator rates
    tasks.jsonl                    one task per ROI (`task_record`)
An image id is the file stem with dots replaced by '-' (shard keys never hold a dot); a task id is
`<image_id>_roi<NN>`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.masks import Detector, MaskConfig, Segmenter, compute_rois, provenance, write_rois_json
from pipeline.masks.filtering import PAPER_MIN_AREA
from pipeline.records import ROI
from pipeline.split import split_of

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
TASKS_NAME = "tasks.jsonl"


@dataclass(frozen=True)
class RoiConfig:
    """How many ROIs an image gets (paper §3.2: "two or three component-level and object-level ROIs")."""

    max_rois: int = 3
    min_rois: int = 2  # an image with fewer usable ROIs is reported and gets no task
    max_objects: int = 2  # objects first (detector boxes), then components fill up to max_rois
    min_area: int = PAPER_MIN_AREA  # the paper's 32 x 32 px floor, on the original image
    size: int | None = 1024  # working long side (None: full resolution)
    n_points: int = 128
    seed: int = 0


def image_id_of(path: Path | str) -> str:
    """`<stem>` with dots replaced by '-': the image's id in tasks, ratings and shard keys."""
    return Path(path).stem.replace(".", "-").replace(" ", "_")


def task_id(image_id: str, roi_id: int) -> str:
    return f"{image_id}_roi{roi_id:02d}"


def list_images(source: Path | str) -> list[Path]:
    """The images of a folder (sorted) or of a CSV with a `path` column (relative to the CSV).

    Raises:
        FileNotFoundError / ValueError: naming the source and what to fix (no images, duplicate ids).
    """
    source = Path(source)
    if source.suffix.lower() == ".csv":
        with open(source, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows and "path" not in rows[0]:
            raise ValueError(f"{source}: needs a 'path' column (one image file per row)")
        paths = [(source.parent / row["path"]).resolve() for row in rows]
    else:
        paths = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise FileNotFoundError(f"{source}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    ids = [image_id_of(p) for p in paths]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(
            f"{source}: image ids {duplicates} occur twice (ids are file stems); rename the files"
        )
    return paths


def read_image(path: Path, size: int | None) -> tuple[np.ndarray, tuple[int, int]]:
    """uint8 RGB (H, W, 3) at working size (long side `size`, never enlarged) and the original (H, W)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR_RGB)
    if image is None:
        raise ValueError(f"{path}: not a readable image (JPEG, PNG, TIFF, BMP, WebP)")
    original = image.shape[:2]
    if size is not None and max(original) > size:
        scale = size / max(original)
        shape = (max(1, round(original[1] * scale)), max(1, round(original[0] * scale)))
        image = cv2.resize(image, shape, interpolation=cv2.INTER_AREA)
    return image, original


def select_rois(
    image: np.ndarray,
    original: tuple[int, int],
    segmenter: Segmenter,
    detector: Detector | None,
    config: RoiConfig,
) -> list[ROI]:
    """2-3 ROIs with the masks stage: objects first, then components, the paper's area floor."""
    mask_config = MaskConfig(
        n_points=config.n_points,
        seed=config.seed,
        min_area=config.min_area,
        max_rois=config.max_rois,
        max_objects=min(config.max_objects, config.max_rois),
    )
    return compute_rois(image, segmenter, detector, mask_config, original_shape=original)


def outline(image: np.ndarray, roi: ROI) -> np.ndarray:
    """The image with one ROI outlined (dark under yellow, visible on any background), uint8 (H, W, 3).

    Only the outline is drawn: a tint would change the colours and exposure the annotator rates."""
    out = image.copy()
    contours, _ = cv2.findContours(roi.mask().astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    thick = max(2, round(max(image.shape[:2]) / 300))
    cv2.drawContours(out, contours, -1, (0, 0, 0), thick + 2)
    cv2.drawContours(out, contours, -1, (255, 230, 0), thick)
    return out


def task_record(
    image_id: str, roi: ROI, source: str, shape: tuple[int, int], test_fraction: float
) -> dict[str, Any]:
    """One annotation task (a line of tasks.jsonl): the ROI and where its files are in the build."""
    tid = task_id(image_id, roi.roi_id)
    return {
        "task_id": tid,
        "image_id": image_id,
        "roi_id": roi.roi_id,
        "kind": roi.kind,
        "bbox": list(roi.bbox),
        "area": roi.area,
        "height": shape[0],
        "width": shape[1],
        "image": f"images/{image_id}.png",
        "overlay": f"overlays/{tid}.jpg",
        "source": str(source),
        "split": split_of(image_id, test_fraction),
    }


def prepare_image(
    path: Path,
    build: Path,
    segmenter: Segmenter,
    detector: Detector | None,
    config: RoiConfig = RoiConfig(),
    test_fraction: float = 0.2,
) -> list[dict[str, Any]]:
    """Image -> working copy, ROI JSON, one overlay per ROI; returns its task records.

    Raises:
        ValueError: unreadable image, or fewer than `config.min_rois` ROIs (the caller reports it).
    """
    image, original = read_image(path, config.size)
    image_id = image_id_of(path)
    rois = select_rois(image, original, segmenter, detector, config)
    if len(rois) < config.min_rois:
        raise ValueError(f"{path}: {len(rois)} ROIs above the area floor, at least {config.min_rois} needed")
    for folder in ("images", "rois", "overlays"):
        (build / folder).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(build / "images" / f"{image_id}.png"), image[..., ::-1])
    write_rois_json(
        build / "rois" / f"{image_id}.json", image_id, image.shape, rois, provenance(segmenter, detector)
    )
    records = []
    for roi in rois:
        record = task_record(image_id, roi, path, image.shape[:2], test_fraction)
        cv2.imwrite(
            str(build / record["overlay"]), outline(image, roi)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95]
        )
        records.append(record)
    return records


def write_tasks(build: Path, records: Iterable[dict[str, Any]]) -> Path:
    """tasks.jsonl, sorted by task id."""
    path = Path(build) / TASKS_NAME
    lines = [json.dumps(r, sort_keys=True) for r in sorted(records, key=lambda r: r["task_id"])]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def read_tasks(build: Path) -> list[dict[str, Any]]:
    path = Path(build) / TASKS_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `seagull 3k prepare` (or build-3k) first")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
