"""`seagull masks REF_DIR OUT_DIR`: object- and component-level ROIs of reference images.

Writes `<ref_id>.json` (COCO RLE masks + provenance, `pipeline.masks.write_rois_json`) and
`overlays/<ref_id>.png` per image, and `masks_report.json` (what was done, what failed and why, as
`seagull render` does). REF_DIR may be a folder of images or a `seagull render` output (its
`Ref.Images/` is used). An image that fails is reported and skipped; the exit status is 1 then.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from seagull.commands._report import failure, finish, unexpected

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})
REPORT_NAME = "masks_report.json"


@click.command("masks")
@click.argument("ref_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--segmenter", default=None, help="Segmenter registry name (default: the weight-free felzenszwalb_rag)."
)
@click.option(
    "--checkpoint", type=click.Path(dir_okay=False), help="Segmenter weights, e.g. sam_vit_b_01ec64.pth."
)
@click.option(
    "--detector",
    default=None,
    help="Detector registry name, or 'none' for component-level ROIs only "
    "(default: the weight-free region_proposals).",
)
@click.option(
    "--detector-weights",
    type=click.Path(dir_okay=False),
    help="Detector weights, e.g. fasterrcnn_resnet50_fpn_coco-258fb6c6.pth.",
)
@click.option("--device", default="cpu", show_default=True, help="torch device for SAM and detectors.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random point prompts.")
@click.option("--points", "n_points", default=128, show_default=True, help="Random point prompts per image.")
@click.option("--max-rois", default=34, show_default=True, help="ROIs kept per image (the paper's average).")
@click.option(
    "--original-long-side",
    type=int,
    default=None,
    help="Long side (px) of the originals when REF_DIR holds downscaled images: the 32x32 px floor "
    "applies to the original, scaled by (working/original)^2.",
)
@click.option("--no-overlay", is_flag=True, help="Skip the overlay PNGs.")
def command(
    ref_dir,
    out_dir,
    segmenter,
    checkpoint,
    detector,
    detector_weights,
    device,
    seed,
    n_points,  # noqa: ANN001
    max_rois,
    original_long_side,
    no_overlay,
) -> None:
    """Compute the ROIs of every image in REF_DIR into OUT_DIR.

    \b
    seagull masks renders/ masks/                                   # weight-free default
    seagull masks renders/ masks/ --segmenter sam_vit_b --checkpoint sam_vit_b_01ec64.pth \\
        --detector fasterrcnn_resnet50_fpn --detector-weights fasterrcnn_resnet50_fpn_coco-258fb6c6.pth
    """
    from pipeline import masks

    images, done, failed = find_images(ref_dir), [], []
    settings = {"ref_dir": str(ref_dir), "seed": seed, "points": n_points, "max_rois": max_rois}
    if not images:  # before loading any model: nothing to do is reported at once
        extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
        failed.append(
            failure(ref_dir, "no images found", f"put images ({extensions}) in it or its Ref.Images/")
        )
        finish(out_dir, REPORT_NAME, settings, "masked", done, failed, "image")
    seg, det = _load(masks, segmenter, checkpoint, detector, detector_weights, device)
    settings |= {"provenance": masks.provenance(seg, det)}
    config = masks.MaskConfig(n_points=n_points, seed=seed, max_rois=max_rois)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in images:
        problem = _one(path, out_dir, seg, det, config, original_long_side, no_overlay)
        if problem:
            failed.append(problem)
        else:
            done.append(str(path))
    finish(out_dir, REPORT_NAME, settings, "masked", done, failed, "image")


def find_images(ref_dir: Path) -> list[Path]:
    """Images directly in REF_DIR (or in REF_DIR/Ref.Images, the `seagull render` layout), by name."""
    folder = ref_dir / "Ref.Images" if (ref_dir / "Ref.Images").is_dir() else ref_dir
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def ref_id_of(path: Path) -> str:
    """The reference id: the file's stem with dots replaced by '-' (keys never contain dots)."""
    return path.stem.replace(".", "-")


def _load(masks, segmenter, checkpoint, detector, detector_weights, device):  # noqa: ANN001, ANN202
    seg_name = segmenter or masks.DEFAULT_SEGMENTER
    det_name = None if (detector or "").lower() == "none" else (detector or masks.DEFAULT_DETECTOR)
    try:
        seg = masks.create_segmenter(seg_name, checkpoint=checkpoint, device=device)
        det = masks.create_detector(det_name, weights=detector_weights, device=device) if det_name else None
    except (FileNotFoundError, ValueError, KeyError, ImportError) as error:
        raise click.ClickException(str(error)) from error
    for role, component in (("segmenter", seg), ("detector", det)):
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
    return seg, det


def _one(path: Path, out_dir: Path, seg, det, config, original_long_side, no_overlay) -> dict | None:  # noqa: ANN001
    """Compute and write one image's ROIs; return None when done, else its failure record."""
    import numpy as np
    from PIL import Image

    from pipeline import masks

    ref_id, start = ref_id_of(path), time.perf_counter()
    try:
        image = np.asarray(Image.open(path).convert("RGB"))
    except (OSError, ValueError) as error:  # PIL's UnidentifiedImageError is an OSError
        return failure(path, f"cannot read the image ({error})", "re-export it as PNG or JPEG, or remove it")
    try:
        original = _original_shape(image.shape[:2], original_long_side)
        rois = masks.compute_rois(image, seg, det, config, original_shape=original)
        masks.write_rois_json(
            out_dir / f"{ref_id}.json", ref_id, image.shape, rois, masks.provenance(seg, det)
        )
        if not no_overlay:
            (out_dir / "overlays").mkdir(exist_ok=True)
            Image.fromarray(masks.draw_overlay(image, rois)).save(out_dir / "overlays" / f"{ref_id}.png")
    except Exception as error:  # noqa: BLE001 — one bad image must not stop the others; it is reported
        return unexpected(path, error)
    n_objects = sum(r.kind == "object" for r in rois)
    click.echo(
        f"{ref_id}: {n_objects} object + {len(rois) - n_objects} component ROIs ({time.perf_counter() - start:.1f} s)"
    )
    return None


def _original_shape(shape: tuple[int, int], original_long_side: int | None) -> tuple[int, int] | None:
    if original_long_side is None:
        return None
    scale = original_long_side / max(shape)
    return round(shape[0] * scale), round(shape[1] * scale)
