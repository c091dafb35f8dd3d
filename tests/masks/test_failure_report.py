"""`seagull masks` writes a JSON failure report and sets its exit status like `seagull render`."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image

from pipeline.stage_runs.masks import REPORT_NAME
from seagull.commands.masks import command


def test_masks_report_lists_done_and_failed_images_with_a_fix(tmp_path, photos):
    refs = tmp_path / "refs"
    refs.mkdir()
    Image.fromarray(photos["coffee"][::4, ::4]).save(refs / "good.png")
    (refs / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "masks"
    result = CliRunner().invoke(command, [str(refs), str(out), "--max-rois", "4", "--no-overlay"])
    assert result.exit_code == 1, result.output
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["masked"] == [str(refs / "good.png")]
    [failed] = report["failed"]
    assert failed["path"] == str(refs / "broken.png") and "cannot read the image" in failed["reason"]
    assert failed["fix"] and report["provenance"]["segmenter"]["name"] == "felzenszwalb_rag"
    assert f"FAILED {refs / 'broken.png'}" in result.output and "masked 1 image(s), 1 failed" in result.output


def test_masks_report_says_ok_with_status_0_when_all_images_are_done(tmp_path, photos):
    Image.fromarray(photos["coffee"][::4, ::4]).save(tmp_path / "a.png")
    out = tmp_path / "out"
    result = CliRunner().invoke(command, [str(tmp_path), str(out), "--max-rois", "4", "--no-overlay"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["masked"] == [str(tmp_path / "a.png")] and report["failed"] == []


def test_masks_with_no_images_reports_it_and_exits_1(tmp_path):
    (tmp_path / "in").mkdir()
    result = CliRunner().invoke(command, [str(tmp_path / "in"), str(tmp_path / "out")])
    assert result.exit_code == 1
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text())
    assert report["failed"][0]["reason"] == "no images found" and ".png" in report["failed"][0]["fix"]
