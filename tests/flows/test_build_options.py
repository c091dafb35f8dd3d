"""`seagull build` checks every option before Prefect starts: bad values are usage errors (exit 2)
with the allowed choices, never a traceback or a failure inside a task."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from seagull.cli import main


@pytest.fixture()
def no_prefect(monkeypatch):
    """Any attempt to run the flow fails the test: the options must be refused before it."""
    import flows.build_100w

    def reached(*args, **kwargs):
        raise AssertionError("the build reached Prefect with a bad option")

    monkeypatch.setattr(flows.build_100w, "with_task_runner", reached)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--size", "abc"], "give the long side in pixels (>= 64) or 'full'"),
        (["--size", "0"], ">= 64"),
        (["--chunk-size", "0"], "0 is not in the range x>=1"),
        (["--levels", "0,21"], "outside 1..20"),
        (["--levels", "x"], "not a comma-separated list of int"),
        (["--types", "fog"], "choose from ['exposure'"),
        (["--device", "gpu9"], "use cpu, cuda, cuda:N or mps"),
        (["--metric", "nosuch"], "choose one of: delta_e, fsim, fsim_c, gmsd, gmsd_rgb"),
        (["--segmenter", "nosuch"], "choose one of: felzenszwalb_rag"),
        (["--detector", "nosuch"], "region_proposals"),
        (["--workers", "0"], "0 is not in the range x>=1"),
        (["--dask-address", "tcp://127.0.0.1:8786"], "export PREFECT_API_URL=http://SERVER_HOST:4200/api"),
    ],
)
def test_bad_option_is_a_usage_error_with_the_choices(no_prefect, tmp_path, args, expected):
    result = CliRunner().invoke(main, ["build", "--sample", "1", "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2, (result.output, result.exception)
    assert expected in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_sample_beyond_the_embedded_photos_is_a_usage_error(no_prefect, tmp_path):
    result = CliRunner().invoke(main, ["build", "--sample", "15", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "1<=x<=14" in result.output


def test_render_refuses_sizes_that_give_black_images(tmp_path):
    result = CliRunner().invoke(main, ["render", str(tmp_path), str(tmp_path / "out"), "--size", "16"])
    assert result.exit_code == 2 and ">= 64" in result.output


def test_preset_schema_refuses_a_blur_radius_the_kernel_cannot_hold(tmp_path):
    import shutil

    from isp_presets import PRESETS_DIR
    from pipeline.presets import PresetError, load_presets

    folder = shutil.copytree(PRESETS_DIR, tmp_path / "presets")
    text = (folder / "distortions.yaml").read_text().replace("{radius: 1.5}", "{radius: 0.05}", 1)
    (folder / "distortions.yaml").write_text(text)
    with pytest.raises(PresetError, match=r"blur.levels\[0\].radius: 0.05 is less than the minimum of 0.5"):
        load_presets(folder)


def test_unknown_model_config_is_a_usage_error_with_the_names(tmp_path):
    result = CliRunner().invoke(
        main, ["train", "--config", "nosuch", "--shards", str(tmp_path), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 2, (result.output, result.exception)
    assert "unknown config 'nosuch'; choose one of:" in result.output and "tiny" in result.output


def test_registry_names_are_listed_without_importing_torch_or_pyiqa(tmp_path):
    """The name check of `--segmenter/--detector/--metric` must not pay for torch, torchvision, pyiqa
    or segment_anything (about 10 s of imports on the 2-core sandbox): the registries' names and the
    check `seagull build` runs load without them; the heavy packages are imported when a model is built."""
    import subprocess
    import sys

    heavy = ("torch", "torchvision", "pyiqa", "segment_anything")
    out = tmp_path / "out"
    code = (
        "import sys\n"
        "import pipeline.labels, pipeline.masks\n"
        "from pipeline.labels import list_metrics\n"
        "from pipeline.masks import list_detectors, list_segmenters\n"
        "assert list_metrics() and list_detectors() and list_segmenters()\n"
        "from pipeline.build_config import BuildConfig, unknown_registry_names\n"
        "config = BuildConfig.from_json({'source': 'sample:1', 'metric': 'nosuch'})\n"
        "assert unknown_registry_names(config) == [('metric', 'nosuch', list_metrics())]\n"
        "from click.testing import CliRunner\n"
        "from seagull.cli import main\n"
        f"result = CliRunner().invoke(main, ['build', '--metric', 'nosuch', '--sample', '1', '--out', {str(out)!r}])\n"
        "assert result.exit_code == 2 and 'gmsd_rgb' in result.output, result.output\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
    assert not out.exists()


def test_build_accepts_detector_none_as_seagull_masks_does():
    """`seagull masks --detector none` builds component-level ROIs only; `seagull build` must accept the
    same word instead of calling it an unknown registry name."""
    from pipeline.build_config import BuildConfig, unknown_registry_names

    for word in ("none", "None"):
        config = BuildConfig.from_json({"source": "sample:1", "detector": word})
        assert unknown_registry_names(config) == []
    config = BuildConfig.from_json({"source": "sample:1", "detector": "nosuch"})
    assert [problem[:2] for problem in unknown_registry_names(config)] == [("detector", "nosuch")]
