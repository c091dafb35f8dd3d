"""The embedded SEAGULL-3k demo set: real photographs from pip packages with authentic-looking defects.

The photographs are those of the 100w sample (`pipeline.sample.SAMPLE_PHOTOS`: scikit-image's and
scikit-learn's bundled colour photographs); each recipe below damages one of them with the defects of
`pipeline.sg3k.defects` (phone JPEG chain, camera shake, dark and noisy exposure, haze, faded colour),
some over the whole frame, some over part of it. The recipes are data: each step names a defect, its
parameters, the severity level (0 extreme .. 4 trivial) it is meant to cause per distortion type, and
optionally the region it covers. The same recipe gives the simulated annotators their reference
ratings (`pipeline.sg3k.simulate`); the images are JPEG files, as authentic IQA sets ship them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.sample import SAMPLE_PHOTOS
from pipeline.sg3k.defects import DEFECTS, blend, ramp

JPEG_QUALITY = 92  # the saved file itself: camera-like, not a further defect


@dataclass(frozen=True)
class Step:
    """One defect of a recipe: `levels` {type: 0..4} is what it causes where `region` weight is 1."""

    defect: str
    levels: Mapping[str, int]
    params: Mapping[str, Any] = field(default_factory=dict)
    region: Mapping[str, Any] | None = None  # kwargs of `defects.ramp`, or None for the whole frame

    def weight(self, shape: tuple[int, int]) -> np.ndarray | None:
        return None if self.region is None else ramp(shape, **self.region)


@dataclass(frozen=True)
class Recipe:
    photo: str  # a key of SAMPLE_PHOTOS
    steps: tuple[Step, ...]


def _s(defect: str, levels: dict[str, int], region: dict[str, Any] | None = None, **params: Any) -> Step:
    return Step(defect, levels, params, region)


# image id -> recipe. Ids are `<photo>-<what>`; their train/test split follows pipeline.split.
# Ordered so that any first n >= 3 holds both splits (chelsea-shake, rocket-pan, chelsea-window: test).
DEMO_RECIPES: dict[str, Recipe] = {
    "chelsea-shake": Recipe("chelsea", (_s("motion_blur", {"blur": 1}, length=17, angle=20.0),)),
    "astronaut-forwarded": Recipe(
        "astronaut", (_s("phone_chain", {"compression": 1, "blur": 3}, scale=0.35, qualities=(40, 22)),)
    ),
    "coffee-night": Recipe(
        "coffee", (_s("underexposed_noisy", {"exposure": 2, "noise": 2}, stops=2.0, full_well=600.0, seed=2),)
    ),
    "rocket-pan": Recipe(
        "rocket",
        (_s("motion_blur", {"blur": 0}, {"side": "right", "start": 0.3, "end": 0.6}, length=25, angle=0.0),),
    ),
    "motorcycle-dark": Recipe(
        "motorcycle",
        (
            _s("underexposed_noisy", {"exposure": 1, "noise": 2}, stops=2.5, full_well=700.0, seed=3),
            _s("phone_chain", {"compression": 3}, scale=0.7, qualities=(70, 55)),
        ),
    ),
    "china-faded": Recipe(
        "china",
        (
            _s("faded_colour", {"colorfulness": 2}, saturation=0.4),
            _s("haze", {"contrast": 3}, {"side": "top", "start": 0.0, "end": 0.5}, amount=0.3),
        ),
    ),
    "chelsea-window": Recipe(
        "chelsea",
        (_s("haze", {"contrast": 1}, {"side": "left", "start": 0.2, "end": 0.6}, amount=0.6),),
    ),
    "flower-sent": Recipe(
        "flower", (_s("phone_chain", {"compression": 0, "blur": 2}, scale=0.3, qualities=(30, 15)),)
    ),
    "astronaut-dusk": Recipe(
        "astronaut",
        (_s("underexposed_noisy", {"exposure": 1, "noise": 1}, stops=3.0, full_well=300.0, seed=1),),
    ),
    "coffee-shared": Recipe(
        "coffee", (_s("phone_chain", {"compression": 2, "blur": 4}, scale=0.5, qualities=(50, 30)),)
    ),
    "rocket-haze": Recipe("rocket", (_s("haze", {"contrast": 2, "colorfulness": 4}, amount=0.45),)),
    "motorcycle-old": Recipe("motorcycle", (_s("faded_colour", {"colorfulness": 1}, saturation=0.2),)),
    "china-walk": Recipe("china", (_s("motion_blur", {"blur": 2}, length=9, angle=60.0),)),
    "flower-macro": Recipe(
        "flower", (_s("motion_blur", {"blur": 1}, {"side": "bottom", "start": 0.2, "end": 0.5}, length=15),)
    ),
}


def make_image(recipe: Recipe) -> np.ndarray:
    """The damaged photograph of a recipe, uint8 (H, W, 3) sRGB (steps in order)."""
    image = np.ascontiguousarray(SAMPLE_PHOTOS[recipe.photo]())
    for step in recipe.steps:
        function, _ = DEFECTS[step.defect]
        image = blend(image, function(image, **step.params), step.weight(image.shape[:2]))
    return image


def write_demo(out_dir: Path | str, n: int | None = None) -> list[Path]:
    """Write the first `n` (default all) demo images as `<id>.jpg` into `out_dir`; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(DEMO_RECIPES)[: n or len(DEMO_RECIPES)]
    paths = []
    for name in names:
        image = make_image(DEMO_RECIPES[name])
        path = out / f"{name}.jpg"
        ok = cv2.imwrite(str(path), image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise OSError(f"could not write {path}")
        paths.append(path)
    return paths
