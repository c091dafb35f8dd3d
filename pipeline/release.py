"""The release layout of rendered images, in one place: where `seagull render` writes them and where
`seagull masks` and `seagull label` read them.

    Ref.Images/<id>.png                          the reference
    Dist.Images/<Type>/<Type>_<n>/<id>.png       a distorted image; Type as in `RELEASE_NAMES`

n is the level's folder index: level k is folder k in the "default" layout and k - 1 in "authors", the
authors' released SEAGULL-100w (<Type>_0 .. <Type>_19), so tools written for that release read this
project's output unchanged. Readers find the layout from the folders present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.records import Variant
from pipeline.taxonomy import DISTORTION_TYPES, N_LEVELS_PER_TYPE, RELEASE_NAMES

REFERENCES = "Ref.Images"
DISTORTED = "Dist.Images"
# layout name -> the folder index of level 1
RELEASE_LAYOUTS: dict[str, int] = {"default": 1, "authors": 0}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})


def release_path(
    out_dir: Path | str,
    ref_id: str,
    dist_type: str | None = None,
    level: int | None = None,
    layout: str = "default",
) -> Path:
    """Where the release layout keeps an image: the reference when `dist_type` is None."""
    if layout not in RELEASE_LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {sorted(RELEASE_LAYOUTS)}")
    if dist_type is None:
        return Path(out_dir) / REFERENCES / f"{ref_id}.png"
    name = RELEASE_NAMES[dist_type]
    index = level - 1 + RELEASE_LAYOUTS[layout]
    return Path(out_dir) / DISTORTED / name / f"{name}_{index}" / f"{ref_id}.png"


def detect_layout(render_dir: Path | str) -> str:
    """ "authors" when a level folder numbered 0 exists (only that layout has one), else "default"."""
    distorted = Path(render_dir) / DISTORTED
    for name in RELEASE_NAMES.values():
        if (distorted / name / f"{name}_0").is_dir():
            return "authors"
    return "default"


def reference_ids(render_dir: Path | str) -> list[str]:
    """Ids of the references in a release (Ref.Images/<id>.png), sorted; [] when there is none."""
    folder = Path(render_dir) / REFERENCES
    return sorted(path.stem for path in folder.glob("*.png")) if folder.is_dir() else []


def reference_images(ref_dir: Path | str) -> list[Path]:
    """Images directly in `ref_dir`, or in its Ref.Images/ when it is a release, sorted by name."""
    folder = Path(ref_dir) / REFERENCES if (Path(ref_dir) / REFERENCES).is_dir() else Path(ref_dir)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: Path | str) -> np.ndarray:
    """An image file as uint8 RGB (H, W, 3); grayscale and RGBA files are converted.

    Raises:
        OSError: the file cannot be read as an image (PIL's UnidentifiedImageError is one).
    """
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def read_release(render_dir: Path | str, ref_id: str) -> tuple[np.ndarray, list[Variant]]:
    """The reference and every variant present of one reference, in taxonomy and level order."""
    layout = detect_layout(render_dir)
    reference = read_rgb(release_path(render_dir, ref_id))
    variants = []
    for dist_type in DISTORTION_TYPES:
        for level in range(1, N_LEVELS_PER_TYPE + 1):
            path = release_path(render_dir, ref_id, dist_type, level, layout)
            if path.is_file():
                variants.append(Variant(dist_type, level, read_rgb(path)))
    return reference, variants
