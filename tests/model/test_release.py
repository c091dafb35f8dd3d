"""The authors' release layout: a reduced-width release under the authors' exact tensor names loads,
every tensor lands where it should and computes what the authors' code computes; missing, extra
and misshapen tensors fail with their names; `assess` answers from it; export -> load round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from click.testing import CliRunner
from peft import LoraConfig, get_peft_model
from PIL import Image

from model.config import CONFIG_DIR, create_config
from model.encoder import FrozenEncoder
from model.llm import LORA_TARGETS, build_llm
from model.mfe import RegionLayout
from model.release import NON_LORA, TENSOR_TABLE, ReleaseError, ReleasePaths, load_release
from model.tokenizer import load_tokenizer
from pipeline.levels import LEVEL_WORDS
from seagull.cli import main

PREFIX = "base_model.model."  # the authors' trainer saves non-LoRA weights under the peft wrapper


def authors_shapes(channels, positions, width, llm, grid_tokens, mm_in, mask_shape=112) -> dict[str, tuple]:
    """Tensor names and shapes of the authors' projector + MaskExtractor (seagull/model/layer.py), at
    reduced widths: P = width, LLM width = llm, local token = grid_tokens, projector input mm_in."""
    linears = {
        "model.mm_projector.0": (llm, mm_in),
        "model.mm_projector.2": (llm, llm),
        "mask_extractor.feat_linear": (llm, width),
        "mask_extractor.cross_feat_linear": (llm, width),
        "mask_extractor.final_mlp": (llm, 2 * llm),
        "mask_extractor.cross_att_res.mlp.lin1": (2 * width, width),
        "mask_extractor.cross_att_res.mlp.lin2": (width, 2 * width),
        "mask_extractor.cross_att_res.cross_attn.out_proj": (width, width // 2),
        "mask_extractor.mlp.layers.0": (grid_tokens // 2, grid_tokens),
        "mask_extractor.mlp.layers.1": (grid_tokens // 2, grid_tokens // 2),
        "mask_extractor.mlp.layers.2": (llm, grid_tokens // 2),
        "mask_extractor.mask_linear.layers.0": (width, mask_shape * mask_shape),
        "mask_extractor.mask_linear.layers.1": (width, width),
        "mask_extractor.mask_linear.layers.2": (llm, width),
    }
    for level, c, p in zip(("res2", "res3", "res4", "res5"), channels, positions, strict=True):
        linears[f"mask_extractor.{level}"] = (width, c)
        linears[f"mask_extractor.g_{level}"] = (width, p)
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        linears[f"mask_extractor.cross_att_res.self_attn.{proj}"] = (width, width)
        linears[f"mask_extractor.sa.{proj}"] = (grid_tokens, grid_tokens)
    for proj in ("q_proj", "k_proj", "v_proj"):
        linears[f"mask_extractor.cross_att_res.cross_attn.{proj}"] = (width // 2, width)
    shapes = {}
    for name, (n_out, n_in) in linears.items():
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (n_out, n_in), (n_out,)
    for norm in ("norm1", "norm2"):
        shapes[f"mask_extractor.cross_att_res.{norm}.weight"] = (width,)
        shapes[f"mask_extractor.cross_att_res.{norm}.bias"] = (width,)
    shapes.update(
        {
            "mask_extractor.global_vit.0.weight": (5, 3, 1, 1),
            "mask_extractor.global_vit.0.bias": (5,),
            "mask_extractor.global_vit.3.weight": (1, 5, 1, 1),
            "mask_extractor.global_vit.3.bias": (1,),
        }
    )
    return shapes


@pytest.fixture(scope="module")
def authors_tiny(tmp_path_factory) -> str:
    """The path of a config with tiny widths and the authors' local view: tiny.yaml widens it
    (3x3, 16 -> 8 channels), a release has the authors' (1x1, 5 -> 1)."""
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    raw["mfe"].update(local_kernel=1, local_channels=[5, 1])
    path = tmp_path_factory.mktemp("config") / "tiny-authors.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.fixture(scope="module")
