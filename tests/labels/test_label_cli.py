"""`seagull label` over a tiny render + masks output: records, parquet, provenance, plot, error policy."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.labels import DEFAULT_METRIC
from pipeline.masks import write_rois_json
from pipeline.masks.base import Provenance
from pipeline.release import release_path
from pipeline.render import write_png
from seagull.commands.label import command


def _release(tmp_path, photo, photo_rois, make_noisy):
    renders, masks = tmp_path / "renders", tmp_path / "masks"
    masks.mkdir()
    for ref_id in ("cat-1", "cat-2"):
        write_png(release_path(renders, ref_id), photo)
        for level in (1, 20):
            write_png(
                release_path(renders, ref_id, "noise", level), make_noisy(photo, 1.5 * level, seed=level)
            )
    weight_free = {"segmenter": Provenance("test", None, None).to_json(), "detector": None}
    write_rois_json(masks / "cat-1.json", "cat-1", photo.shape, photo_rois, weight_free)
    return renders, masks


def test_label_cli_writes_records_plot_and_reports_missing_masks(tmp_path, photo, photo_rois, make_noisy):
    renders, masks = _release(tmp_path, photo, photo_rois, make_noisy)
    out = tmp_path / "labels"
    result = CliRunner().invoke(command, [str(renders), str(masks), str(out)])
    assert result.exit_code == 1, result.output  # cat-2 has no ROI file
    assert "WEIGHT-FREE" in result.output and "cat-2.json is missing" in result.output
    records = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert len(records) == 2 * len(photo_rois) and {r["ref_id"] for r in records} == {"cat-1"}
    by_level = {level: [r["quality"] for r in records if r["level"] == level] for level in (1, 20)}
    assert max(by_level[20]) < min(by_level[1])
    assert len(pd.read_parquet(out / "labels.parquet")) == len(records)
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["metric"] == DEFAULT_METRIC and provenance["labels"] == len(records)
    assert (out / "quality_by_level.png").read_bytes()[:4] == b"\x89PNG"


def test_label_cli_topiq_without_weights_is_a_clear_error(tmp_path, photo, photo_rois, make_noisy):
    renders, masks = _release(tmp_path, photo, photo_rois, make_noisy)
    result = CliRunner().invoke(
        command, [str(renders), str(masks), str(tmp_path / "x"), "--metric", "topiq_fr"]
    )
    assert result.exit_code != 0 and "cfanet_fr_kadid_res50-2c4cc61d.pth" in result.output


def test_label_cli_calibrate_fits_on_half_and_reports_both(tmp_path, photo, photo_rois, make_noisy):
    renders, masks = _release(tmp_path, photo, photo_rois, make_noisy)
    weight_free = {"segmenter": Provenance("test", None, None).to_json(), "detector": None}
    write_rois_json(masks / "cat-2.json", "cat-2", photo.shape, photo_rois, weight_free)
    out = tmp_path / "calib"
    result = CliRunner().invoke(command, [str(renders), str(masks), str(out), "--calibrate"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "calibration.json").read_text())
    assert (report["fit_references"], report["check_references"]) == (["cat-1"], ["cat-2"])
    shares = report["word_shares_pct"]
    assert set(shares) == {"fit", "check", "check_own_fit"}
    for half in shares:
        for task in ("quality", "importance"):
            assert sum(shares[half][task].values()) == pytest.approx(100.0, abs=0.1)
    # The same photo in both halves: the same constant either way, and the same shares.
    assert report["fitted_metric"] == "gmsd_rgb" and report["worst"] == report["worst_fitted_on_check_half"]
    assert report["transfer_pp"] == 0.0 and report["between_halves_pp"] == 0.0 and report["transfers"]
    assert "fit:" in result.output and "check:" in result.output and "check own fit:" in result.output
