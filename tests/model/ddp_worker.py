"""Run by test_distributed.py under torchrun: one rank trains the tiny model on its own samples.

Usage: python -m torch.distributed.run --nproc-per-node 2 tests/model/ddp_worker.py PAYLOAD.pt OUT
PAYLOAD holds {"config", "ranks": [samples of rank 0, of rank 1, ...], "items", "steps"}.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from model.train import RunOptions, train


def main(payload_path: str, out: str) -> None:
    dist.init_process_group("gloo")
    try:
        payload = torch.load(payload_path, weights_only=False)
        samples = payload["ranks"][dist.get_rank()]
        options = RunOptions(progress=False, max_steps=payload["steps"])
        train(payload["config"], lambda epoch: samples, Path(out), options, total_items=payload["items"])
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
