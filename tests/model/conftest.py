"""Fixtures of the model tests: labelled samples in the loader's contract, and real shards."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage import data as skdata

from model.config import ModelConfig, create_config
from pipeline.levels import level_word
from pipeline.records import ROI
from pipeline.taxonomy import CLEAN

PHOTOS = ("astronaut", "chelsea", "coffee")
HEIGHT, WIDTH = 96, 128


def _photo(name: str) -> np.ndarray:
    return cv2.resize(getattr(skdata, name)()[..., :3], (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def _masks() -> np.ndarray:
    """Two ROIs: a box at the top left, an ellipse at the bottom right; bool (2, H, W)."""
    masks = np.zeros((2, HEIGHT, WIDTH), bool)
    masks[0, 8:48, 10:60] = True
    cv2.ellipse(masks[1].view(np.uint8), (90, 65), (25, 18), 0, 0, 360, 1, -1)
    return masks


def _label(dist_type: str, level: int, roi_id: int, quality: float, importance: float) -> dict:
    distortion = CLEAN if quality > 0.92 else dist_type
    severity = 1.0 - level / 21
    return {
        "dist_type": dist_type,
        "level": level,
        "roi_id": roi_id,
        "quality": quality,
        "quality_level": level_word("quality", quality),
        "importance": importance,
        "importance_level": level_word("importance", importance),
        "distortion": distortion,
        "severity": severity,
        "severity_level": level_word("severity", severity),
        "metric": "test",
    }


def _variants(photo: np.ndarray) -> list[tuple[str, int, np.ndarray]]:
    blurred = cv2.GaussianBlur(photo, (0, 0), 3)
    noise = np.random.default_rng(0).normal(0, 40, photo.shape)
    noisy = np.clip(photo + noise, 0, 255).astype(np.uint8)
    return [("blur", 15, blurred), ("noise", 18, noisy)]


def make_groups():
    """(ref_id, reference, [(type, level, image)], masks, labels) for each photo.

    Labels differ by ROI so that a model has something to learn: ROI 0 is good and important,
    ROI 1 bad and unimportant (and ROI 0 of the blurred variant is clean).
    """
    groups = []
    for name in PHOTOS:
        photo, masks = _photo(name), _masks()
        variants = _variants(photo)
        labels = []
        for dist_type, level, _ in variants:
            labels.append(_label(dist_type, level, 0, 0.95 if dist_type == "blur" else 0.7, 0.9))
            labels.append(_label(dist_type, level, 1, 0.1, 0.1))
        groups.append((name, photo, variants, masks, labels))
    return groups


def to_samples(groups) -> list[dict]:
    """Decoded samples as pipeline.shards.loader yields them."""
    samples = []
    for ref_id, _, variants, masks, labels in groups:
        for dist_type, level, image in variants:
            rois = [
                {"roi_id": i, **{k: v for k, v in lab.items() if k not in ("dist_type", "level", "roi_id")}}
                for i, lab in enumerate(x for x in labels if x["dist_type"] == dist_type)
            ]
            samples.append(
                {
                    "key": f"{ref_id}_{dist_type}_{level:02d}",
                    "ref_id": ref_id,
                    "dist_type": dist_type,
                    "level": level,
                    "image": torch.from_numpy(image).permute(2, 0, 1).float() / 255,
                    "masks": torch.from_numpy(masks),
                    "rois": rois,
                }
            )
    return samples


@pytest.fixture(scope="session")
def samples() -> list[dict]:
    """6 labelled samples (3 photos x blur/noise), 2 ROIs each: 12 training items."""
    return to_samples(make_groups())


@pytest.fixture(scope="session")
def shard_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real shards of the same samples, written by pipeline.shards.writer."""
    from pipeline.records import Variant
    from pipeline.shards.format import RefGroup
    from pipeline.shards.writer import ShardConfig, write_chunk

    out = tmp_path_factory.mktemp("shards")
    groups = []
    for ref_id, photo, variants, masks, labels in make_groups():
        rois = [ROI.from_mask(i, "object", m, 0.9, "test") for i, m in enumerate(masks)]
        groups.append(
            RefGroup(ref_id, photo, [Variant(t, lv, im) for t, lv, im in variants], rois, labels, {"seed": 0})
        )
    write_chunk(out, 0, groups, ShardConfig())
    return out


@pytest.fixture(scope="session")
def fast_config():
    """A factory: fast_config(**stage_overrides) -> the tiny ModelConfig for short test runs."""
    return _fast_config


def _fast_config(**stage_overrides) -> ModelConfig:
    """The tiny config with a log line per step and a short warm-up (test runs are a few steps)."""
    config = create_config("tiny")
    stage = dataclasses.replace(
        config.train.stage1, **{"batch_size": 4, "warmup_steps": 2, **stage_overrides}
    )
    return dataclasses.replace(
        config, train=dataclasses.replace(config.train, stage1=stage, log_every=1, checkpoint_every=2)
    )
