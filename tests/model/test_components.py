"""Components of the model one by one: config, tokenizer, conversation masks, MFE pieces, scoring."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import yaml

from model.config import CONFIG_DIR, create_config, list_configs, parse_config
from model.conversation import IGNORE_INDEX, encode_conversation, encode_prompt
from model.data import STAGE_MODES, stream_items
from model.encoder import FrozenEncoder
from model.local_view import LocalView, crop_roi
from model.mfe import GlobalView, RegionLayout, mask_pool
from model.projector import create_projector, list_projectors
from model.scoring import expected_score, level_token_ids, parse_distortion, question_and_prefix
from model.tokenizer import load_tokenizer
from pipeline.instructions import all_template_texts
from pipeline.levels import LEVEL_WORDS


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(None)


def test_config_registry():
    assert {"tiny", "paper"} <= set(list_configs())
    paper = create_config("paper")
    assert (paper.image_size, paper.mfe.width, paper.mfe.heads) == (512, 1024, 8)
    assert (paper.llm.lora.r, paper.llm.lora.alpha, paper.llm.max_length) == (128, 256, 2048)
    assert paper.llm.config["hidden_size"] == 4096
    with pytest.raises(ValueError, match="unknown model config"):
        create_config("huge")


def test_tokenizer_covers_every_template_word(tokenizer):
    for text in all_template_texts():
        assert tokenizer.unk_token_id not in tokenizer(text, add_special_tokens=False)["input_ids"], text
    for token in ("<image>", "<global>", "<local>"):
        assert len(tokenizer(token, add_special_tokens=False)["input_ids"]) == 1


def test_loss_only_on_answers(tokenizer):
    turns = [
        (
            "Here is the region <global><local>. Analyze the quality of this region.",
            "The quality of this region is good.",
        ),
        ("Here is the region <global><local>. Is this region minor to the overall quality?", "No"),
    ]
    encoded = encode_conversation(tokenizer, turns, image_tokens=5, max_length=512)
    supervised = [
        token for token, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != IGNORE_INDEX
    ]
    assert (
        tokenizer.decode(supervised) == "The quality of this region is good . </s> No </s>"
    )  # WordLevel decodes with spaces
    assert encoded.input_ids.count(tokenizer.convert_tokens_to_ids("<image>")) == 5
    assert [label for label in encoded.labels if label != IGNORE_INDEX] == supervised
    short = encode_conversation(tokenizer, turns, image_tokens=5, max_length=len(encoded.input_ids) - 1)
    assert short.input_ids == encoded.input_ids[: len(short.input_ids)] and len(short.input_ids) < len(
        encoded.input_ids
    )


def test_scoring_prompt_ends_where_training_answers_put_the_level_word(tokenizer):
    question, prefix = question_and_prefix("quality")
    prompt = encode_prompt(tokenizer, question, prefix, image_tokens=3)
    trained = encode_conversation(
        tokenizer, [(question, prefix + "fair.")], image_tokens=3, max_length=512
    ).input_ids
    assert trained[: len(prompt)] == prompt
    assert trained[len(prompt)] == level_token_ids(tokenizer, "quality")[LEVEL_WORDS["quality"].index("fair")]


def test_expected_score_moves_with_probability_mass():
    uniform = torch.full((1, 5), 0.2)
    better = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]])
    assert expected_score(uniform).item() == pytest.approx(3.0)
    assert expected_score(better).item() > expected_score(uniform).item()
    assert expected_score(torch.eye(5)).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_parse_distortion():
    assert parse_distortion("This region has moderate blur distortion .") == {
        "distortions": [{"type": "blur", "severity_level": "moderate"}],
        "distortion": "blur",
        "severity_level": "moderate",
    }
    assert parse_distortion("This region is without distortion.") == {
        "distortions": [],
        "distortion": "none",
        "severity_level": None,
    }
    assert parse_distortion("Yes") == {"distortions": [], "distortion": None, "severity_level": None}


def test_parse_several_distortions_pairs_each_type_with_its_severity():
    parsed = parse_distortion(
        "This region has severe noise distortion and moderate blur distortion and noise distortion ."
    )
    assert parsed["distortions"] == [
        {"type": "noise", "severity_level": "severe"},
        {"type": "blur", "severity_level": "moderate"},
    ]  # a repeated type counts once, with its first severity
    assert (parsed["distortion"], parsed["severity_level"]) == ("noise", "severe")
    assert parse_distortion("exposure and severe contrast")["distortions"] == [
        {"type": "exposure", "severity_level": None},
        {"type": "contrast", "severity_level": "severe"},
    ]


def test_mask_pool_is_the_mean_inside_the_mask():
    features = torch.randn(2, 8, 4, 4)
    masks = torch.zeros(2, 16, 16)
    masks[0, :8, :8] = 1  # the top-left 2x2 cells
    masks[1, 12:, 12:] = 1  # the bottom-right cell
    pooled = mask_pool(features, masks)
    torch.testing.assert_close(pooled[0], features[0, :, :2, :2].mean((-2, -1)))
    torch.testing.assert_close(pooled[1], features[1, :, 3, 3])
    tiny = torch.zeros(1, 16, 16)
    tiny[0, 0, 0] = 1  # misses every bilinear sample of the 4x4 level: zeros, as the authors' pooling gives
    assert mask_pool(features[:1], tiny).abs().sum() == 0


def test_global_and_local_view_shapes_and_mask_dependence():
    torch.manual_seed(0)
    features = [torch.randn(2, c, s, s) for c, s in ((4, 16), (8, 8), (16, 4), (32, 2))]
    view = GlobalView((4, 8, 16, 32), (256, 64, 16, 4), width=16, heads=4, out_dim=24)
    masks = torch.zeros(2, 64, 64)
    masks[0, :32], masks[1, 32:] = 1, 1
    tokens = view(features, masks, RegionLayout([1, 1], torch.device("cpu")))
    assert tokens.shape == (2, 24)
    same_features = [f[:1].expand(2, -1, -1, -1) for f in features]
    different = view(same_features, masks, RegionLayout([1, 1], torch.device("cpu")))
    assert not torch.allclose(different[0], different[1])  # same image, different ROI -> different token
    local = LocalView(size=64, grid=4, heads=4, out_dim=24)
    assert local(torch.rand(3, 3, 64, 64)).shape == (3, 24)


def test_global_view_attends_across_the_rois_of_one_image_only():
    """Two ROIs of image 0 in one grid row see each other; image 1's ROI is unaffected by them."""
    torch.manual_seed(0)
    features = [torch.randn(2, c, s, s) for c, s in ((4, 16), (8, 8), (16, 4), (32, 2))]
    view = GlobalView((4, 8, 16, 32), (256, 64, 16, 4), width=16, heads=4, out_dim=24)
    masks = torch.zeros(3, 64, 64)
    masks[0, :32], masks[1, 32:], masks[2, :, :32] = 1, 1, 1
    together = view(features, masks, RegionLayout([2, 1], torch.device("cpu")))
    alone = view([f[[0, 0, 1]] for f in features], masks, RegionLayout([1, 1, 1], torch.device("cpu")))
    torch.testing.assert_close(together[2], alone[2])  # image 1: same with or without padding
    assert not torch.allclose(together[0], alone[0])  # image 0's ROIs attend to each other


