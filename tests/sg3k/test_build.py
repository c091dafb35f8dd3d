"""The build-3k flow on the demo set with SIMULATED annotators: tasks, ratings, aggregation, shards."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.shards.loader import roi_dataset
from pipeline.split import split_of
from seagull.cli import main
from tests.sg3k.conftest import N_IMAGES, run

pytestmark = pytest.mark.slow  # masks of 3 images + two Prefect flow runs: minutes on 2 busy cores


def test_tasks_are_two_or_three_rois_per_image_with_overlays(demo_tasks):
    _, build = demo_tasks
    tasks = [json.loads(line) for line in (build / "tasks.jsonl").read_text().splitlines()]
    per_image = pd.Series([t["image_id"] for t in tasks]).value_counts()
    assert len(per_image) == N_IMAGES and per_image.between(2, 3).all()
    assert {t["kind"] for t in tasks} <= {"object", "component"}
    assert all((build / t["overlay"]).exists() and t["split"] == split_of(t["image_id"]) for t in tasks)


def test_simulated_build_gives_shards_the_loader_reads(build_copy):
    images, build = build_copy
    run("3k", "simulate", "--build", str(build), "--annotators", "7")
    assert "dataset card:" in run("3k", "build", "--images", str(images), "--build", str(build))
    assert json.loads((build / "aggregation.json").read_text())["excluded"] == []
    shards = build / "shards"
    tasks = [json.loads(line) for line in (build / "tasks.jsonl").read_text().splitlines()]
    samples = list(roi_dataset(sorted(shards.glob("*.tar"))))
    assert len(samples) == N_IMAGES
    assert sum(len(s["rois"]) for s in samples) == len(tasks)
    for sample in samples:
        assert sample["dist_type"] == "authentic" and sample["masks"].shape[0] == len(sample["rois"])
        for roi in sample["rois"]:
            assert roi["metric"] == "simulated-annotators"
            assert roi["distortion"] == (roi["distortions"][0]["type"] if roi["distortions"] else "none")
            assert [i["kind"] for i in roi["instructions"]].count("AIR") == 3
    test_files = list(shards.glob("seagull3k-test-*.tar"))
    assert {s["ref_id"] for s in roi_dataset(test_files)} == {
        t["image_id"] for t in tasks if t["split"] == "test"
    }
    manifest = pd.read_parquet(shards / "manifest.parquet")
    assert set(manifest["split"]) == {"train", "test"} and manifest["distortions"].notna().all()
    card = (shards / "README.md").read_text()
    assert "SIMULATED" in card and "Krippendorff" in card and "| quality |" in card
    assert run("verify", str(shards)).count("ok") >= 2


def test_rois_under_the_minimum_are_reported_and_left_out(build_copy):
    images, build = build_copy
    n_tasks = len((build / "tasks.jsonl").read_text().splitlines())
    run("3k", "simulate", "--build", str(build), "--annotators", "6")
    output = run("3k", "progress", "--build", str(build))
    assert f"0 of {n_tasks} ROIs have >= 7 ratings" in output and "below the minimum" in output
    result = CliRunner().invoke(main, ["3k", "build", "--images", str(images), "--build", str(build)])
    assert result.exit_code == 1  # nothing to shard: said so, not silently aggregated
    summary = json.loads((build / "aggregation.json").read_text())
    assert summary["n_labelled"] == 0 and len(summary["excluded"]) == n_tasks
    assert {e["n_ratings"] for e in summary["excluded"]} == {6}
