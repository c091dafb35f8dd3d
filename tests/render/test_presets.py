"""Presets as data: the packaged files load; a bad file names the file, the key and the allowed range."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from isp_presets import PRESETS_DIR
from pipeline.presets import PresetError, load_presets
from pipeline.render import RENDERERS
from pipeline.taxonomy import DISTORTION_TYPES, N_LEVELS_PER_TYPE


def test_packaged_presets(presets) -> None:
    assert list(presets.distortions) == list(DISTORTION_TYPES)
    for name, preset in presets.distortions.items():
        assert len(preset.levels) == N_LEVELS_PER_TYPE
        assert preset.module == RENDERERS[name][0]
        assert preset.ordering
    assert presets.reference.tone_curve == "smoothstep"
    assert presets.distortions["blur"].level(1)["radius"] < presets.distortions["blur"].level(20)["radius"]
    with pytest.raises(TypeError):
        presets.distortions["blur"].level(1)["radius"] = 3.0  # read-only


def test_two_way_types_keep_both_directions(presets) -> None:
    # Under- and over-exposure (lower and higher contrast) are both real; their order is measured.
    for name, key, neutral in (("exposure", "ev", 0.0), ("contrast", "contrast", 1.0)):
        values = [presets.distortions[name].level(k)[key] for k in range(1, 21)]
        assert min(values) < neutral < max(values), (name, values)
        assert len(set(values)) == 20 and neutral not in values, (name, values)


def test_stored_severity_rises_for_every_type_and_measure() -> None:
    # isp_presets/level_severity.yaml: the measurement behind the level order (bench/bench_levels.py).
    stored = yaml.safe_load((PRESETS_DIR / "level_severity.yaml").read_text())
    assert set(stored["levels"]) == set(DISTORTION_TYPES)
    for name, by_measure in stored["levels"].items():
        assert len(by_measure) >= 2, name  # SSIM and the label metric
        for measure, entry in by_measure.items():
            mean = entry["mean"]
            assert len(mean) == N_LEVELS_PER_TYPE and bool((np.diff(mean) > 0).all()), (
                name,
                measure,
            )
            assert entry["spearman_min"] >= 0.9, (name, measure)


def test_each_level_describes_its_parameter(presets) -> None:
    under = next(k for k in range(1, 21) if presets.distortions["exposure"].level(k)["ev"] < 0)
    assert presets.distortions["exposure"].describe(under) == {
        "module": "exposure",
        "name": "ev",
        "value": presets.distortions["exposure"].level(under)["ev"],
        "unit": "EV (stops of gain on linear RGB)",
        "direction": "under",
        "params": {"ev": presets.distortions["exposure"].level(under)["ev"]},
    }
    noise = presets.distortions["noise"].describe(20)
    assert noise["name"] == "shot" and noise["direction"] is None and set(noise["params"]) == {"shot", "read"}
    for name, preset in presets.distortions.items():
        for k in range(1, 21):
            described = preset.describe(k)
            assert described["value"] == preset.level(k)[described["name"]], (name, k)
            assert (described["direction"] is None) == (name not in ("exposure", "contrast")), (name, k)


def _copy_with(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "presets"
    folder.mkdir()
    shutil.copyfile(PRESETS_DIR / "reference.yaml", folder / "reference.yaml")
    data = yaml.safe_load((PRESETS_DIR / "distortions.yaml").read_text())
    edit(data)
    (folder / "distortions.yaml").write_text(yaml.safe_dump(data))
    return folder


def _set(path: tuple, value):
    def edit(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "key", "allowed"),
    [
        (_set(("blur", "levels", 3, "radius"), 99), "blur.levels[3].radius", "0.5 <= value <= 64"),
        (
            _set(("compression", "levels", 0, "quality"), 0),
            "compression.levels[0].quality",
            "1 <= value <= 100",
        ),
        (_set(("noise", "levels", 2, "gain"), 1.0), "noise.levels[2]", "keys read, shot"),
        (lambda d: d["contrast"]["levels"].pop(), "contrast.levels", "exactly 20 levels"),
        (_set(("sharpness",), {"module": "blur"}), "<top level>", "keys blur, colorfulness"),
        (_set(("exposure", "module"), "tone"), "exposure.module", "allowed: exposure"),
        (_set(("blur", "parameter", "name"), "sigma"), "blur.parameter.name", "keys radius"),
        (
            lambda d: d["contrast"]["parameter"].pop("below"),
            "contrast.parameter",
            "neutral, below and above together",
        ),
        (lambda d: d["noise"].pop("parameter"), "noise", "keys levels, module, ordering, parameter"),
    ],
    ids=[
        "out-of-range",
        "quality-zero",
        "unknown-key",
        "19-levels",
        "unknown-type",
        "wrong-module",
        "parameter-not-a-level-key",
        "direction-missing",
        "no-parameter",
    ],
)
def test_bad_preset_names_file_key_and_range(tmp_path: Path, edit, key: str, allowed: str) -> None:
    folder = _copy_with(tmp_path, edit)
    with pytest.raises(PresetError) as info:
        load_presets(folder)
    message = str(info.value)
    assert str(folder / "distortions.yaml") in message
    assert key in message
    assert allowed in message


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="reference.yaml: preset file not found"):
        load_presets(tmp_path)
    shutil.copyfile(PRESETS_DIR / "reference.yaml", tmp_path / "reference.yaml")
    (tmp_path / "distortions.yaml").write_text("exposure: [unclosed\n")
    with pytest.raises(PresetError, match="distortions.yaml: not valid YAML"):
        load_presets(tmp_path)


def test_bad_reference_setting(tmp_path: Path) -> None:
    shutil.copyfile(PRESETS_DIR / "distortions.yaml", tmp_path / "distortions.yaml")
    (tmp_path / "reference.yaml").write_text(
        (PRESETS_DIR / "reference.yaml").read_text().replace("demosaic: edge_aware", "demosaic: magic")
    )
    with pytest.raises(
        PresetError,
        match=r"(?s)reference.yaml.*demosaic: 'magic' is not one of .*allowed: edge_aware, bilinear",
    ):
        load_presets(tmp_path)
