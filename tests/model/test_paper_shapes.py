"""Every shape of the `paper` config, on the meta device (no memory, no weights)."""

from __future__ import annotations

import pytest
import torch

from model.config import create_config
from model.data import collate
from model.seagull import Seagull
from model.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def paper():
    config = create_config("paper")
    tokenizer = load_tokenizer(None)  # the paper's Vicuna tokenizer is a local folder; shapes do not need it
    with torch.device("meta"):
        model = Seagull(config, tokenizer)
    return config, tokenizer, model


def _batch(config, tokenizer, model):
    size, local = config.image_size, config.mfe.local_size
    item = {
        "image": torch.empty(3, size, size),
        "mask": torch.empty(size, size),
        "crop": torch.empty(3, local, local),
        "turns": [
            (
                "Here is the region <global><local>. Analyze the quality of this region.",
                "The quality of this region is good.",
            )
        ],
    }
    batch = collate([item, item], tokenizer, model.image_tokens, config.llm.max_length)
    batch.pop("attention_mask")  # all ones; transformers inspects a mask's values, which meta tensors lack
    return {name: value.to("meta") for name, value in batch.items()}


def test_paper_shapes(paper, record_property):
    config, tokenizer, model = paper
    batch = _batch(config, tokenizer, model)
    features = model.encoder(batch["images"])
    assert [tuple(f.shape) for f in features] == [
        (2, 192, 128, 128),
        (2, 384, 64, 64),
        (2, 768, 32, 32),
        (2, 1536, 16, 16),
    ]
    image_tokens, global_tokens, local_tokens = model.region_tokens(
        batch["images"], batch["masks"], batch["crops"]
    )
    assert model.image_tokens == 1024
    assert tuple(image_tokens.shape) == (2, 1024, 4096)
    assert tuple(global_tokens.shape) == tuple(local_tokens.shape) == (2, 4096)
    output = model(batch)
    assert tuple(output.logits.shape) == (2, batch["input_ids"].shape[1], 32000)
    assert batch["input_ids"].shape[1] <= config.llm.max_length
    assert output.loss.shape == ()
    counts = {
        name: sum(p.numel() for p in getattr(model, name).parameters())
        for name in ("projector", "global_view", "local_view")
    }
    counts["lora"] = sum(p.numel() for n, p in model.llm.named_parameters() if "lora_" in n)
    print("paper parameter counts:", counts)
    for name, value in counts.items():
        record_property(f"params_{name}", value)
    # mlp2x_gelu 768 -> 4096 -> 4096
    assert counts["projector"] == 768 * 4096 + 4096 + 4096 * 4096 + 4096
    assert counts["lora"] == 32 * 128 * (4 * (4096 + 4096) + 3 * (4096 + 11008))


def test_paper_freezes_encoder_and_llm_base(paper):
    _, _, model = paper
    assert not any(p.requires_grad for p in model.encoder.parameters())
    base = [n for n, p in model.llm.named_parameters() if p.requires_grad and "lora_" not in n]
    assert base == []
    assert all(p.requires_grad for p in model.global_view.parameters())
