"""3k shards through the shared writer and loader, without the masks stage (hand-made ROIs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline.records import ROI
from pipeline.sg3k.aggregate import aggregate_roi
from pipeline.sg3k.shards import AuthenticGroup, write_split_shards
from pipeline.shards import finalize
from pipeline.shards.loader import roi_dataset
from pipeline.shards.verify import verify_manifest, verify_shards
from tests.sg3k.test_aggregate import answers


def _group(image_id: str, split: str) -> AuthenticGroup:
    rng = np.random.default_rng(len(image_id))
    image = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    rois = []
    for roi_id in range(2):
        mask = np.zeros((40, 56), bool)
        mask[5 + roi_id * 10 : 20 + roi_id * 10, 5:30] = True
        rois.append(ROI.from_mask(roi_id, "object", mask, 0.9, "boxes"))
    labels = {
        0: aggregate_roi(answers()),  # clean: severity null
        1: aggregate_roi(answers(blur=[1] * 7, noise=[3] * 7)),  # two distortions
    }
    return AuthenticGroup(image_id, image, rois, labels, split, {"annotators": "simulated"})


def test_authentic_samples_round_trip_through_writer_loader_manifest_and_verify(tmp_path):
    groups = [_group("img-a", "train"), _group("img-bb", "test"), _group("img-c", "train")]
    stats = write_split_shards(tmp_path, groups)
    assert [s.shard for s in stats] == ["seagull3k-train-000000.tar", "seagull3k-test-000016.tar"]
    finalize(tmp_path, title="SEAGULL-3k")
    samples = {s["key"]: s for s in roi_dataset(tmp_path)}
    assert sorted(samples) == ["img-a_authentic_00", "img-bb_authentic_00", "img-c_authentic_00"]
    clean, multi = samples["img-a_authentic_00"]["rois"]
    assert (clean["distortion"], clean["severity_level"], clean["distortions"]) == ("none", None, [])
    assert clean["instructions"][2]["answer"] == "This region is without distortion."
    assert [e["type"] for e in multi["distortions"]] == ["blur", "noise"] and multi["distortion"] == "blur"
    # Every distortion the ROI carries is answered, most severe first (pipeline/instructions.py).
    listed = " and ".join(f"{e['severity_level']} {e['type']} distortion" for e in multi["distortions"])
    assert multi["distortions"][0]["severity_level"] == "severe"
    assert multi["instructions"][2]["answer"] == f"This region has {listed}."
    raw = next(iter(roi_dataset(tmp_path / "seagull3k-test-000016.tar", decode=False)))
    assert json.loads(raw["json"])["split"] == "test"
    manifest = pd.read_parquet(tmp_path / "manifest.parquet")
    assert manifest.groupby("split").size().to_dict() == {"test": 2, "train": 4}
    assert (
        json.loads(manifest.set_index(["ref_id", "roi_id"]).loc[("img-a", 1), "distortions"])[1]["type"]
        == "noise"
    )
    assert {c.status for c in verify_shards(tmp_path)} == {"ok"} and verify_manifest(tmp_path) == []


def test_no_jir_denies_a_distortion_the_roi_carries():
    import random

    from pipeline.instructions import make_instructions

    label = aggregate_roi(answers(blur=[1] * 7, contrast=[3] * 7))  # blur (worst) and contrast
    fixed = make_instructions(label, mode="stage2")
    (denied,) = [i["question"] for i in fixed if i["task"] == "distortion" and i["answer"] == "No"]
    # the next type after blur in taxonomy order is contrast, which the ROI carries: skipped
    assert denied.endswith("Is this region in colorfulness distortion?")
    for seed in range(50):
        for item in make_instructions(label, mode="stage1", rng=random.Random(seed)):
            if item["kind"] == "JIR" and item["answer"] == "No" and item["task"] == "distortion":
                assert "contrast" not in item["question"] and "blur" not in item["question"]