def release(tmp_path_factory, authors_tiny):
    """A tiny-width release folder with the authors' names, a base LLM folder and an encoder file."""
    root = tmp_path_factory.mktemp("release")
    config = create_config(authors_tiny)
    tokenizer = load_tokenizer(None)
    torch.manual_seed(1)
    llm = build_llm(config.llm, tokenizer)
    llm.save_pretrained(root / "vicuna")
    tokenizer.save_pretrained(root / "vicuna")
    torch.manual_seed(2)
    clip = FrozenEncoder(config.encoder).trunk_state_dict()
    # The rest of an OpenCLIP file, which the trunk does not use: the image projection head
    # (convnext_large_d_320's MLP) and the text tower.
    clip.update(
        {
            "visual.head.mlp.fc1.weight": torch.randn(64, 128),
            "visual.head.mlp.fc1.bias": torch.randn(64),
            "visual.head.mlp.fc2.weight": torch.randn(32, 64),
            "token_embedding.weight": torch.randn(10, 32),
            "transformer.resblocks.0.attn.in_proj_weight": torch.randn(96, 32),
            "logit_scale": torch.tensor(4.6),
        }
    )
    torch.save(clip, root / "open_clip_pytorch_model.bin")
    shapes = authors_shapes(
        channels=(16, 32, 64, 128),
        positions=(32 * 32, 16 * 16, 8 * 8, 4 * 4),
        width=config.mfe.width,
        llm=llm.config.hidden_size,
        grid_tokens=config.mfe.local_grid**2,
        mm_in=64,
    )
    generator = torch.Generator().manual_seed(3)
    tensors = {name: 0.1 * torch.randn(shape, generator=generator) for name, shape in shapes.items()}
    weights = root / "SEAGULL-7B"
    weights.mkdir()
    torch.save({PREFIX + name: value for name, value in tensors.items()}, weights / NON_LORA)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=list(LORA_TARGETS), init_lora_weights=False)
    torch.manual_seed(4)
    get_peft_model(llm, lora).save_pretrained(weights)  # peft's own adapter files, as the authors'
    paths = ReleasePaths(weights, root / "vicuna", root / "open_clip_pytorch_model.bin")
    return paths, tensors, config


@pytest.fixture(scope="module")
def loaded(release):
    paths, _, config = release
    return load_release(paths, config, prompts="authors", dtype=torch.float32)


def test_every_release_tensor_lands_in_its_parameter(release, loaded):
    _, tensors, _ = release
    model, _ = loaded
    state = model.state_dict()
    used = {name for name in tensors if "mask_linear" not in name}
    assert used == set(TENSOR_TABLE)  # the table covers the authors' modules exactly
    for authors, ours in TENSOR_TABLE.items():
        torch.testing.assert_close(state[ours], tensors[authors], rtol=0, atol=0, msg=authors)
    from safetensors.torch import load_file

    adapter = load_file(release[0].weights / "adapter_model.safetensors")
    assert len(adapter) == 2 * 7 * 2  # 2 layers x 7 projections x (A, B)
    for name, value in adapter.items():
        ours = "llm." + name.replace(".weight", ".default.weight")
        torch.testing.assert_close(state[ours], value, rtol=0, atol=0, msg=name)
    clip = torch.load(release[0].encoder_weights)
    trunk = {name for name in clip if name.startswith("visual.trunk.")}
    assert {f"visual.trunk.{name}" for name in model.encoder.backbone.state_dict()} == trunk
    for name, value in model.encoder.backbone.state_dict().items():
        torch.testing.assert_close(value, clip[f"visual.trunk.{name}"], rtol=0, atol=0, msg=name)
    from safetensors.torch import load_file as load_base

    base = load_base(release[0].base / "model.safetensors")
    for name, value in base.items():  # the frozen LLM: under peft's wrapper, LoRA'd layers as base_layer
        ours = [f"llm.base_model.model.{name}", f"llm.base_model.model.{name[:-7]}.base_layer.weight"]
        torch.testing.assert_close(
            state[next(n for n in ours if n in state)], value, rtol=0, atol=0, msg=name
        )


def _linear(t, x, name):
    return F.linear(x, t[f"{name}.weight"], t[f"{name}.bias"])


def _attention(t, q, k, v, name, heads):
    """The authors' Attention: project, split heads, softmax(q k^T / sqrt(c)) v, recombine, project."""
    q, k, v = (_linear(t, x, f"{name}.{p}") for x, p in ((q, "q_proj"), (k, "k_proj"), (v, "v_proj")))
    q, k, v = (x.unflatten(-1, (heads, -1)).transpose(1, 2) for x in (q, k, v))
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)
    return _linear(t, (weights @ v).transpose(1, 2).flatten(2), f"{name}.out_proj")


