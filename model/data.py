"""Shards -> training items: one item per (distorted image, ROI), its conversation tokenized.

Stage 1 draws the ROI's AIR/JIR at random each time (seeded by seed, epoch, sample key and ROI,
so a resumed run draws the same instructions as an uninterrupted one); stage 2 uses the fixed set.
The image is resized to the encoder's input; the mask is resized by area (model/mfe.mask_pool
resizes it further to each encoder level); the local-view crop is cut from the full-resolution
image.

Training reads items in a seeded shuffled order (`shuffled_items`, model/sampling.py): each
process's shards reshuffled per epoch, then a buffer of samples, then a buffer of training items.
A training item is one conversation: one (sample, ROI) with `train.rois_per_conversation` 1, or up
to k ROIs of one sample with k > 1 (model/regions.py; the sample's labelled ROIs in a seeded order
per (seed, epoch, key), cut into ceil(n / k) conversations of near-equal size). The order is a
function of (seed, epoch) only, so a resumed run skips the items (conversations) it already
consumed (without decoding them) and continues on the same sequence.

Error policy: an ROI without labels (a reference sample, an unlabelled build) is skipped; a
labelled ROI with a malformed label raises (pipeline.instructions names the bad field).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import sys
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

import torch
import torch.nn.functional as F

from model.config import ModelConfig
from model.conversation import IGNORE_INDEX, encode_conversation
from model.local_view import crop_roi
from model.readers import light_samples, png_bytes, shard_paths
from model.regions import fit_to_length, merge_rois, region_inputs
from model.sampling import buffer_shuffle, epoch_rng, rank_shards, sample_split, split_filter
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
    roi: dict[str, Any], dist_type: str, stage: int, rng: random.Random, p_air: float | None = None
) -> list[tuple[str, str]]:
    """The (question, answer) turns of one labelled ROI (pipeline.instructions; `p_air`: stage 1's
    AIR chance, None for the templates')."""
    label = {**roi, "dist_type": dist_type}
    instructions = make_instructions(label, mode=STAGE_MODES[stage], rng=rng, p_air=p_air)
    return [(i["question"], i["answer"]) for i in instructions]


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
        item = region_item(sample["image"], mask, config, resized=image)
        yield _with_conversation(item, sample, roi, stage, seed, epoch, config.train.p_air)


def _with_conversation(
    item: dict[str, Any],
    sample: dict[str, Any],
    roi: dict[str, Any],
    stage: int,
    seed: int,
    epoch: int,
    p_air: float | None,
) -> dict[str, Any]:
    """`item` with its key, ROI and turns; stage 1's draw is seeded by (seed, epoch, key, ROI), so the
    same ROI gets the same instructions in `sample_items` and `epoch_items`."""
    rng = random.Random(f"{seed}/{epoch}/{sample['key']}/{roi['roi_id']}")
    item.update(
        key=sample["key"],
        roi_id=roi["roi_id"],
        roi=roi,
        turns=conversation_turns(roi, sample["dist_type"], stage, rng, p_air),
    )
    return item


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


def shuffled_items(
    samples: Iterable[dict[str, Any]],
    config: ModelConfig,
    stage: int,
    seed: int,
    epoch: int,
    skip: int = 0,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Training items of one epoch in the seeded shuffled order, from position `skip` to `limit`.

    An item is one conversation: a one-ROI item (`sample_items`' layout) with
    train.rois_per_conversation 1, else a several-ROI item of one sample (model/regions.merge_rois)
    whose "members" are the one-ROI items, each with the turns it would have alone.

    Args:
        samples: decoded samples (pipeline.shards.loader) or light samples (model/readers.py).
        skip: items already consumed (a resumed run); they are passed over without decoding.
        limit: items in this epoch (the same on every DDP rank); None: all.
    """
    train = config.train
    per_conversation = train.rois_per_conversation
    samples = buffer_shuffle(samples, train.sample_buffer, epoch_rng(seed, epoch, "samples"))
    refs = buffer_shuffle(
        _conversation_refs(samples, per_conversation, seed, epoch, train.rois_per_image),
        train.item_buffer,
        epoch_rng(seed, epoch, "items"),
    )
    images = _ImageCache(config)
    for sample, indices in itertools.islice(refs, skip, limit):
        image, resized = images.get(sample)
        items = [
            _with_conversation(
                region_item(image, _mask(sample, index), config, resized=resized),
                sample,
                sample["rois"][index],
                stage,
                seed,
                epoch,
                train.p_air,
            )
            for index in indices
        ]
        yield items[0] if per_conversation == 1 else merge_rois(items)


def _labelled_indices(sample: dict[str, Any]) -> list[int]:
    return [index for index, roi in enumerate(sample["rois"]) if "quality_level" in roi]


def _labelled_refs(samples: Iterable[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], int]]:
    for sample in samples:
        for index in _labelled_indices(sample):
            yield sample, index


def _conversation_refs(
    samples: Iterable[dict[str, Any]],
    per_conversation: int,
    seed: int,
    epoch: int,
    per_image: int | None = None,
) -> Iterator[tuple[dict[str, Any], tuple[int, ...]]]:
    """(sample, ROI indices) of each training conversation: one labelled ROI each with
    per_conversation 1; else the sample's labelled ROIs in a seeded order (new partners each
    epoch) cut into ceil(n / k) parts of near-equal size (34 ROIs at k = 8: 7, 7, 7, 7, 6).
    With `per_image` only that many of the sample's labelled ROIs, a seeded draw per
    (seed, epoch, key), take part in the epoch."""
    for sample in samples:
        indices = _epoch_indices(sample, seed, epoch, per_conversation, per_image)
        if per_conversation == 1:
            yield from ((sample, (index,)) for index in indices)
            continue
        parts = math.ceil(len(indices) / per_conversation)
        for part in range(parts):
            yield sample, tuple(indices[part * len(indices) // parts : (part + 1) * len(indices) // parts])


def _epoch_indices(
    sample: dict[str, Any], seed: int, epoch: int, per_conversation: int, per_image: int | None
) -> list[int]:
    """The labelled ROI indices of `sample` one epoch trains on (shuffled when they are grouped or drawn)."""
    indices = _labelled_indices(sample)
    if per_conversation == 1 and (per_image is None or per_image >= len(indices)):
        return indices
    epoch_rng(seed, epoch, f"rois/{sample['key']}").shuffle(indices)
    return indices[:per_image] if per_image is not None else indices


def count_conversations(
    samples: Iterable[dict[str, Any]], per_conversation: int = 1, per_image: int | None = None
) -> int:
    """Training items (conversations of up to `per_conversation` ROIs, of at most `per_image`
    ROIs of each image) of one epoch of samples."""
    return sum(
        math.ceil(min(len(_labelled_indices(sample)), per_image or sys.maxsize) / per_conversation)
        for sample in samples
    )


def _mask(sample: dict[str, Any], index: int) -> torch.Tensor:
    if "masks" in sample:
        return sample["masks"][index]
    from pipeline.shards.loader import decode_masks

    return decode_masks([sample["rois"][index]["rle"]], sample["height"], sample["width"])[0]


class _ImageCache:
    """Decoded images of the last `train.image_cache` samples, uint8 (3, H, W) at full resolution
    (a quarter of float32's memory) with their resized float overview: the item buffer interleaves
    the ROIs of many images, and a PNG decode costs more than a training step's model work."""

    def __init__(self, config: ModelConfig):
        self.config, self.size, self.images = config, config.train.image_cache, OrderedDict()

    def get(self, sample: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """(full image float (3, H, W) in 0..1, resized (3, S, S)) of a decoded or light sample."""
        key = sample["key"]
        if key in self.images:
            self.images.move_to_end(key)
        else:
            if "image" in sample:  # a decoded sample: its float image is in memory already
                pixels = sample["image"]
            else:
                from pipeline.shards.format import decode_image

                pixels = torch.from_numpy(decode_image(png_bytes(sample))).permute(2, 0, 1)
            self.images[key] = pixels, resize_image(_as_float(pixels), self.config.image_size)
            if len(self.images) > self.size:
                self.images.popitem(last=False)
        pixels, resized = self.images[key]
        return _as_float(pixels), resized


def _as_float(pixels: torch.Tensor) -> torch.Tensor:
    return pixels.float().div_(255.0) if pixels.dtype == torch.uint8 else pixels


def open_training_samples(
    urls, config: ModelConfig, seed: int, epoch: int, rank: int = 0, world: int = 1, split: str = "train"
) -> Iterator[dict[str, Any]]:
    """Light samples of one process's shards for one epoch (shard order seeded by seed and epoch)."""
    shards = rank_shards(shard_paths(urls), rank, world, seed, epoch, config.train.shard_shuffle)
    return split_filter(light_samples(shards), split, lambda s: s, config.train.test_fraction)


def rank_item_counts(urls, config: ModelConfig, world: int = 1, split: str = "train") -> list[int]:
    """Training items (conversations; = labelled ROIs with train.rois_per_conversation 1) of each
    process's shards, from the JSON only (a rank's shard set is fixed over epochs)."""
    return [
        count_conversations(
            open_training_samples(urls, config, 0, 0, rank, world, split),
            config.train.rois_per_conversation,
            config.train.rois_per_image,
        )
        for rank in range(world)
    ]


def open_shards(
    urls, config: ModelConfig, split: str = "all", select: set[tuple[str, int]] | None = None
) -> Iterable[dict[str, Any]]:
    """Decoded distorted samples of `split`, in shard order (pipeline.shards.loader).

    Args:
        select: (key, roi_id) pairs to keep; the other ROIs are dropped before decoding and samples
            left without ROIs are skipped. None keeps every ROI.
    """
    from pipeline.shards.loader import decode_sample, roi_dataset

    raw = roi_dataset(urls, shuffle=0, shardshuffle=False, references="skip", decode=False)
    for sample in split_filter(raw, split, lambda s: json.loads(s["json"]), config.train.test_fraction):
        if select is not None:
            record = json.loads(sample["json"])
            record["rois"] = [roi for roi in record["rois"] if (record["key"], roi["roi_id"]) in select]
            if not record["rois"]:
                continue
            sample = {**sample, "json": json.dumps(record).encode()}
        yield decode_sample(sample)


def labelled_rois(urls, config: ModelConfig, split: str = "all") -> list[dict[str, Any]]:
    """{"key", "roi_id", "ref_id", "dist_type", "level"} of every labelled ROI of `split` (JSON only)."""
    samples = split_filter(light_samples(shard_paths(urls)), split, lambda s: s, config.train.test_fraction)
    return [
        {
            "key": s["key"],
            "roi_id": s["rois"][i]["roi_id"],
            "ref_id": s["ref_id"],
            "dist_type": s["dist_type"],
            "level": s["level"],
            "split": sample_split(s, config.train.test_fraction),
        }
        for s, i in _labelled_refs(samples)
    ]


def count_shard_items(urls, config: ModelConfig | None = None, split: str = "all") -> int:
    """Labelled ROIs of `split` in the shards, read from the JSON members only (no image is decoded)."""
    from model.config import create_config

    return len(labelled_rois(urls, config or create_config("tiny"), split))


def collate(
    items: list[dict[str, Any]], tokenizer, image_tokens: int, max_length: int
) -> dict[str, torch.Tensor]:
    """Tokenize and pad a list of items into a batch for model.seagull.Seagull.forward.

    Items may hold several ROIs of their image (model/regions.py); one whose turns exceed
    `max_length` becomes several conversations of its image (regions.fit_to_length), so the batch
    may have more rows than `items`.

    Returns:
        {"input_ids": int64 (B, T), "labels": int64 (B, T) (IGNORE_INDEX outside answers and on
         padding), "attention_mask": int64 (B, T), "images": (B, 3, S, S), "masks": (R, S, S),
         "crops": (R, 3, L, L), "roi_counts": (B,), "region_index": (G,)}; padding on the right.
    """
    from model.conversation import GLOBAL_TOKEN

    def fits(turns: list[tuple[str, str]]) -> bool:
        return len(encode_conversation(tokenizer, turns, image_tokens, sys.maxsize).input_ids) <= max_length

    items = [part for item in items for part in fit_to_length(item, fits)]
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
