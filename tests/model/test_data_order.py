"""Training input order: seeded shuffles, per-rank shards, the split by image, stratified draws."""

from __future__ import annotations

import dataclasses
import random

import pytest
import torch
import yaml

from model.config import CONFIG_DIR, create_config, parse_config
from model.data import (
    labelled_rois,
    open_shards,
    open_training_samples,
    rank_item_counts,
    shuffled_items,
    stream_items,
)
from model.sampling import buffer_shuffle, rank_shards, stratified_order
from pipeline.split import split_of


def _keys(items):
    return [(item["key"], item["roi_id"]) for item in items]


def _members(item):
    return [(m["key"], m["roi_id"]) for m in item.get("members", [item])]


def test_shuffle_differs_between_seeds_and_epochs_not_between_reruns(samples):
    config = create_config("tiny")
    order = _keys(shuffled_items(samples, config, stage=1, seed=0, epoch=0))
    assert order == _keys(shuffled_items(samples, config, stage=1, seed=0, epoch=0))
    assert order != _keys(shuffled_items(samples, config, stage=1, seed=1, epoch=0))
    assert order != _keys(shuffled_items(samples, config, stage=1, seed=0, epoch=1))
    unshuffled = _keys(stream_items(samples, config, stage=1, seed=0, epoch=0))
    assert sorted(order) == sorted(unshuffled) and order != unshuffled


def test_skip_and_limit_cut_the_same_sequence(samples):
    config = create_config("tiny")
    whole = list(shuffled_items(samples, config, stage=1, seed=3, epoch=2))
    part = list(shuffled_items(samples, config, stage=1, seed=3, epoch=2, skip=5, limit=9))
    assert _keys(part) == _keys(whole[5:9])
    for a, b in zip(part, whole[5:9], strict=True):
        assert a["turns"] == b["turns"]
        torch.testing.assert_close(a["crop"], b["crop"])


def test_buffer_shuffle_keeps_every_element_once():
    shuffled = list(buffer_shuffle(range(100), 10, random.Random(0)))
    assert sorted(shuffled) == list(range(100)) and shuffled != list(range(100))
    assert list(buffer_shuffle(range(5), 0, random.Random(0))) == list(range(5))


@pytest.mark.parametrize("rois_per_conversation", [1, 2])
def test_items_from_shards_equal_items_from_decoded_samples(shard_dir, samples, rois_per_conversation):
    """Light samples (JSON + PNG position) give the same items as decoded ones, in the same order
    (one ROI per conversation, or both ROIs of an image in one)."""
    config = create_config("tiny")
    config = dataclasses.replace(
        config, train=dataclasses.replace(config.train, rois_per_conversation=rois_per_conversation)
    )
    light = list(open_training_samples(shard_dir, config, seed=0, epoch=0, split="all"))
    by_key = {s["key"]: s for s in samples}
    assert sorted(s["key"] for s in light) == sorted(by_key)
    samples = [by_key[s["key"]] for s in light]  # the shard's order (types in taxonomy order)
    from_shards = list(shuffled_items(light, config, stage=1, seed=0, epoch=0))
    decoded = list(shuffled_items(samples, config, stage=1, seed=0, epoch=0))
    assert len(from_shards) == 12 // rois_per_conversation
    assert [_members(i) for i in from_shards] == [_members(i) for i in decoded]
    for a, b in zip(from_shards, decoded, strict=True):
        assert a["turns"] == b["turns"]
        torch.testing.assert_close(a.get("masks", a.get("mask")), b.get("masks", b.get("mask")))
        torch.testing.assert_close(a["image"], b["image"], atol=1 / 255, rtol=0)


def test_ranks_read_disjoint_shards_in_a_seeded_order():
    urls = [f"s{i}.tar" for i in range(7)]
    ranks = [rank_shards(urls, r, 2, seed=0, epoch=0, shuffle=True) for r in range(2)]
    assert sorted(ranks[0] + ranks[1]) == urls and not set(ranks[0]) & set(ranks[1])
    assert set(rank_shards(urls, 0, 2, seed=0, epoch=1, shuffle=True)) == set(ranks[0])  # fixed per rank
    orders = {tuple(rank_shards(urls, 0, 1, seed=0, epoch=e, shuffle=True)) for e in range(5)}
    assert len(orders) > 1
    with pytest.raises(ValueError, match="7 shards for 8 processes"):
        rank_shards(urls, 0, 8, seed=0, epoch=0, shuffle=True)


