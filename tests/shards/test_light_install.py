"""Reading shards needs only the `loader` extra: no torch, Prefect, transformers, pyiqa, dask, SAM."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
HEAVY = (
    "torch",
    "prefect",
    "transformers",
    "peft",
    "pyiqa",
    "dask",
    "segment_anything",
    "matplotlib",
    "pandas",
)

READ_SHARDS = """
import sys
from pipeline.shards.format import decode_image
from pipeline.shards.loader import roi_dataset
samples = list(roi_dataset(sys.argv[1], references="attach", decode=False))
image = decode_image(samples[0]["png"])
print(len(samples), image.shape, samples[0]["__key__"])
try:
    next(iter(roi_dataset(sys.argv[1])))
except ImportError as error:
    print("decode:", error)
"""


def test_loader_reads_raw_samples_with_the_heavy_packages_missing(built):
    blocker = textwrap.dedent(
        f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {HEAVY!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
        sys.meta_path.insert(0, Block())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", blocker + READ_SHARDS, str(built)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "18 (40, 56, 3) ref-a_exposure_01"  # distorted samples, reference attached
    assert lines[1].startswith("decode:") and "needs torch" in lines[1]


def test_extras_split_what_reading_needs_from_the_rest():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = lambda reqs: {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in reqs}  # noqa: E731
    extras = project["optional-dependencies"]
    assert names(extras["loader"]) == {
        "numpy",
        "opencv-python-headless",
        "pycocotools",
        "webdataset",
        "pyarrow",
    }
    assert not any("==" in r for r in project["dependencies"] + sum(extras.values(), [])), (
        "exact pins: constraints.txt"
    )
    everything = names(project["dependencies"] + sum(extras.values(), []))
    assert "rich" not in everything and "fastapi" not in everything
    pinned = {
        line.split("==")[0] for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line
    }
    assert everything - {"seagull-iqa"} <= pinned, (
        "every dependency has its tested version in constraints.txt"
    )


@pytest.mark.slow
def test_fresh_venv_with_only_the_loader_extra_reads_shards(built, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [
        str(python),
        "-m",
        "pip",
        "install",
        "-q",
        "-c",
        str(ROOT / "constraints.txt"),
        f"{ROOT}[loader]",
    ]
    subprocess.run(install, check=True, cwd=tmp_path, timeout=900)
    listed = subprocess.run(
        [str(python), "-m", "pip", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert not any(
        line.split()[0].lower() in {"torch", "prefect", "pandas", "matplotlib"}
        for line in listed.splitlines()[2:]
    )
    result = subprocess.run(
        [str(python), "-c", READ_SHARDS, str(built)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "18 (40, 56, 3) ref-a_exposure_01"
