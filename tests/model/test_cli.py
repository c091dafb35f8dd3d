"""`seagull train`, `evaluate` and `assess` end to end on real shards (tiny config, a few steps)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from seagull.cli import main


@pytest.fixture(scope="module")
def run_dir(shard_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--config",
            "tiny",
            "--stage",
            "1",
            "--shards",
            str(shard_dir / "*.tar"),
            "--out",
            str(out),
            "--max-steps",
            "2",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "8 labelled ROIs of the train split per epoch" in result.output  # astronaut, coffee
    assert "at most 4 ROIs of each image" in result.output  # tiny.yaml train.rois_per_image
    return out


def test_train_writes_run_folder(run_dir):
    assert {"checkpoint.pt", "trainable.pt", "log.jsonl", "run.json", "tokenizer"} <= {
        p.name for p in run_dir.iterdir()
    }
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    # 8 train ROIs, tiny batch 8: one step an epoch; tiny.yaml's 6 epochs are cut at --max-steps 2
    assert log[-1]["step"] == 2


def test_train_refuses_to_resume_a_run_of_other_settings(run_dir, shard_dir):
    before = {name: (run_dir / name).read_bytes() for name in ("run.json", "trainable.pt", "checkpoint.pt")}
    args = ["train", "--config", "tiny", "--shards", str(shard_dir / "*.tar"), "--out", str(run_dir)]
    result = CliRunner().invoke(main, [*args, "--max-steps", "3", "--device", "cpu"])
    assert result.exit_code == 1, result.output
    assert "options.max_steps: 2 -> 3" in result.output and "new --out folder" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # a message, no traceback
    assert {name: (run_dir / name).read_bytes() for name in before} == before
    rerun = CliRunner().invoke(main, [*args, "--max-steps", "2", "--device", "cpu"])  # the same run: done
    assert rerun.exit_code == 0, rerun.output


def _evaluate(run_dir, shard_dir, out, *extra):
    result = CliRunner().invoke(
        main,
        ["evaluate", "--run", str(run_dir), "--shards", str(shard_dir), "--out", str(out)]
        + ["--batch-size", "3", "--device", "cpu", *extra],
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "eval.json").read_text())


def test_evaluate_reads_the_held_out_images(run_dir, shard_dir, tmp_path):
    report = _evaluate(run_dir, shard_dir, tmp_path)
    assert report["n_rois"] == 4 and report["split"] == "test"  # chelsea: 2 variants x 2 ROIs
    assert set(report["quality"]) == {"srocc", "plcc"} and report["baseline"]["name"] == "piqe"
    table = (tmp_path / "eval.md").read_text()
    assert "| piqe (pyiqa NR) | Crop-based ROI |" in table and "| Average |" in table
    # Whether the model beats both reference rows is stated, with the same numbers as eval.json.
    floors = report["floors"]
    assert floors["quality_srocc"]["baseline"] == report["baseline"]["quality"]["srocc"]
    assert floors["type_f1"]["majority"] == report["majority"]["type"]["f1"]
    assert f"- Quality SROCC {report['quality']['srocc']:.4f} vs piqe on crops" in table
    assert f'vs always "{report["majority"]["answer"]}" {report["majority"]["type"]["f1"]:.2f} %' in table
    predictions = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert {p["key"].split("_")[0] for p in predictions} == {"chelsea"}
    # Ground truth and prediction stay apart: the truth is the label written into the shards.
    labels = {(p["key"], p["roi_id"]): p["truth"]["quality_level"] for p in predictions}
    assert labels == {
        ("chelsea_blur_15", 0): "excellent",
        ("chelsea_blur_15", 1): "bad",
        ("chelsea_noise_18", 0): "good",
        ("chelsea_noise_18", 1): "bad",
    }
    assert all({"quality_level", "quality_score", "distortions"} <= set(p["prediction"]) for p in predictions)


def test_evaluate_limit_draws_across_images_and_types(run_dir, shard_dir, tmp_path):
    report = _evaluate(run_dir, shard_dir, tmp_path, "--split", "all", "--limit", "6")
    assert report["n_rois"] == 6
    keys = [json.loads(line)["key"] for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    images = [key.split("_")[0] for key in keys]
    assert sorted(set(images)) == ["astronaut", "chelsea", "coffee"] and len(set(images)) == 3
    assert all(images.count(name) == 2 for name in set(images))  # 2 each, not the first 6 in order
    for name in set(images):  # within an image, one ROI of each type
        assert {k.split("_")[1] for k in keys if k.startswith(name)} == {"blur", "noise"}


def test_assess_with_mask_and_point(run_dir, samples, tmp_path):
    image = (samples[0]["image"].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "image.png")
    Image.fromarray(samples[0]["masks"][0].numpy().astype(np.uint8) * 255).save(tmp_path / "mask.png")
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["assess", str(tmp_path / "image.png"), "--run", str(run_dir), "--mask", str(tmp_path / "mask.png")],
    )
    assert result.exit_code == 0, result.output
    assert "Quality:" in result.output and "Importance:" in result.output and "Distortion:" in result.output
    result = runner.invoke(
        main,
        [
            "assess",
            str(tmp_path / "image.png"),
            "--run",
            str(run_dir),
            "--point",
            "30",
            "20",
            "--json",
            "--save-mask",
            str(tmp_path / "used.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert 1.0 <= json.loads(result.output)["quality_score"] <= 5.0
    assert np.asarray(Image.open(tmp_path / "used.png"))[20, 30] == 255
    bad = runner.invoke(main, ["assess", str(tmp_path / "image.png"), "--run", str(run_dir)])
    assert bad.exit_code != 0 and "exactly one of" in bad.output
