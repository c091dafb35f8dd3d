"""Several ROIs of one image in one conversation, as the authors train (issue 15 item 5).

An item is one conversation about one image: either one ROI ("mask" (S, S), "crop" (3, L, L))
or several ("masks" (k, S, S), "crops" (k, 3, L, L), "turn_rois": for each turn the index of the
ROI it asks about). Every `<global><local>` pair in a turn's question names that turn's ROI; the
model (model/seagull.py) runs the encoder once per image and fills pair g with the tokens of ROI
`region_index[g]`.

`seagull train` builds such conversations with `train.rois_per_conversation` k > 1
(model/data.shuffled_items: an image's labelled ROIs, in a seeded order, cut into conversations
of at most k). A conversation whose turns exceed llm.max_length is cut into several of the same
image at collate time (`fit_to_length`), so no ROI loses turns to truncation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch

from model.conversation import GLOBAL_TOKEN


def group_by_image(items: Iterable[dict[str, Any]], max_rois: int) -> Iterator[dict[str, Any]]:
    """Merge consecutive one-ROI items of the same image (same "key") into conversations of up to
    `max_rois` ROIs: turns of ROI 1, then of ROI 2, ...

    The merged item keeps "key", "image", the stacked "masks"/"crops", "turns", "turn_rois",
    and "members" (the merged items, for their labels).
    """
    if max_rois < 1:
        raise ValueError(f"max_rois must be at least 1, got {max_rois}")
    group: list[dict[str, Any]] = []
    for item in items:
        if group and (item["key"] != group[0]["key"] or len(group) == max_rois):
            yield merge_rois(group)
            group = []
        group.append(item)
    if group:
        yield merge_rois(group)


def merge_rois(group: list[dict[str, Any]]) -> dict[str, Any]:
    """One conversation about the ROIs of one-ROI items of the same image, in their order."""
    return {
        "key": group[0]["key"],
        "image": group[0]["image"],
        "masks": torch.stack([item["mask"] for item in group]),
        "crops": torch.stack([item["crop"] for item in group]),
        "turns": [turn for item in group for turn in item["turns"]],
        "turn_rois": [index for index, item in enumerate(group) for _ in item["turns"]],
        "members": group,
    }


def roi_count(item: dict[str, Any]) -> int:
    """ROIs of a one-ROI or several-ROI item."""
    return len(item["masks"]) if "masks" in item else 1


def fit_to_length(
    item: dict[str, Any], fits: Callable[[list[tuple[str, str]]], bool]
) -> list[dict[str, Any]]:
    """A several-ROI conversation as few conversations of its image as fit, in ROI order.

    Args:
        item: a one-ROI or several-ROI item (a one-ROI item is returned as it is: if its own turns
            do not fit, encode_conversation drops its last turns as before).
        fits: whether a list of turns, encoded as one conversation, fits llm.max_length.

    Returns:
        [item] when it fits, else merged items each holding as many consecutive ROIs as fit
        (at least one).
    """
    if "members" not in item or fits(item["turns"]):
        return [item]
    parts: list[list[dict[str, Any]]] = [[]]
    for member in item["members"]:
        turns = [turn for other in parts[-1] + [member] for turn in other["turns"]]
        if parts[-1] and not fits(turns):
            parts.append([])
        parts[-1].append(member)
    return [merge_rois(part) for part in parts]


def region_inputs(items: list[dict[str, Any]], kept_pairs: list[int]) -> dict[str, torch.Tensor]:
    """The ROI part of a batch: masks (R, S, S), crops (R, 3, L, L), roi_counts (N,) and
    region_index (G,).

    Args:
        items: one-ROI or several-ROI items (module docstring).
        kept_pairs: `<global>` ids each item's encoded conversation kept (later turns may have
            been dropped to fit max_length).
    """
    masks = [item["masks"] if "masks" in item else item["mask"][None] for item in items]
    crops = [item["crops"] if "crops" in item else item["crop"][None] for item in items]
    region_index, offset = [], 0
    for item, item_masks, pairs in zip(items, masks, kept_pairs, strict=True):
        turn_rois = item.get("turn_rois") or [0] * len(item["turns"])
        named = [
            roi
            for (question, _), roi in zip(item["turns"], turn_rois, strict=True)
            for _ in range(question.count(GLOBAL_TOKEN))
        ]
        region_index += [offset + roi for roi in named[:pairs]]
        offset += len(item_masks)
    return {
        "masks": torch.cat(masks),
        "crops": torch.cat(crops),
        "roi_counts": torch.tensor([len(m) for m in masks]),
        "region_index": torch.tensor(region_index, dtype=torch.long),
    }