def test_split_by_reference_image(shard_dir):
    """Training reads the train images, evaluation the test ones; no image is in both."""
    config = create_config("tiny")
    assert {r: split_of(r) for r in ("astronaut", "chelsea", "coffee")} == {
        "astronaut": "train",
        "chelsea": "test",
        "coffee": "train",
    }
    train = {s["ref_id"] for s in open_training_samples(shard_dir, config, seed=0, epoch=0)}
    test = {s["ref_id"] for s in open_shards(shard_dir, config, split="test")}
    assert train == {"astronaut", "coffee"} and test == {"chelsea"}
    assert rank_item_counts(shard_dir, config) == [8]
    assert {r["split"] for r in labelled_rois(shard_dir, config, split="test")} == {"test"}


def test_stratified_order_deals_images_then_types_then_levels():
    rois = [
        {"ref_id": ref, "dist_type": dist, "level": level, "roi_id": roi}
        for ref in ("a", "b", "c")
        for dist in ("blur", "noise")
        for level in (1, 2)
        for roi in range(5)
    ]
    keys = (lambda r: r["ref_id"], lambda r: r["dist_type"], lambda r: r["level"])
    order = stratified_order(rois, keys, random.Random(0))
    assert sorted(map(str, order)) == sorted(map(str, rois))
    first = order[:12]  # 3 images x 2 types x 2 levels: each cell exactly once
    assert sorted((r["ref_id"], r["dist_type"], r["level"]) for r in first) == sorted(
        {(r["ref_id"], r["dist_type"], r["level"]) for r in rois}
    )
    assert len({r["ref_id"] for r in order[:3]}) == 3  # images first
    assert len({(r["ref_id"], r["dist_type"]) for r in order[:6]}) == 6  # then types
    assert order == stratified_order(rois, keys, random.Random(0))


def test_rois_per_image_draws_a_seeded_few_rois_of_each_image_per_epoch(samples, shard_dir):
    """train.rois_per_image k: each image gives k of its labelled ROIs to an epoch, drawn anew each
    epoch from (seed, epoch, key), the same on a rerun; the epoch's length counts them."""
    config = create_config("tiny")
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, rois_per_image=1))
    epochs = [_keys(shuffled_items(samples, config, stage=1, seed=0, epoch=e)) for e in range(3)]
    for order in epochs:
        assert sorted(key for key, _ in order) == sorted(s["key"] for s in samples)  # one ROI per image
    assert epochs[0] == _keys(shuffled_items(samples, config, stage=1, seed=0, epoch=0))
    assert len({tuple(sorted(order)) for order in epochs}) > 1  # other ROIs in another epoch
    assert rank_item_counts(shard_dir, config) == [4]  # 4 train samples x 1 of their 2 ROIs
    assert rank_item_counts(shard_dir, create_config("tiny")) == [8]
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    raw["train"]["rois_per_image"] = 0
    with pytest.raises(ValueError, match="rois_per_image must be at least 1"):
        parse_config(raw)


def test_train_p_air_sets_the_share_of_full_answers_in_training_conversations(samples):
    """train.p_air 1: every stage-1 turn is an AIR (no yes/no answer); the config's null keeps the
    templates' 0.5, so both kinds appear; an out-of-range value is refused by name."""
    config = create_config("tiny")
    answers = {}
    for p_air in (1.0, None):
        chosen = dataclasses.replace(config, train=dataclasses.replace(config.train, p_air=p_air))
        items = list(shuffled_items(samples, chosen, stage=1, seed=0, epoch=0))
        answers[p_air] = {answer for item in items for _, answer in item["turns"]}
        assert all(len(item["turns"]) == 3 for item in items)
    assert not answers[1.0] & {"Yes", "No"}
    assert answers[None] & {"Yes", "No"}
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    raw["train"]["p_air"] = 2
    with pytest.raises(ValueError, match="train.p_air must be in"):
        parse_config(raw)


def test_image_cache_decodes_each_image_once_and_changes_no_item(shard_dir, monkeypatch):
    """train.image_cache holds decoded images while the item buffer interleaves their ROIs: with
    room for all, each PNG is decoded once; with room for one, the same items come out."""
    import pipeline.shards.format as shard_format

    decodes = []
    decode = shard_format.decode_image

    def counting_decode(data):
        decodes.append(1)
        return decode(data)

    monkeypatch.setattr(shard_format, "decode_image", counting_decode)

    def items(cache):
        config = create_config("tiny")
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, image_cache=cache))
        light = open_training_samples(shard_dir, config, seed=0, epoch=0, split="all")
        decodes.clear()
        return list(shuffled_items(light, config, stage=1, seed=0, epoch=0)), len(decodes)

    (cached, cached_decodes), (uncached, uncached_decodes) = items(64), items(1)
    assert len(cached) == 12 and cached_decodes == len({item["key"] for item in cached}) == 6
    assert uncached_decodes > cached_decodes  # the shuffle interleaves the images' ROIs
    assert _keys(cached) == _keys(uncached)
    for a, b in zip(cached, uncached, strict=True):
        for name in ("image", "mask", "crop"):
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
