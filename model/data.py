"""Shards -> training items: one item per (distorted image, ROI), its conversation tokenized.

Stage 1 draws the ROI's AIR/JIR at random each time (seeded by seed, epoch, sample key and ROI,
so a resumed run draws the same instructions as an uninterrupted one); stage 2 uses the fixed set.
The image is resized to the encoder's input; the mask is resized by area (model/mfe.mask_pool
resizes it further to each encoder level); the local-view crop is cut from the full-resolution
image.

Error policy: an ROI without labels (a reference sample, an unlabelled build) is skipped; a
labelled ROI with a malformed label raises (pipeline.instructions names the bad field).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

import torch
import torch.nn.functional as F

from model.config import ModelConfig
from model.conversation import IGNORE_INDEX, encode_conversation
from model.local_view import crop_roi
from pipeline.instructions import make_instructions

STAGE_MODES = {1: "stage1", 2: "stage2"}


def resize_image(image: torch.Tensor, size: int) -> torch.Tensor:
    """float (3, H, W) -> (3, size, size), bilinear with antialiasing, clamped to 0..1."""
    resized = F.interpolate(
        image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized[0].clamp(0, 1)


def resize_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    """bool (H, W) -> float (size, size): the fraction of each output pixel inside the ROI."""
    return F.interpolate(mask[None, None].float(), size=(size, size), mode="area")[0, 0]


def conversation_turns(
    roi: dict[str, Any], dist_type: str, stage: int, rng: random.Random
) -> list[tuple[str, str]]:
    """The (question, answer) turns of one labelled ROI (pipeline.instructions)."""
    label = {**roi, "dist_type": dist_type}
    return [(i["question"], i["answer"]) for i in make_instructions(label, mode=STAGE_MODES[stage], rng=rng)]


def sample_items(
    sample: dict[str, Any], config: ModelConfig, stage: int, seed: int, epoch: int
) -> Iterator[dict[str, Any]]:
    """Items of one decoded shard sample (pipeline.shards.loader.decode_sample), ROI by ROI.

    Yields:
        {"key", "roi_id", "image": float (3, S, S), "mask": float (S, S), "crop": float (3, L, L),
         "turns": [(question, answer)], "roi": the label dict}.
    """
    image = resize_image(sample["image"], config.image_size)
    for roi, mask in zip(sample["rois"], sample["masks"], strict=True):
        if "quality_level" not in roi:
            continue
        rng = random.Random(f"{seed}/{epoch}/{sample['key']}/{roi['roi_id']}")
        item = region_item(sample["image"], mask, config, resized=image)
        item.update(
            key=sample["key"],
            roi_id=roi["roi_id"],
            roi=roi,
            turns=conversation_turns(roi, sample["dist_type"], stage, rng),
        )
        yield item


def region_item(
    image: torch.Tensor, mask: torch.Tensor, config: ModelConfig, resized: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """The model inputs of one (image, ROI): {"image": (3, S, S), "mask": (S, S), "crop": (3, L, L)}.

    Args:
        image: float (3, H, W) in 0..1, full resolution.
        mask: bool (H, W).
        resized: the image already resized to S (shared by the ROIs of one image).
    """
    if mask.shape != image.shape[-2:]:
        raise ValueError(f"mask {tuple(mask.shape)} and image {tuple(image.shape[-2:])} differ in size")
    return {
        "image": resized if resized is not None else resize_image(image, config.image_size),
        "mask": resize_mask(mask, config.image_size),
        "crop": crop_roi(image, mask, config.mfe.local_size),
    }


def stream_items(
    samples: Iterable[dict[str, Any]], config: ModelConfig, stage: int, seed: int, epoch: int, skip: int = 0
) -> Iterator[dict[str, Any]]:
    """All items of `samples`, the first `skip` left out (a resumed run's data position).

    Whole samples inside the skipped part are passed over without resizing or cropping.
    """
    seen = 0
    for sample in samples:
        labelled = sum("quality_level" in roi for roi in sample["rois"])
        if seen + labelled <= skip:
            seen += labelled
            continue
        for item in sample_items(sample, config, stage, seed, epoch):
            seen += 1
            if seen > skip:
                yield item


def open_shards(urls, config: ModelConfig) -> Iterable[dict[str, Any]]:
    """Decoded distorted samples of the shards, in shard order (pipeline.shards.loader)."""
    from pipeline.shards.loader import roi_dataset

    return roi_dataset(urls, shuffle=0, shardshuffle=False, references="skip")


def count_shard_items(urls) -> int:
    """Labelled ROIs in the shards, read from the JSON members only (no image is decoded)."""
    import json

    from pipeline.shards.loader import roi_dataset

    samples = roi_dataset(urls, shuffle=0, shardshuffle=False, references="skip", decode=False)
    return sum(sum("quality_level" in roi for roi in json.loads(s["json"])["rois"]) for s in samples)


def collate(
    items: list[dict[str, Any]], tokenizer, image_tokens: int, max_length: int
) -> dict[str, torch.Tensor]:
    """Tokenize and pad a list of items into a batch for model.seagull.Seagull.forward.

    Items may hold several ROIs of their image (model/regions.py).

    Returns:
        {"input_ids": int64 (B, T), "labels": int64 (B, T) (IGNORE_INDEX outside answers and on
         padding), "attention_mask": int64 (B, T), "images": (B, 3, S, S), "masks": (R, S, S),
         "crops": (R, 3, L, L), "roi_counts": (B,), "region_index": (G,)}; padding on the right.
    """
    from model.conversation import GLOBAL_TOKEN
    from model.regions import region_inputs

    encoded = [encode_conversation(tokenizer, item["turns"], image_tokens, max_length) for item in items]
    length = max(len(e.input_ids) for e in encoded)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([e.input_ids + [pad] * (length - len(e.input_ids)) for e in encoded])
    labels = torch.tensor([e.labels + [IGNORE_INDEX] * (length - len(e.labels)) for e in encoded])
    attention = torch.tensor([[1] * len(e.input_ids) + [0] * (length - len(e.input_ids)) for e in encoded])
    global_id = tokenizer.convert_tokens_to_ids(GLOBAL_TOKEN)
    return {
        "input_ids": input_ids,
        "labels": labels,
        "attention_mask": attention,
        "images": torch.stack([item["image"] for item in items]),
        **region_inputs(items, [e.input_ids.count(global_id) for e in encoded]),
    }
