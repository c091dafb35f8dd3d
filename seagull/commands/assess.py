"""`seagull assess`: quality, importance and distortion analysis of one region of one image."""

from __future__ import annotations

import json

import click

from seagull.commands._options import load_model_from_options, model_source_options


@click.command("assess")
@click.argument("image", type=click.Path(dir_okay=False, exists=True))
@model_source_options
@click.option(
    "--mask",
    type=click.Path(dir_okay=False, exists=True),
    help="ROI mask image (non-zero = inside), same size as IMAGE.",
)
@click.option(
    "--point", nargs=2, type=int, help="Click point X Y: a segmenter makes the mask (as in the paper's demo)."
)
@click.option("--box", nargs=4, type=int, help="ROI box X0 Y0 X1 Y1 (pixels, end exclusive).")
@click.option(
    "--segmenter",
    default=None,
    help="Segmenter registry name for --point (default: the weight-free default).",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, exists=True),
    help="Segmenter weights, e.g. SAM vit_b .pth.",
)
@click.option("--save-mask", type=click.Path(dir_okay=False), help="Write the mask used (PNG).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--device", default="cpu", show_default=True, help="torch device, e.g. cuda.")
def command(
    image,
    mask,
    point,
    box,
    segmenter,
    checkpoint,
    save_mask,
    as_json,
    device,
    **model_source,  # the options of @model_source_options, read by load_model_from_options
) -> None:  # noqa: ANN001
    """Assess the ROI given by --mask, --point or --box of IMAGE.

    \b
    seagull assess photo.png --run runs/tiny-stage1 --mask roi.png
    seagull assess photo.png --run runs/tiny-stage1 --point 320 240 --segmenter sam_vit_b --checkpoint sam_vit_b.pth
    seagull assess photo.png --weights SEAGULL-7B --base vicuna-7b-v1.5 --encoder-weights open_clip_pytorch_model.bin --box 10 20 200 180
    """
    import numpy as np
    import torch
    from PIL import Image

    from model.data import region_item
    from model.scoring import assess_items

    if sum(bool(x) for x in (mask, point, box)) != 1:
        raise click.UsageError("give exactly one of --mask MASK.png, --point X Y or --box X0 Y0 X1 Y1")
    pixels = np.array(Image.open(image).convert("RGB"))  # a writable copy: torch.from_numpy shares it
    if mask:
        roi = _read_mask(mask, pixels.shape[:2])
    elif box:
        roi = _box_mask(box, pixels.shape[:2])
    else:
        roi = _segment(pixels, point, segmenter, checkpoint)
    if save_mask:
        Image.fromarray(roi.astype(np.uint8) * 255).save(save_mask)
    model, tokenizer = load_model_from_options(**model_source, device=device)
    tensor = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255.0
    result = assess_items(model, tokenizer, [region_item(tensor, torch.from_numpy(roi), model.config)])[0]
    click.echo(json.dumps(result, indent=2) if as_json else _describe(result))


def _box_mask(box: tuple[int, int, int, int], shape: tuple[int, int]):
    import numpy as np

    x0, y0, x1, y1 = box
    if not (0 <= x0 < x1 <= shape[1] and 0 <= y0 < y1 <= shape[0]):
        raise click.BadParameter(
            f"box {box} is not inside the {shape[1]}x{shape[0]} image with x0 < x1, y0 < y1",
            param_hint="--box",
        )
    roi = np.zeros(shape, bool)
    roi[y0:y1, x0:x1] = True
    return roi


def _read_mask(path: str, shape: tuple[int, int]):
    import numpy as np
    from PIL import Image

    roi = np.asarray(Image.open(path).convert("L")) > 0
    if roi.shape != shape:
        raise click.BadParameter(
            f"{path} is {roi.shape[1]}x{roi.shape[0]}, the image {shape[1]}x{shape[0]}: resize the mask",
            param_hint="--mask",
        )
    if not roi.any():
        raise click.BadParameter(f"{path} is empty: the ROI must have non-zero pixels", param_hint="--mask")
    return roi


def _segment(pixels, point: tuple[int, int], name: str | None, checkpoint: str | None):
    import numpy as np

    from pipeline.masks import DEFAULT_SEGMENTER, create_segmenter
    from pipeline.records import decode_mask

    segmenter = create_segmenter(name or DEFAULT_SEGMENTER, checkpoint=checkpoint)
    segmenter.set_image(pixels)
    candidates = segmenter.segment_points(np.array([point], dtype=np.float32))
    if not len(candidates):
        raise click.ClickException(f"the segmenter found no region at {point}: try another point or --mask")
    return decode_mask(candidates.rles[int(np.argmax(candidates.scores))])


def _describe(result: dict) -> str:
    lines = []
    for task in ("quality", "importance"):
        probabilities = ", ".join(f"{w} {p:.2f}" for w, p in result[f"{task}_probabilities"].items())
        lines.append(
            f"{task.capitalize()}: {result[f'{task}_level']} (score {result[f'{task}_score']:.2f} of 1..5; {probabilities})"
        )
    lines.append(f"Distortion: {result['distortion_answer']}")
    return "\n".join(lines)
