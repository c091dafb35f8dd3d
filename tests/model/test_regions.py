"""Several ROIs of one image in one conversation: grouping, batch bookkeeping, token placement."""

from __future__ import annotations

import torch

from model.config import create_config
from model.conversation import GLOBAL_TOKEN, LOCAL_TOKEN
from model.data import collate, sample_items
from model.regions import group_by_image
from model.seagull import build_model


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
