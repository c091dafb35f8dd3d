"""Every shape of the `paper` config on the meta device (no memory, no weights), and its parameter
counts against the authors' modules (chencn2020/SEAGULL `seagull/model/layer.py`)."""

from __future__ import annotations

import pytest
import torch

from model.config import create_config
from model.data import collate
from model.seagull import Seagull
from model.tokenizer import load_tokenizer


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# The authors' MaskExtractor, module by module (their defaults: embed_dim 1024, out_dim 4096,
# mlp_dim 2048, downsample_rate 2, 512-px input: levels 128², 64², 32², 16²).
AUTHORS_GLOBAL_VIEW = {
    "res2..res5": sum(_linear(c, 1024) for c in (192, 384, 768, 1536)),
    "g_res2..g_res5": sum(_linear(hw, 1024) for hw in (128 * 128, 64 * 64, 32 * 32, 16 * 16)),
    "cross_att_res": 4 * _linear(1024, 1024)  # self_attn q/k/v/out
    + 3 * _linear(1024, 512)
    + _linear(512, 1024)  # cross_attn at half width
    + 2 * 2 * 1024  # norm1, norm2
    + _linear(1024, 2048)
    + _linear(2048, 1024),  # MLPBlock
    "feat_linear + cross_feat_linear": 2 * _linear(1024, 4096),
    "final_mlp": _linear(2 * 4096, 4096),
}
AUTHORS_LOCAL_VIEW = {
    "global_vit": (3 * 5 + 5) + (5 * 1 + 1),
    "sa": 4 * _linear(1024, 1024),
    "mlp": _linear(1024, 512) + _linear(512, 512) + _linear(512, 4096),
}
AUTHORS_PROJECTOR = _linear(768, 4096) + _linear(4096, 4096)  # LLaVA mlp2x_gelu


@pytest.fixture(scope="module")
def paper():
    config = create_config("paper")
    tokenizer = load_tokenizer(None)  # the paper's Vicuna tokenizer is a local folder; shapes do not need it
    with torch.device("meta"):
        model = Seagull(config, tokenizer)
    return config, tokenizer, model


def _batch(config, tokenizer, model, rois: int = 1):
    size, local = config.image_size, config.mfe.local_size
    turns = [
        (f"Here is the region <global><local>. Analyze the quality of region {i}.", "The quality is good.")
        for i in range(rois)
    ]
    item = {
        "image": torch.empty(3, size, size),
        "masks": torch.empty(rois, size, size),
        "crops": torch.empty(rois, 3, local, local),
        "turns": turns,
        "turn_rois": list(range(rois)),
    }
    batch = collate([item, item], tokenizer, model.image_tokens, config.llm.max_length)
    batch.pop("attention_mask")  # all ones; transformers inspects a mask's values, which meta tensors lack
    # ROI counts and pair indices are bookkeeping the model reads on the host; the rest goes to meta.
    return {
        name: value if name in ("roi_counts", "region_index") else value.to("meta")
        for name, value in batch.items()
    }


@pytest.mark.parametrize("rois", [1, 3])
def test_paper_shapes(paper, rois):
    config, tokenizer, model = paper
    batch = _batch(config, tokenizer, model, rois)
    features = model.encoder(batch["images"])
    assert [tuple(f.shape) for f in features] == [
        (2, 192, 128, 128),
        (2, 384, 64, 64),
        (2, 768, 32, 32),
        (2, 1536, 16, 16),
    ]
    image_tokens, global_tokens, local_tokens = model.region_tokens(
        batch["images"], batch["masks"], batch["crops"], batch["roi_counts"]
    )
    assert model.image_tokens == 1024
    assert tuple(image_tokens.shape) == (2, 1024, 4096)
    assert tuple(global_tokens.shape) == tuple(local_tokens.shape) == (2 * rois, 4096)
    output = model(batch)
    assert tuple(output.logits.shape) == (2, batch["input_ids"].shape[1], 32000)
    assert batch["input_ids"].shape[1] <= config.llm.max_length
    assert output.loss.shape == ()


def test_paper_parameter_counts_match_the_authors_modules(paper, record_property):
    _, _, model = paper
    counts = {
        name: sum(p.numel() for p in getattr(model, name).parameters())
        for name in ("projector", "global_view", "local_view")
    }
    counts["lora"] = sum(p.numel() for n, p in model.llm.named_parameters() if "lora_" in n)
    print("paper parameter counts:", counts)
    for name, value in counts.items():
        record_property(f"params_{name}", value)
    assert counts["projector"] == AUTHORS_PROJECTOR == 19_931_136
    assert counts["global_view"] == sum(AUTHORS_GLOBAL_VIEW.values()) == 77_694_464
    assert counts["local_view"] == sum(AUTHORS_LOCAL_VIEW.values()) == 7_087_130
    assert counts["lora"] == 32 * 128 * (4 * (4096 + 4096) + 3 * (4096 + 11008))


def test_paper_freezes_encoder_and_llm_base(paper):
    _, _, model = paper
    assert not any(p.requires_grad for p in model.encoder.parameters())
    base = [n for n, p in model.llm.named_parameters() if p.requires_grad and "lora_" not in n]
    assert base == []
    assert all(p.requires_grad for p in model.global_view.parameters())