def _authors_global_view(t, features, masks, heads):
    """The authors' MaskExtractor global branch for one image and its q ROIs (masks (1, q, H, W))."""
    basic_sum, global_sum = 0, 0
    block = "mask_extractor.cross_att_res"
    for j, feature in enumerate(features):
        m = F.interpolate(masks, size=feature.shape[-2:], mode="bilinear", align_corners=False)
        m = (m > 0).float()
        m = m / (m.sum(dim=(-1, -2), keepdim=True) + 1e-8)
        basic = _linear(t, torch.einsum("bchw,bqhw->bqc", feature, m), f"mask_extractor.res{j + 2}")
        keys = _linear(t, feature.flatten(2), f"mask_extractor.g_res{j + 2}")  # (1, C, P)
        x = basic + _attention(t, basic, basic, basic, f"{block}.self_attn", heads)
        x = F.layer_norm(x, x.shape[-1:], t[f"{block}.norm1.weight"], t[f"{block}.norm1.bias"])
        x = x + _attention(t, x, keys, keys, f"{block}.cross_attn", heads)
        x = F.layer_norm(x, x.shape[-1:], t[f"{block}.norm2.weight"], t[f"{block}.norm2.bias"])
        x = x + _linear(t, F.relu(_linear(t, x, f"{block}.mlp.lin1")), f"{block}.mlp.lin2")
        basic_sum, global_sum = basic_sum + basic, global_sum + x
    fused = torch.cat(
        [
            _linear(t, global_sum, "mask_extractor.cross_feat_linear"),
            _linear(t, basic_sum, "mask_extractor.feat_linear"),
        ],
        -1,
    )
    return _linear(t, fused, "mask_extractor.final_mlp")[0]


def _authors_local_view(t, crops, heads):
    """The authors' global_vit + sa + mlp on normalised crops (q, 3, L, L)."""
    x = F.avg_pool2d(
        F.gelu(
            F.conv2d(crops, t["mask_extractor.global_vit.0.weight"], t["mask_extractor.global_vit.0.bias"])
        ),
        4,
    )
    x = F.avg_pool2d(
        F.gelu(F.conv2d(x, t["mask_extractor.global_vit.3.weight"], t["mask_extractor.global_vit.3.bias"])), 4
    )
    x = x.reshape(-1, 1, x.shape[-1] * x.shape[-2])
    x = _attention(t, x, x, x, "mask_extractor.sa", heads)[:, 0]
    x = F.relu(_linear(t, x, "mask_extractor.mlp.layers.0"))
    x = F.relu(_linear(t, x, "mask_extractor.mlp.layers.1"))
    return _linear(t, x, "mask_extractor.mlp.layers.2")


@torch.no_grad()
def test_loaded_views_compute_what_the_authors_code_computes(release, loaded):
    _, tensors, config = release
    model, _ = loaded
    torch.manual_seed(5)
    image = torch.rand(1, 3, 128, 128)
    masks = torch.zeros(1, 3, 128, 128)
    masks[0, 0, 10:60, 20:90], masks[0, 1, 70:120, 5:40], masks[0, 2, :, 64:] = 1, 1, 1
    features = model.encoder(image)
    ours = model.global_view(features, masks[0], RegionLayout([3], image.device))
    torch.testing.assert_close(
        ours, _authors_global_view(tensors, features, masks, config.mfe.heads), rtol=1e-4, atol=1e-5
    )
    crops = torch.rand(3, 3, 128, 128)
    torch.testing.assert_close(
        model.local_view(model.encoder.normalize(crops)),
        _authors_local_view(tensors, model.encoder.normalize(crops), config.mfe.heads),
        rtol=1e-4,
        atol=1e-5,
    )
    level = features[2].flatten(2).transpose(1, 2)
    projected = _linear(
        tensors, F.gelu(_linear(tensors, level, "model.mm_projector.0")), "model.mm_projector.2"
    )
    torch.testing.assert_close(model.projector(level), projected, rtol=1e-4, atol=1e-5)


def _broken_release(release, tmp_path, edit):
    paths, tensors, _ = release
    folder = tmp_path / "broken"
    folder.mkdir()
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        (folder / name).write_bytes((paths.weights / name).read_bytes())
    state = {PREFIX + name: value for name, value in tensors.items()}
    edit(state)
    torch.save(state, folder / NON_LORA)
    return ReleasePaths(folder, paths.base, paths.encoder_weights)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s.pop(PREFIX + "mask_extractor.g_res3.weight"),
            "'mask_extractor.g_res3.weight' is missing",
        ),
        (
            lambda s: s.__setitem__(PREFIX + "mask_extractor.extra.weight", torch.zeros(1)),
            "'mask_extractor.extra.weight' has no place",
        ),
        (
            lambda s: s.__setitem__(PREFIX + "mask_extractor.res4.weight", torch.zeros(64, 65)),
            r"'mask_extractor.res4.weight' has shape \(64, 65\)",
        ),
    ],
)
def test_missing_extra_or_misshapen_tensor_fails_with_its_name(release, tmp_path, edit, message):
    paths = _broken_release(release, tmp_path, edit)
    with pytest.raises(ReleaseError, match=message):
        load_release(paths, release[2], dtype=torch.float32)