def test_crop_roi_keeps_the_bounding_box_unmasked():
    image = torch.rand(3, 40, 50)
    mask = torch.zeros(40, 50, dtype=torch.bool)
    mask[10:30, 5:45] = True
    mask[10:20, 5:25] = False  # an L-shaped ROI: its box contains pixels outside it
    crop = crop_roi(image, mask, 20)
    assert crop.shape == (3, 20, 20)
    box = torch.nn.functional.interpolate(
        image[None, :, 10:30, 5:45], size=(20, 20), mode="bilinear", antialias=True, align_corners=False
    )[0]
    torch.testing.assert_close(crop, box.clamp(0, 1))  # the cut-out corner keeps its pixels (authors' demo)
    assert crop_roi(image, torch.zeros(40, 50, dtype=torch.bool), 20).abs().sum() == 0


def test_projector_registry():
    assert {"linear", "mlp_gelu", "identity"} <= set(list_projectors())
    mlp = create_projector("mlp2x_gelu", 8, 16)
    assert [type(m).__name__ for m in mlp] == ["Linear", "GELU", "Linear"]
    assert create_projector("mlp3x_gelu", 8, 16)(torch.rand(2, 5, 8)).shape == (2, 5, 16)
    with pytest.raises(ValueError, match="unknown projector"):
        create_projector("qformer", 8, 16)


