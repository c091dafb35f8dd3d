"""`seagull label` writes a JSON failure report and sets its exit status like `seagull render`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.labels import DEFAULT_METRIC
from pipeline.masks import write_rois_json
from pipeline.masks.base import Provenance
from pipeline.release import release_path
from pipeline.render import write_png
from pipeline.stage_runs.label import REPORT_NAME
from seagull.commands.label import command


def _release(tmp_path, photo, photo_rois, make_noisy, with_rois=("cat-1",)):
    renders, masks = tmp_path / "renders", tmp_path / "masks"
    masks.mkdir()
    for ref_id in ("cat-1", "cat-2"):
        write_png(release_path(renders, ref_id), photo)
        write_png(release_path(renders, ref_id, "noise", 10), make_noisy(photo, 15.0, seed=10))
    weight_free = {"segmenter": Provenance("test", None, None).to_json(), "detector": None}
    for ref_id in with_rois:
        write_rois_json(masks / f"{ref_id}.json", ref_id, photo.shape, photo_rois, weight_free)
    return renders, masks


def test_label_report_names_the_missing_roi_file_and_the_fix(tmp_path, photo, photo_rois, make_noisy):
    renders, masks = _release(tmp_path, photo, photo_rois, make_noisy)
    out = tmp_path / "labels"
    result = CliRunner().invoke(command, [str(renders), str(masks), str(out)])
    assert result.exit_code == 1, result.output
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["labelled"] == ["cat-1"] and report["metric"] == DEFAULT_METRIC
    [failed] = report["failed"]
    assert failed["path"] == str(renders / "Ref.Images" / "cat-2.png")
    assert "cat-2.json is missing" in failed["reason"] and "seagull masks" in failed["fix"]
    assert "labelled 1 reference(s), 1 failed" in result.output


def test_label_report_of_a_complete_run_exits_0(tmp_path, photo, photo_rois, make_noisy):
    renders, masks = _release(tmp_path, photo, photo_rois, make_noisy, with_rois=("cat-1", "cat-2"))
    out = tmp_path / "labels"
    result = CliRunner().invoke(command, [str(renders), str(masks), str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["labelled"] == ["cat-1", "cat-2"] and report["failed"] == []


def test_calibrate_writes_the_same_report(tmp_path, photo, photo_rois, make_noisy):
    renders, masks = _release(tmp_path, photo, photo_rois, make_noisy)
    out = tmp_path / "cal"
    result = CliRunner().invoke(command, [str(renders), str(masks), str(out), "--calibrate"])
    assert result.exit_code == 1, result.output
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["calibrate"] is True and report["labelled"] == ["cat-1"] and len(report["failed"]) == 1


def test_label_with_no_references_reports_it_and_exits_1(tmp_path):
    (tmp_path / "renders").mkdir()
    (tmp_path / "masks").mkdir()
    out = tmp_path / "labels"
    result = CliRunner().invoke(command, [str(tmp_path / "renders"), str(tmp_path / "masks"), str(out)])
    assert result.exit_code == 1
    assert json.loads((out / REPORT_NAME).read_text())["failed"][0]["reason"] == "no references found"