def _edited_copy(source, target, edit):
    from safetensors.torch import load_file, save_file

    if source.suffix == ".safetensors":
        state = load_file(source)
        edit(state)
        save_file(state, target)
    else:
        state = torch.load(source)
        edit(state)
        torch.save(state, target)


LORA_Q = "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s.pop(LORA_Q),
            r"LoRA tensor for 'llm\.base_model\.model\.model\.layers\.1\.self_attn\.q_proj",
        ),
        (
            lambda s: s.__setitem__(
                "base_model.model.model.layers.0.self_attn.rotary.lora_A.weight", torch.zeros(1)
            ),
            "'base_model.model.model.layers.0.self_attn.rotary.lora_A.weight' has no place",
        ),
        (lambda s: s.__setitem__(LORA_Q, torch.zeros(4, 7)), rf"'{LORA_Q}' has shape \(4, 7\)"),
    ],
)
def test_broken_adapter_fails_with_the_tensor_name(release, tmp_path, edit, message):
    paths = release[0]
    folder = tmp_path / "adapter"
    folder.mkdir()
    for name in (NON_LORA, "adapter_config.json"):
        (folder / name).write_bytes((paths.weights / name).read_bytes())
    _edited_copy(paths.weights / "adapter_model.safetensors", folder / "adapter_model.safetensors", edit)
    with pytest.raises(ReleaseError, match=message):
        load_release(ReleasePaths(folder, paths.base, paths.encoder_weights), release[2], dtype=torch.float32)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s.pop("visual.trunk.stages.2.blocks.0.conv_dw.weight"),
            "'visual.trunk.stages.2.blocks.0.conv_dw.weight' of the convnext_atto trunk is missing",
        ),
        (
            lambda s: s.__setitem__("visual.trunk.stages.9.weight", torch.zeros(1)),
            "'visual.trunk.stages.9.weight' has no place",
        ),
        (
            lambda s: s.__setitem__("visual.trunk.stem.0.weight", torch.zeros(16, 3, 2, 2)),
            r"'visual.trunk.stem.0.weight' has shape \(16, 3, 2, 2\)",
        ),
        (
            lambda s: s.clear(),
            "'head.norm.bias' of the convnext_atto trunk is missing",
        ),  # not a ConvNeXt file
    ],
)
def test_broken_encoder_file_fails_with_the_tensor_name(release, tmp_path, edit, message):
    # timm's own pretrained loader only warns here and keeps random weights: the model would answer noise.
    paths = release[0]
    _edited_copy(paths.encoder_weights, tmp_path / "open_clip_pytorch_model.bin", edit)
    broken = ReleasePaths(paths.weights, paths.base, tmp_path / "open_clip_pytorch_model.bin")
    with pytest.raises(ReleaseError, match=message):
        load_release(broken, release[2], dtype=torch.float32)


def test_assess_answers_from_the_release_with_level_words(release, authors_tiny, samples, tmp_path):
    paths, _, _ = release
    image = (samples[0]["image"].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "image.png")
    args = ["assess", str(tmp_path / "image.png"), "--config", authors_tiny, "--box", "10", "8", "60", "48"]
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            *args,
            "--weights",
            str(paths.weights),
            "--base",
            str(paths.base),
            "--encoder-weights",
            str(paths.encoder_weights),
        ],
    )
    assert result.exit_code == 0, result.output
    quality = result.output[result.output.index("Quality: ") :].splitlines()[0]  # stderr shares the output
    assert quality.split()[1] in LEVEL_WORDS["quality"]
    assert all(word in quality for word in LEVEL_WORDS["quality"])  # the five words' probabilities
    (tmp_path / "release.yaml").write_text(
        f"weights: {paths.weights}\nbase: {paths.base}\nencoder_weights: {paths.encoder_weights}\nprompts: authors\n"
    )
    from_file = runner.invoke(main, [*args, "--release", str(tmp_path / "release.yaml"), "--json"])
    assert from_file.exit_code == 0, from_file.output
    missing = runner.invoke(main, [*args, "--weights", str(paths.weights)])
    assert missing.exit_code != 0 and "--base" in missing.output