def test_stream_items_stage_modes_and_skip(samples):
    config = create_config("tiny")
    items = list(stream_items(samples, config, stage=1, seed=0, epoch=0))
    assert len(items) == 12 and all(len(i["turns"]) == 3 for i in items)
    again = list(stream_items(samples, config, stage=1, seed=0, epoch=0, skip=5))
    assert [i["turns"] for i in again] == [i["turns"] for i in items[5:]]  # a resumed run draws the same
    other_epoch = list(stream_items(samples, config, stage=1, seed=0, epoch=1))
    assert [i["turns"] for i in other_epoch] != [i["turns"] for i in items]  # stage 1 redraws each epoch
    fixed = [list(stream_items(samples, config, stage=2, seed=0, epoch=e)) for e in (0, 1)]
    assert [i["turns"] for i in fixed[0]] == [i["turns"] for i in fixed[1]] and len(fixed[0][0]["turns"]) == 9
    assert set(STAGE_MODES) == {1, 2}
    assert items[0]["image"].shape == (3, 128, 128) and items[0]["crop"].shape == (3, 128, 128)


def test_local_kernel_3_lets_the_local_view_see_texture():
    """mfe.local_kernel 1 (the authors') is blind to where pixels are within each pooled cell: a
    crop and the same crop with its pixels permuted inside every 4x4 cell give the same map.
    With 3x3 kernels the map tells them apart (noise, blur, blocking change neighbourhoods)."""
    torch.manual_seed(0)
    crops = torch.rand(1, 3, 32, 32)
    cells = crops.unfold(2, 4, 4).unfold(3, 4, 4).reshape(1, 3, 8, 8, 16)  # first pool's 4x4 cells
    permuted = cells[..., torch.randperm(16)].reshape(1, 3, 8, 8, 4, 4).permute(0, 1, 2, 4, 3, 5)
    permuted = permuted.reshape(1, 3, 32, 32)
    assert not torch.equal(permuted, crops)
    for kernel, same in ((1, True), (3, False)):
        torch.manual_seed(0)
        local = LocalView(size=32, grid=2, heads=1, out_dim=8, kernel=kernel)
        assert local.cnn[0].kernel_size == (kernel, kernel)
        assert torch.allclose(local.cnn(crops), local.cnn(permuted), atol=1e-6) == same


def test_trainable_encoder_option():
    frozen = FrozenEncoder(create_config("tiny").encoder)
    trainable = FrozenEncoder(dataclasses.replace(create_config("tiny").encoder, trainable=True))
    images = torch.rand(1, 3, 64, 64)
    assert not any(p.requires_grad for p in frozen.parameters()) and not frozen(images)[0].requires_grad
    assert all(p.requires_grad for p in trainable.parameters()) and trainable(images)[0].requires_grad
    with torch.no_grad():
        assert not trainable(images)[0].requires_grad


def test_local_channels_widen_the_local_token():
    """mfe.local_channels (c1, c2): the first conv has c1 outputs, the token is c2 x grid² wide;
    the default is the authors' (5, 1); the YAML list is read as a tuple and bad values are refused."""
    authors = LocalView(size=32, grid=2, heads=1, out_dim=8)
    assert (authors.cnn[0].out_channels, authors.cnn[3].out_channels) == (5, 1)
    assert authors.mlp[0].in_features == 4
    wide = LocalView(size=32, grid=2, heads=2, out_dim=8, kernel=3, channels=(16, 8))
    assert (wide.cnn[0].out_channels, wide.cnn[3].out_channels) == (16, 8)
    assert wide.mlp[0].in_features == 8 * 2 * 2
    assert wide(torch.rand(3, 3, 32, 32)).shape == (3, 8)
    assert create_config("paper").mfe.local_channels == (5, 1)
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    raw["mfe"]["local_channels"] = [16, 8]
    assert parse_config(raw).mfe.local_channels == (16, 8)
    for bad, message in (([16], "two positive integers"), ([16, 0], "two positive integers")):
        raw["mfe"]["local_channels"] = bad
        with pytest.raises(ValueError, match=message):
            parse_config(raw)
    raw["mfe"].update(local_channels=[16, 1], width=96, heads=3)  # a 64-wide token, 3 heads
    with pytest.raises(ValueError, match="must be divisible by mfe.heads 3"):
        parse_config(raw)
