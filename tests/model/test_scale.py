"""Scale options: DDP on 2 CPU processes equals one process with the same global batch; frozen
weights in bf16 with fp32 master weights; gradient checkpointing changes nothing but memory."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model.train import RunOptions, build_for_precision, prepare_model, read_log, train

WORKER = Path(__file__).with_name("ddp_worker.py")


def _unshuffled(config):
    return dataclasses.replace(
        config, train=dataclasses.replace(config.train, sample_buffer=0, item_buffer=0)
    )


def _grouped(config, rois_per_conversation):
    return dataclasses.replace(
        config, train=dataclasses.replace(config.train, rois_per_conversation=rois_per_conversation)
    )


@pytest.mark.slow
@pytest.mark.parametrize(("rois_per_conversation", "batch"), [(1, 2), (2, 1)])  # 2 ROIs a micro-batch
def test_ddp_on_two_processes_equals_one_process_with_the_same_global_batch(
    samples, tmp_path, fast_config, rois_per_conversation, batch
):
    """2 ranks x batch b == 1 process x batch b x 2 accumulated micro-batches, on the same items.

    Rank r reads samples[r::2] (its own shards); one process reads them interleaved, so its k-th
    step's two micro-batches are the two ranks' k-th batches (each sample has 2 ROIs: two one-ROI
    conversations, or one conversation about both).
    """
    ddp_config = _grouped(_unshuffled(fast_config(batch_size=batch, grad_accum=1)), rois_per_conversation)
    payload = {
        "config": ddp_config,
        "ranks": [samples[0::2], samples[1::2]],
        "items": 6 // rois_per_conversation,
        "steps": 3,
    }
    torch.save(payload, tmp_path / "payload.pt")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    subprocess.run(
        [*command, str(WORKER), str(tmp_path / "payload.pt"), str(tmp_path / "ddp")],
        check=True,
        env=env,
        timeout=900,
    )
    single_config = _grouped(_unshuffled(fast_config(batch_size=batch, grad_accum=2)), rois_per_conversation)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers (OMP_NUM_THREADS=1): the same reduction order in matmuls
    try:
        train(
            single_config, lambda epoch: samples, tmp_path / "single", RunOptions(progress=False, max_steps=3)
        )
    finally:
        torch.set_num_threads(threads)
    logs = [read_log(tmp_path / run) for run in ("ddp", "single")]
    assert [r["step"] for r in logs[0]] == [1, 2, 3]
    assert [r["loss"] for r in logs[0]] == pytest.approx([r["loss"] for r in logs[1]], rel=1e-4)
    weights = [torch.load(tmp_path / run / "trainable.pt") for run in ("ddp", "single")]
    assert weights[0].keys() == weights[1].keys()
    for name, value in weights[1].items():
        torch.testing.assert_close(weights[0][name], value, rtol=1e-4, atol=1e-5, msg=name)


def test_bf16_keeps_frozen_llm_in_bf16_and_trainable_weights_in_fp32(fast_config):
    torch.manual_seed(0)
    model, _ = build_for_precision(fast_config(), "bf16")
    frozen = {p.dtype for n, p in model.llm.named_parameters() if not p.requires_grad and "base_layer" in n}
    trainable = {p.dtype for p in model.parameters() if p.requires_grad}
    assert frozen == {torch.bfloat16} and trainable == {torch.float32}


def test_gradient_checkpointing_gives_the_same_training(samples, tmp_path, fast_config):
    config = fast_config()
    checkpointed = dataclasses.replace(
        config, train=dataclasses.replace(config.train, gradient_checkpointing=True)
    )
    assert prepare_model(checkpointed, RunOptions())[0].llm.is_activation_checkpointing
    assert not prepare_model(config, RunOptions())[0].llm.is_activation_checkpointing
    runs = {}
    for name, cfg in (("plain", config), ("checkpointed", checkpointed)):
        runs[name] = train(
            cfg, lambda epoch: samples, tmp_path / name, RunOptions(progress=False, max_steps=2)
        )
    assert [r["loss"] for r in runs["checkpointed"]] == pytest.approx(
        [r["loss"] for r in runs["plain"]], rel=1e-5
    )
