"""Calibration halves (issue 13 item 5): each reference is read once per pass (PNGs decoded once by
`seagull label --calibrate`), and every build's label-fidelity section compares the word shares of the
same two halves of its references."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from pipeline.labels import DEFAULT_METRIC, create_metric
from pipeline.labels.calibrate import distances, halves, report
from pipeline.labels.fidelity import TOLERANCE_PP, between_halves, fidelity_markdown, label_fidelity
from pipeline.masks import write_rois_json
from pipeline.masks.base import Provenance
from pipeline.records import Variant
from pipeline.release import release_path
from pipeline.render import write_png

REF_IDS = ("a", "b", "c", "d")


@pytest.fixture(scope="module")
def inputs(photo, photo_rois, make_noisy):
    """{ref_id: (reference, rois, variants)} of two references: the same photo, noisier in "b", so
    that the two halves fit different constants."""
    return {
        ref_id: (
            photo,
            photo_rois,
            [Variant("noise", level, make_noisy(photo, (1 + k) * level, seed=level)) for level in (1, 20)],
        )
        for k, ref_id in enumerate(REF_IDS[:2])
    }


def test_report_loads_each_reference_once_per_pass(inputs):
    metric = create_metric(DEFAULT_METRIC)
    loads = Counter()

    def load(ref_id):
        loads[ref_id] += 1
        return inputs[ref_id]

    fit_ids, check_ids = halves(list(inputs))
    result = report(load, fit_ids, check_ids, metric)
    assert result["worst"] != result["worst_fitted_on_check_half"]  # three labellings were needed
    assert loads == {"a": 2, "b": 2}  # distances, then every labelling at once
    loads.clear()
    measured = {ref_id: distances(*inputs[ref_id], metric) for ref_id in inputs}
    assert report(load, fit_ids, check_ids, metric, measured=measured) == result
    assert loads == {"a": 1, "b": 1}


def test_calibrate_cli_decodes_each_reference_once(tmp_path, photo, photo_rois, make_noisy, monkeypatch):
    from click.testing import CliRunner

    import pipeline.stage_runs.label as stage
    from seagull.commands.label import command

    renders, masks, out = tmp_path / "renders", tmp_path / "masks", tmp_path / "calib"
    masks.mkdir()
    weight_free = {"segmenter": Provenance("test", None, None).to_json(), "detector": None}
    for k, ref_id in enumerate(REF_IDS[:3]):
        write_png(release_path(renders, ref_id), photo)
        for level in (1, 20):
            noisy = make_noisy(photo, (1 + k) * level, seed=level)
            write_png(release_path(renders, ref_id, "noise", level), noisy)
        write_rois_json(masks / f"{ref_id}.json", ref_id, photo.shape, photo_rois, weight_free)
    reads = Counter()
    read_inputs = stage.read_inputs

    def counting(render_dir, masks_dir, ref_id):
        reads[ref_id] += 1
        return read_inputs(render_dir, masks_dir, ref_id)

    monkeypatch.setattr(stage, "read_inputs", counting)
    result = CliRunner().invoke(
        command,
        [*("--render-dir", str(renders), "--masks-dir", str(masks), "--out", str(out)), "--calibrate"],
    )
    assert result.exit_code == 0, result.output
    assert reads == {ref_id: 1 for ref_id in REF_IDS[:3]}
    assert sorted(p.name for p in out.iterdir()) == ["calibration.json", "label_report.json"]  # cache gone
    calibration = json.loads((out / "calibration.json").read_text())
    assert (calibration["fit_references"], calibration["check_references"]) == (["a", "c"], ["b"])
    # The same answer as labelling straight from the PNGs.
    direct = report(
        lambda ref_id: read_inputs(renders, masks, ref_id),
        ["a", "c"],
        ["b"],
        create_metric(DEFAULT_METRIC),
    )
    assert {k: calibration[k] for k in direct} == json.loads(json.dumps(direct))


def _records(ref_id: str, quality_levels: list[str]) -> list[dict]:
    """Hand-made labels: one per quality word given; importance and severity follow the same index."""
    words = {
        "quality": ["bad", "poor", "fair", "good", "excellent"],
        "importance": ["essential", "important", "normal", "minor", "unimportant"],
        "severity": ["extreme", "severe", "moderate", "minor", "trivial"],
    }
    rows = []
    for word in quality_levels:
        i = words["quality"].index(word)
        clean = word == "excellent"
        rows.append(
            {
                "ref_id": ref_id,
                "dist_type": "noise",
                "level": 1 + 4 * i,
                "quality": 0.1 + 0.2 * i,
                "quality_level": word,
                "importance": 0.9 - 0.2 * i,
                "importance_level": words["importance"][i],
                "distortion": "none" if clean else "noise",
                "severity": None if clean else 0.1 + 0.2 * i,
                "severity_level": None if clean else words["severity"][i],
            }
        )
    return rows


def test_between_halves_compares_the_calibration_halves_of_a_build():
    # Fit half (a, c): 4 bad, 4 excellent; check half (b, d): 3 bad, 5 excellent -> 12.5 points apart.
    frame = pd.DataFrame(
        _records("a", ["bad", "bad", "excellent", "excellent"])
        + _records("b", ["bad", "excellent", "excellent", "excellent"])
        + _records("c", ["bad", "bad", "excellent", "excellent"])
        + _records("d", ["bad", "bad", "excellent", "excellent"])
    )
    check = between_halves(frame)
    assert (check["fit_references"], check["check_references"]) == (["a", "c"], ["b", "d"])
    assert check["word_shares_pct"]["fit"]["quality"]["bad"] == 50.0
    assert check["word_shares_pct"]["check"]["quality"]["bad"] == 37.5
    # Severity counts the labels with a distortion only: all "extreme" in both halves.
    assert check["word_shares_pct"]["check"]["severity"]["extreme"] == 100.0
    assert check["largest_difference_pp"] == 12.5 and check["within_tolerance"] is False
    card = fidelity_markdown(label_fidelity(frame))
    assert "**12.5 points**, NOT within ±5 points" in card and "fit half (a, c)" in card

    many = pd.concat([frame, frame], ignore_index=True)
    many["ref_id"] += many.index.astype(str)  # 32 references of 1 label each: counted, not named
    assert "fit half (16 references)" in fidelity_markdown(label_fidelity(many))

    same = pd.DataFrame([row for ref_id in REF_IDS for row in _records(ref_id, ["bad", "fair", "excellent"])])
    assert between_halves(same)["largest_difference_pp"] == 0.0 < TOLERANCE_PP
    assert "within ±5 points" in fidelity_markdown(label_fidelity(same))


def test_between_halves_of_a_single_reference_says_it_is_not_measured():
    frame = pd.DataFrame(_records("a", ["bad", "excellent"]))
    assert between_halves(frame) == {"references": 1}
    assert "Between halves: not measured; this build has 1 reference(s)" in fidelity_markdown(
        label_fidelity(frame)
    )
