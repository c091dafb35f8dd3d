"""`seagull masks --ref-dir REFS --out OUT`: object- and component-level ROIs of reference images.

Writes `<ref_id>.json` (COCO RLE masks + provenance, `pipeline.masks.write_rois_json`) and
`overlays/<ref_id>.png` per image, and `masks_report.json` (what was done, what failed and why, as
`seagull render` does). --ref-dir may be a folder of images or a `seagull render` output (its
`Ref.Images/` is used). The work is `pipeline.stage_runs.mask_folder`, the build's own masks stage
(same per-reference seeds; the area floor applies to the RAW size `seagull render` recorded). An image
that fails is reported and skipped; the exit status is 1 then.
"""

from __future__ import annotations

from pathlib import Path

import click

from seagull.commands._folders import folder_option, pick_folder
from seagull.commands._report import finish


@click.command("masks")
@folder_option("ref-dir", "REF_DIR", "Reference images, or a `seagull render` output.", exists=True)
@folder_option("out", "OUT_DIR", "Output folder (ROI JSON files, overlays/, masks_report.json).")
@click.option(
    "--segmenter", default=None, help="Segmenter registry name (default: felzenszwalb_rag, weight-free)."
)
@click.option(
    "--checkpoint", type=click.Path(dir_okay=False), help="Segmenter weights, e.g. sam_vit_b_01ec64.pth."
)
@click.option(
    "--detector",
    default=None,
    help="Detector registry name, or 'none' for component-level ROIs only "
    "(default: region_proposals, weight-free).",
)
@click.option(
    "--detector-weights",
    type=click.Path(dir_okay=False),
    help="Detector weights, e.g. fasterrcnn_resnet50_fpn_coco-258fb6c6.pth.",
)
@click.option("--device", default="cpu", show_default=True, help="torch device for SAM and detectors.")
@click.option(
    "--seed",
    default=0,
    show_default=True,
    help="Base seed of the point prompts (per reference, as the build).",
)
@click.option("--points", "n_points", default=128, show_default=True, help="Random point prompts per image.")
@click.option("--max-rois", default=34, show_default=True, help="ROIs kept per image (the paper's average).")
@click.option(
    "--original-long-side",
    type=int,
    default=None,
    help="Long side (px) of the originals when --ref-dir holds downscaled images: the 32x32 px floor "
    "applies to the original, scaled by (working/original)^2 (default: the RAW sizes `seagull render` "
    "recorded, else the images' own size).",
)
@click.option("--no-overlay", is_flag=True, help="Skip the overlay PNGs.")
def command(
    ref_dir: Path | None,
    old_ref_dir: Path | None,
    out: Path | None,
    old_out: Path | None,
    segmenter: str | None,
    checkpoint: str | None,
    detector: str | None,
    detector_weights: str | None,
    device: str,
    seed: int,
    n_points: int,
    max_rois: int,
    original_long_side: int | None,
    no_overlay: bool,
) -> None:
    """Compute the ROIs of every image in --ref-dir into --out.

    \b
    seagull masks --ref-dir renders/ --out masks/                          # weight-free default
    seagull masks --ref-dir renders/ --out masks/ --segmenter sam_vit_b --checkpoint sam_vit_b_01ec64.pth \\
        --detector fasterrcnn_resnet50_fpn --detector-weights fasterrcnn_resnet50_fpn_coco-258fb6c6.pth

    REF_DIR OUT_DIR: the positional form of --ref-dir --out, deprecated (goes in the next release).
    """
    from pipeline.release import IMAGE_SUFFIXES, reference_images
    from pipeline.stage_runs import FolderRun, failure
    from pipeline.stage_runs.masks import REPORT_NAME

    ref_dir = pick_folder(ref_dir, old_ref_dir, "ref-dir", "REF_DIR")
    out = pick_folder(out, old_out, "out", "OUT_DIR")
    images = reference_images(ref_dir)
    if not images:  # before loading any model: nothing to do is reported at once
        settings = {"ref_dir": str(ref_dir), "seed": seed, "points": n_points, "max_rois": max_rois}
        fix = f"put images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it or its Ref.Images/"
        finish(
            out,
            FolderRun(
                REPORT_NAME, "masked", "image", settings, [], [failure(ref_dir, "no images found", fix)]
            ),
        )
    from pipeline import masks
    from pipeline.stage_runs import mask_folder

    models = _load(segmenter, checkpoint, detector, detector_weights, device)
    config = masks.MaskConfig(n_points=n_points, seed=seed, max_rois=max_rois)
    run = mask_folder(ref_dir, images, out, models, config, original_long_side, not no_overlay, click.echo)
    finish(out, run)


def _load(
    segmenter: str | None,
    checkpoint: str | None,
    detector: str | None,
    detector_weights: str | None,
    device: str,
) -> tuple:
    """The models (`pipeline.stages.load_mask_models`), announced loudly; a bad name is a usage error."""
    from pipeline.stages import load_mask_models

    try:
        models = load_mask_models(segmenter, checkpoint, detector, detector_weights, device)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as error:
        raise click.ClickException(str(error)) from error
    for role, component in zip(("segmenter", "detector"), models, strict=True):
        if component is None:
            click.secho(f"MASKS {role}: none (component-level ROIs only)", fg="yellow", bold=True, err=True)
            continue
        p = component.provenance
        weights = (
            f"weights {p.checkpoint} (sha256 {p.sha256[:12]}...)"
            if p.checkpoint
            else "WEIGHT-FREE, no model weights"
        )
        click.secho(f"MASKS {role}: {p.name} -- {weights}", fg="yellow", bold=True, err=True)
    return models
