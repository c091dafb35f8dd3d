"""Reading the outputs of `seagull render` (release layout) and writing label records."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.records import Variant
from pipeline.taxonomy import DISTORTION_TYPES, N_LEVELS_PER_TYPE, RELEASE_NAMES


def read_rgb(path: Path) -> np.ndarray:
    """A PNG/JPEG as uint8 RGB (H, W, 3)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{path}: OpenCV could not read the image; is it a PNG written by `seagull render`?")
    return np.ascontiguousarray(image[..., ::-1])


def reference_ids(render_dir: Path) -> list[str]:
    """Ids of the references in a `seagull render` output (Ref.Images/<id>.png), sorted."""
    folder = Path(render_dir) / "Ref.Images"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist; pass the OUT_DIR of `seagull render`")
    return sorted(path.stem for path in folder.glob("*.png"))


def read_release(render_dir: Path, ref_id: str) -> tuple[np.ndarray, list[Variant]]:
    """The reference and every variant present of one reference, in taxonomy and level order.

    Layout: Ref.Images/<id>.png and Dist.Images/<Type>/<Type>_<k>/<id>.png (pipeline.render).
    """
    render_dir = Path(render_dir)
    reference = read_rgb(render_dir / "Ref.Images" / f"{ref_id}.png")
    variants = []
    for dist_type in DISTORTION_TYPES:
        name = RELEASE_NAMES[dist_type]
        for level in range(1, N_LEVELS_PER_TYPE + 1):
            path = render_dir / "Dist.Images" / name / f"{name}_{level}" / f"{ref_id}.png"
            if path.is_file():
                variants.append(Variant(dist_type, level, read_rgb(path)))
    return reference, variants


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records one JSON object a line (keys in insertion order); returns how many."""
    count = 0
    with open(path, "w") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")
            count += 1
    return count
