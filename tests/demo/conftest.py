"""Fixtures of the demo tests: a tiny random run (one training step) and the page served locally."""

from __future__ import annotations

import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage import data as skdata

HEIGHT, WIDTH = 96, 128


def photo(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """uint8 RGB (height, width, 3): scikit-image's astronaut, downscaled."""
    return cv2.resize(skdata.astronaut(), (width, height), interpolation=cv2.INTER_AREA)


def _samples() -> list[dict]:
    """Two labelled samples in the loader's contract (one ROI each): enough for one training step."""
    image = torch.from_numpy(photo()).permute(2, 0, 1).float() / 255
    mask = torch.zeros(HEIGHT, WIDTH, dtype=torch.bool)
    mask[10:60, 20:80] = True
    roi = {
        "roi_id": 0,
        "quality": 0.7,
        "quality_level": "good",
        "importance": 0.9,
        "importance_level": "essential",
        "distortion": "blur",
        "severity": 0.4,
        "severity_level": "severe",
        "distortions": [{"type": "blur", "severity": 0.4, "severity_level": "severe"}],
        "metric": "test",
    }
    return [
        {"key": f"astronaut_blur_{level:02d}", "ref_id": "astronaut", "dist_type": "blur", "level": level,
         "image": image, "masks": mask[None], "rois": [roi]}
        for level in (5, 15)
    ]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of the tiny config after one step: random weights, the run.json layout of `make train`."""
    import dataclasses

    from model.config import create_config
    from model.train import RunOptions, train

    config = create_config("tiny")
    stage = dataclasses.replace(config.train.stage1, batch_size=2, warmup_steps=1)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, stage1=stage))
    out = tmp_path_factory.mktemp("tiny-run")
    samples = _samples()
    train(config, lambda epoch: samples, out, RunOptions(max_steps=1, progress=False))
    return out


@pytest.fixture(scope="session")
def example_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example image the page offers: the astronaut at 384 x 288."""
    path = tmp_path_factory.mktemp("examples") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo(384, 288), cv2.COLOR_RGB2BGR))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def served(tiny_run: Path, example_png: Path):
    """The demo page on 127.0.0.1 (tiny run, weight-free segmenter, one example): its URL."""
    from seagull.demo import app as demo_app
    from seagull.demo.assessor import ModelSlot, load_model
    from seagull.demo.session import create_shared_segmenter

    slot = ModelSlot(lambda: load_model(tiny_run)).start()
    assert slot.wait(300), "the tiny model did not load"
    blocks = demo_app.build_app(
        slot, create_shared_segmenter("felzenszwalb_rag"), demo_app.DemoConfig(examples=(example_png,))
    )
    _, url, _ = demo_app.launch(blocks, "127.0.0.1", free_port(), [str(example_png.parent)], block=False)
    yield url
    blocks.close()
