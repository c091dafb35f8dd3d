"""Several ROIs of one image in one conversation: grouping, batch bookkeeping, token placement."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import yaml

from model.config import CONFIG_DIR, create_config, parse_config
from model.conversation import GLOBAL_TOKEN, IGNORE_INDEX, LOCAL_TOKEN, encode_conversation
from model.data import collate, rank_item_counts, sample_items, shuffled_items
from model.encoder import FrozenEncoder
from model.regions import group_by_image
from model.seagull import build_model
from model.train import RunOptions, train


@torch.no_grad()
def test_each_pair_gets_the_tokens_of_the_roi_it_names(samples):
    config = create_config("tiny")
    torch.manual_seed(0)
    model, tokenizer = build_model(config)
    items = [
        item for sample in samples[:2] for item in sample_items(sample, config, stage=1, seed=0, epoch=0)
    ]
    grouped = list(group_by_image(items, max_rois=4))
    assert [g["masks"].shape[0] for g in grouped] == [2, 2]  # two images, two ROIs each
    batch = collate(grouped, tokenizer, model.image_tokens, config.llm.max_length)
    assert batch["roi_counts"].tolist() == [2, 2] and batch["images"].shape[0] == 2
    expected = [
        offset + roi
        for g, offset in zip(grouped, (0, 2), strict=True)
        for (question, _), roi in zip(g["turns"], g["turn_rois"], strict=True)
        for _ in range(question.count(GLOBAL_TOKEN))
    ]
    assert sorted(set(expected)) == [0, 1, 2, 3]
    assert batch["region_index"].tolist() == expected
    embeds = model.embed(
        batch["input_ids"],
        batch["images"],
        batch["masks"],
        batch["crops"],
        batch["roi_counts"],
        batch["region_index"],
    )
    _, global_tokens, local_tokens = model.region_tokens(
        batch["images"], batch["masks"], batch["crops"], batch["roi_counts"]
    )
    for token, tokens in ((GLOBAL_TOKEN, global_tokens), (LOCAL_TOKEN, local_tokens)):
        where = batch["input_ids"] == tokenizer.convert_tokens_to_ids(token)
        torch.testing.assert_close(embeds[where], tokens[batch["region_index"]])
    single = collate(items, tokenizer, model.image_tokens, config.llm.max_length)
    _, alone_global, alone_local = model.region_tokens(single["images"], single["masks"], single["crops"])
    torch.testing.assert_close(alone_local, local_tokens)  # the local view sees only its crop
    assert not torch.allclose(alone_global, global_tokens)  # the global view attends across the image's ROIs
    assert model(batch).loss.isfinite()


def _grouped_config(rois_per_conversation: int, **train_overrides):
    config = create_config("tiny")
    train = dataclasses.replace(config.train, rois_per_conversation=rois_per_conversation, **train_overrides)
    return dataclasses.replace(config, train=train)


def _members(unit):
    return [(m["key"], m["roi_id"]) for m in unit.get("members", [unit])]


def test_training_units_hold_several_rois_of_one_image(samples):
    """With rois_per_conversation k, an epoch is a seeded shuffle of conversations of up to k ROIs of
    one image; every labelled ROI is in exactly one of them, and skip/limit count conversations."""
    config = _grouped_config(2)
    units = list(shuffled_items(samples, config, stage=1, seed=0, epoch=0))
    assert len(units) == 6 and all(unit["masks"].shape[0] == 2 for unit in units)
    assert all({key for key, _ in _members(unit)} == {unit["key"]} for unit in units)
    every = sorted(roi for unit in units for roi in _members(unit))
    assert every == sorted((s["key"], r["roi_id"]) for s in samples for r in s["rois"])
    assert [_members(u) for u in units] == [
        _members(u) for u in shuffled_items(samples, config, stage=1, seed=0, epoch=0)
    ]
    assert [_members(u) for u in units] != [
        _members(u) for u in shuffled_items(samples, config, stage=1, seed=1, epoch=0)
    ]
    part = list(shuffled_items(samples, config, stage=1, seed=0, epoch=0, skip=2, limit=5))
    assert [_members(u) for u in part] == [_members(u) for u in units[2:5]]
    for unit in units:  # the turns of ROI 1, then of ROI 2, each drawn as in a one-ROI conversation
        assert unit["turns"] == [turn for member in unit["members"] for turn in member["turns"]]
    alone = {
        (i["key"], i["roi_id"]): i["turns"] for i in shuffled_items(samples, _grouped_config(1), 1, 0, 0)
    }
    assert all(m["turns"] == alone[(m["key"], m["roi_id"])] for u in units for m in u["members"])
    # a conversation never mixes images: k larger than an image's ROI count keeps one per image
    assert {len(_members(u)) for u in shuffled_items(samples, _grouped_config(5), 1, 0, 0)} == {2}


def test_conversation_counts_follow_rois_per_conversation(shard_dir):
    assert rank_item_counts(shard_dir, _grouped_config(1)) == [8]  # 4 train samples x 2 ROIs
    assert rank_item_counts(shard_dir, _grouped_config(2)) == [4]
    assert rank_item_counts(shard_dir, _grouped_config(8)) == [4]
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    raw["train"]["rois_per_conversation"] = 0
    with pytest.raises(ValueError, match="rois_per_conversation must be at least 1"):
        parse_config(raw)


def test_a_conversation_longer_than_max_length_is_split_not_truncated(samples):
    """Several ROIs' turns that do not fit llm.max_length become several conversations of the same
    image (each with the overview), so every ROI keeps all its supervised turns."""
    config = create_config("tiny")
    torch.manual_seed(0)
    model, tokenizer = build_model(config)
    items = list(sample_items(samples[0], config, stage=1, seed=0, epoch=0))
    lengths = [
        len(encode_conversation(tokenizer, item["turns"], model.image_tokens, 10_000).input_ids)
        for item in items
    ]
    (unit,) = group_by_image(items, max_rois=2)
    together = len(encode_conversation(tokenizer, unit["turns"], model.image_tokens, 10_000).input_ids)
    assert together - 1 >= max(lengths)  # each ROI fits alone, the two together do not
    fits = collate([unit], tokenizer, model.image_tokens, together)
    assert fits["input_ids"].shape[0] == 1 and fits["roi_counts"].tolist() == [2]
    split = collate([unit], tokenizer, model.image_tokens, together - 1)
    assert split["input_ids"].shape[0] == 2 and split["roi_counts"].tolist() == [1, 1]
    assert split["images"].shape[0] == 2 and split["region_index"].unique().tolist() == [0, 1]
    alone = collate(items, tokenizer, model.image_tokens, together - 1)
    for key in ("input_ids", "labels", "region_index"):
        assert torch.equal(split[key], alone[key]), key  # exactly the one-ROI conversations
    assert int((fits["labels"] != IGNORE_INDEX).sum()) == int((split["labels"] != IGNORE_INDEX).sum())


def test_a_training_step_runs_the_encoder_once_per_conversation(samples, tmp_path, monkeypatch, fast_config):
    """k = 2 and batch 2: each step's encoder call sees 2 images for 4 ROIs (one ROI per
    conversation: 4 images for 4 ROIs); the log's samples/s counts ROIs."""
    calls = []
    forward = FrozenEncoder.forward

    def counting(self, images):
        calls.append(images.shape[0])
        return forward(self, images)

    monkeypatch.setattr(FrozenEncoder, "forward", counting)
    config = fast_config(batch_size=2)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, rois_per_conversation=2))
    train(config, lambda epoch: samples, tmp_path / "grouped", RunOptions(progress=False, max_steps=2))
    assert calls == [2, 2]
    run = json.loads((tmp_path / "grouped" / "run.json").read_text())
    assert run["total_steps"] == 2 and run["config"]["train"]["rois_per_conversation"] == 2
    calls.clear()
    single = fast_config(batch_size=4)
    train(single, lambda epoch: samples, tmp_path / "single", RunOptions(progress=False, max_steps=2))
    assert calls == [4, 4]