def test_export_then_load_gives_identical_logits(samples, tmp_path, fast_config):
    from model.data import collate, sample_items
    from model.export import export_run
    from model.train import RunOptions, load_trained, train

    train(fast_config(), lambda epoch: samples, tmp_path / "run", RunOptions(max_steps=2, progress=False))
    written = export_run(tmp_path / "run", tmp_path / "release")
    assert {NON_LORA, "adapter_config.json", "config.json", "base/"} <= set(written)
    trained, tokenizer = load_trained(tmp_path / "run")
    exported, _ = load_release(ReleasePaths(tmp_path / "release"), dtype=torch.float32)
    items = list(sample_items(samples[0], trained.config, stage=2, seed=0, epoch=0))
    batch = collate(items, tokenizer, trained.image_tokens, trained.config.llm.max_length)
    with torch.no_grad():
        expected, got = trained(batch).logits, exported(batch).logits
    assert torch.equal(expected, got)
    saved = torch.load(tmp_path / "release" / NON_LORA)
    assert all(name.startswith(PREFIX) for name in saved)
    assert PREFIX + "model.embed_tokens.weight" in saved  # the tiny config trains embeddings in full


def test_evaluate_scores_shards_with_the_release(release, authors_tiny, shard_dir, tmp_path):
    paths, _, _ = release
    (tmp_path / "release.yaml").write_text(
        f"weights: {paths.weights}\nbase: {paths.base}\nencoder_weights: {paths.encoder_weights}\nconfig: {authors_tiny}\n"
    )
    args = ["evaluate", "--release", str(tmp_path / "release.yaml"), "--shards", str(shard_dir)]
    args += ["--out", str(tmp_path / "eval"), "--split", "all", "--limit", "2", "--baseline", "none"]
    result = CliRunner().invoke(main, [*args, "--dtype", "fp32", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    predictions = (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 2
    for line in predictions:
        assert json.loads(line)["prediction"]["quality_level"] in LEVEL_WORDS["quality"]


def test_demo_loads_the_release_and_asks_in_its_prompt_wording(release, authors_tiny, samples, monkeypatch):
    from model import scoring
    from model.prompts import prompt_style
    from seagull.demo.assessor import assess_roi, load_model

    paths, tensors, _ = release
    loaded = load_model(
        None,
        weights=str(paths.weights),
        base=str(paths.base),
        encoder_weights=str(paths.encoder_weights),
        config_name=authors_tiny,
        prompts="authors",
        dtype="fp32",
    )
    assert loaded.model.config.prompts == "authors"
    assert "release" in loaded.description and "'authors'" in loaded.description and loaded.meaningful
    state = loaded.model.state_dict()
    for authors, ours in TENSOR_TABLE.items():  # the release's tensors, not a fresh model's
        torch.testing.assert_close(state[ours], tensors[authors], rtol=0, atol=0, msg=authors)
    questions = []
    closed_set = scoring.closed_set_probabilities
    monkeypatch.setattr(
        scoring,
        "closed_set_probabilities",
        lambda model, tok, items, question, *rest: (
            questions.append(question) or closed_set(model, tok, items, question, *rest)
        ),
    )
    pixels = (samples[0]["image"].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    answers = assess_roi(loaded, pixels, samples[0]["masks"][0].numpy().astype(bool))
    assert answers["quality"]["word"] in LEVEL_WORDS["quality"]
    assert set(answers["quality"]["probabilities"]) == set(LEVEL_WORDS["quality"])
    authors = prompt_style("authors").questions
    assert questions and set(questions) <= set(authors.values())  # never the paper's wording
    assert authors["distortion"] in questions  # the distortion bar charts too


def test_demo_load_of_a_broken_release_names_the_tensor(release, authors_tiny, tmp_path):
    from seagull.demo.assessor import ModelSlot, load_model
    from seagull.demo.session import DemoError

    paths = _broken_release(release, tmp_path, lambda s: s.pop(PREFIX + "mask_extractor.sa.q_proj.bias"))
    slot = ModelSlot(
        lambda: load_model(
            None,
            weights=str(paths.weights),
            base=str(paths.base),
            encoder_weights=str(paths.encoder_weights),
            config_name=authors_tiny,
        )
    ).start()
    assert slot.wait(120)
    with pytest.raises(DemoError, match="'mask_extractor.sa.q_proj.bias' is missing"):
        slot.get()
