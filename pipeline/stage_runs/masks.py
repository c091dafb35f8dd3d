"""`mask_folder`: every reference image of a folder -> its ROIs (COCO RLE JSON) and an overlay."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipeline import stages
from pipeline.raw_files import ref_id_of
from pipeline.release import read_rgb
from pipeline.stage_runs.common import FolderRun, failure, unexpected
from pipeline.stage_runs.render import recorded_raw_sizes

if TYPE_CHECKING:
    from pipeline.masks import Detector, MaskConfig, Segmenter

REPORT_NAME = "masks_report.json"


def mask_folder(
    ref_dir: Path,
    images: list[Path],
    out_dir: Path,
    models: tuple[Segmenter, Detector | None],
    config: MaskConfig,
    original_long_side: int | None = None,
    overlay: bool = True,
    say: Callable[[str], None] = print,
) -> FolderRun:
    """Compute and write the ROIs of `images` (from `pipeline.release.reference_images(ref_dir)`).

    Each image's point prompts are seeded by `reference_seed(config.seed, ref_id)`, as in the build. The
    32 x 32 px floor applies to the original: `original_long_side` when given, else the RAW file's
    size that `render_folder` recorded for that reference, else the image itself.
    """
    from pipeline import masks

    settings = {"ref_dir": str(ref_dir), "seed": config.seed, "points": config.n_points}
    settings |= {"max_rois": config.max_rois, "provenance": masks.provenance(*models)}
    run = FolderRun(REPORT_NAME, "masked", "image", settings)
    raw_sizes = recorded_raw_sizes(ref_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in images:
        ref_id, start = ref_id_of(path), time.perf_counter()
        try:
            image = read_rgb(path)
        except (OSError, ValueError) as error:  # PIL's UnidentifiedImageError is an OSError
            fix = "re-export it as PNG or JPEG, or remove it"
            run.failed.append(failure(path, f"cannot read the image ({error})", fix))
            continue
        original = _original_shape(image.shape[:2], original_long_side) or raw_sizes.get(ref_id)
        try:
            rois = stages.segment(image, ref_id, models, config.seed, original, config)
            masks.write_rois_json(
                out_dir / f"{ref_id}.json", ref_id, image.shape, rois, settings["provenance"]
            )
            if overlay:
                (out_dir / "overlays").mkdir(exist_ok=True)
                write_overlay(out_dir / "overlays" / f"{ref_id}.png", masks.draw_overlay(image, rois))
        except Exception as error:  # the error policy: record the image, go on
            run.failed.append(unexpected(path, error))
            continue
        run.done.append(str(path))
        n_objects = sum(r.kind == "object" for r in rois)
        seconds = time.perf_counter() - start
        say(f"{ref_id}: {n_objects} object + {len(rois) - n_objects} component ROIs ({seconds:.1f} s)")
    return run


def write_overlay(path: Path, image: np.ndarray) -> None:
    """Save a uint8 (H, W, 3) overlay as PNG."""
    from PIL import Image

    Image.fromarray(image).save(path)


def _original_shape(shape: tuple[int, int], original_long_side: int | None) -> tuple[int, int] | None:
    if original_long_side is None:
        return None
    scale = original_long_side / max(shape)
    return round(shape[0] * scale), round(shape[1] * scale)
