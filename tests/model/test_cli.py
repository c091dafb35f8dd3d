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
    assert "12 labelled ROIs per epoch" in result.output
    return out


def test_train_writes_run_folder(run_dir):
    assert {"checkpoint.pt", "trainable.pt", "log.jsonl", "run.json", "tokenizer"} <= {
        p.name for p in run_dir.iterdir()
    }
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 2


def test_evaluate_writes_json_and_markdown(run_dir, shard_dir, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--run",
            str(run_dir),
            "--shards",
            str(shard_dir),
            "--out",
            str(tmp_path),
            "--limit",
            "6",
            "--batch-size",
            "3",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["n_rois"] == 6
    assert set(report["quality"]) == {"srocc", "plcc"} and report["baseline"]["name"] == "piqe"
    assert "| piqe (crop, NR) |" in (tmp_path / "eval.md").read_text()
    assert len((tmp_path / "predictions.jsonl").read_text().splitlines()) == 6


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
