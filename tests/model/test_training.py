"""The tiny model learns, and a killed-and-resumed run follows the uninterrupted loss curve."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest
import torch

from model.data import sample_items
from model.run_settings import SettingsChanged
from model.scoring import assess_items, level_probabilities
from model.train import CHECKPOINT, LOG, RunOptions, load_trained, read_log, train


@pytest.fixture(scope="module")
def overfit_run(samples, tmp_path_factory, fast_config):
    out = tmp_path_factory.mktemp("overfit")
    config = fast_config(epochs=100, batch_size=6)
    records = train(config, lambda epoch: samples, out, RunOptions(max_steps=40, progress=False))
    return out, records


def test_tiny_model_overfits(overfit_run):
    _, records = overfit_run
    first, last = records[0]["loss"], min(r["loss"] for r in records[-5:])
    assert len(records) == 40
    assert last <= 0.5 * first, f"loss {first:.3f} -> {last:.3f}"


def test_trained_scores_follow_labels(overfit_run, samples):
    """After overfitting, the good ROI (0) scores higher quality and importance than the bad one (1)."""
    out, _ = overfit_run
    model, tokenizer = load_trained(out)
    items = list(
        sample_items(samples[1], model.config, stage=2, seed=0, epoch=0)
    )  # noise variant: 0 fair/good, 1 bad
    for task in ("quality", "importance"):
        probabilities = level_probabilities(model, tokenizer, items, task)
        assert torch.allclose(probabilities.sum(-1), torch.ones(len(items)), atol=1e-5)
    results = assess_items(model, tokenizer, items)
    assert results[0]["quality_score"] > results[1]["quality_score"]
    assert results[0]["importance_score"] > results[1]["importance_score"]


def test_assessing_runs_the_encoder_once_for_its_three_questions(overfit_run, samples):
    """assess_items asks three questions of the same ROIs: the visual tokens are computed once, and the
    answers are those of asking each question on its own."""
    out, _ = overfit_run
    model, tokenizer = load_trained(out)
    items = list(sample_items(samples[1], model.config, stage=2, seed=0, epoch=0))
    calls = []
    hook = model.encoder.register_forward_hook(lambda *_: calls.append(1))
    try:
        results = assess_items(model, tokenizer, items)
    finally:
        hook.remove()
    assert len(calls) == 1
    for task in ("quality", "importance"):
        alone = level_probabilities(model, tokenizer, items, task)
        cached = torch.tensor([list(r[f"{task}_probabilities"].values()) for r in results])
        assert torch.allclose(cached, alone, atol=1e-6)


@pytest.mark.parametrize(
    ("rois_per_conversation", "rois_per_image", "batch_size", "position"),
    # 12 ROIs, 4 per step (the position counts conversations), or 1 of each image's 2 ROIs, 2 per
    # step: 3 steps an epoch, 9 in all
    [(1, None, 4, 4), (2, None, 2, 2), (1, 1, 2, 2)],
)
def test_killed_run_resumes_on_the_same_loss_curve(
    samples, tmp_path, fast_config, rois_per_conversation, rois_per_image, batch_size, position
):
    config = fast_config(epochs=3, batch_size=batch_size)
    config = dataclasses.replace(
        config,
        train=dataclasses.replace(
            config.train, rois_per_conversation=rois_per_conversation, rois_per_image=rois_per_image
        ),
    )
    assert config.train.sample_buffer > 1 and config.train.item_buffer > 1  # shuffling on
    whole = train(config, lambda epoch: samples, tmp_path / "whole", RunOptions(progress=False))
    # Killed right after logging step 5: the last checkpoint is step 4, so step 5 is redone after the restart.
    killed = _killed_after(
        5, lambda: train(config, lambda epoch: samples, tmp_path / "killed", RunOptions(progress=False))
    )
    assert [r["step"] for r in killed] == [1, 2, 3, 4, 5]
    checkpoint = torch.load(tmp_path / "killed" / CHECKPOINT, weights_only=False)
    assert checkpoint["state"] == {"step": 4, "epoch": 1, "position": position}
    for option, value in (("rois_per_conversation", 3 - rois_per_conversation), ("rois_per_image", 2)):
        other = dataclasses.replace(config, train=dataclasses.replace(config.train, **{option: value}))
        with pytest.raises(ValueError, match=option):  # the position would mean other items
            train(other, lambda epoch: samples, tmp_path / "killed", RunOptions(progress=False))
    # Any setting that changes what is computed refuses the resume, naming it; run.json is untouched.
    run_json = (tmp_path / "killed" / "run.json").read_bytes()
    decayed = dataclasses.replace(config, train=dataclasses.replace(config.train, weight_decay=0.5))
    with pytest.raises(SettingsChanged, match=r"config\.train\.weight_decay: 0\.1 -> 0\.5.*new --out"):
        train(decayed, lambda epoch: samples, tmp_path / "killed", RunOptions(progress=False))
    with pytest.raises(SettingsChanged, match=r"options\.seed: 0 -> 1"):
        train(config, lambda epoch: samples, tmp_path / "killed", RunOptions(seed=1, progress=False))
    assert (tmp_path / "killed" / "run.json").read_bytes() == run_json
    # A checkpoint written before settings were recorded is compared with run.json instead.
    older = torch.load(tmp_path / "killed" / CHECKPOINT, weights_only=False)
    del older["settings"]
    torch.save(older, tmp_path / "killed" / CHECKPOINT)
    with pytest.raises(SettingsChanged, match=r"config\.train\.weight_decay: 0\.1 -> 0\.5"):
        train(decayed, lambda epoch: samples, tmp_path / "killed", RunOptions(progress=False))
    # How often a run checkpoints is free to change: the resumed run still matches the whole one.
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, checkpoint_every=3))
    resumed = train(config, lambda epoch: samples, tmp_path / "killed", RunOptions(progress=False))
    assert [r["step"] for r in resumed] == [5, 6, 7, 8, 9]
    logged = read_log(tmp_path / "killed")
    assert [r["step"] for r in logged] == list(range(1, 10))  # the killed run's step 5 line was replaced
    assert [r["loss"] for r in logged] == pytest.approx([r["loss"] for r in whole], rel=1e-5)
    assert [r["lr"] for r in logged] == pytest.approx([r["lr"] for r in whole])
    weights = [torch.load(tmp_path / run / "trainable.pt") for run in ("whole", "killed")]
    for name, value in weights[0].items():
        torch.testing.assert_close(weights[1][name], value, rtol=1e-4, atol=1e-6)


def test_gradient_accumulation_and_bf16_run(samples, tmp_path, fast_config):
    config = fast_config(batch_size=2, grad_accum=2)
    records = train(
        config, lambda epoch: samples, tmp_path, RunOptions(progress=False, max_steps=2, precision="bf16")
    )
    assert [r["step"] for r in records] == [1, 2]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in records)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["total_steps"] == 2 and run["options"]["precision"] == "bf16"
    assert (tmp_path / LOG).exists()


class SimulatedKill(Exception):
    """Raised in place of a SIGKILL: nothing after it runs (no checkpoint, no weights)."""


def _killed_after(step: int, run: Callable[[], object]) -> list[dict]:
    """Run `run()` with the process "killed" right after step `step` is logged; returns the logged records."""
    import model.train as training

    logged, log = [], training._log

    def log_then_die(out, state, *args):
        logged.append(log(out, state, *args))
        if state.step >= step:
            raise SimulatedKill(state.step)
        return logged[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "_log", log_then_die)
        with pytest.raises(SimulatedKill):
            run()
    return logged
