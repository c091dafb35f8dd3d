"""The documentation's shard-reading snippets run as written against a small build.

Every ```python block of README.md and docs/*.md that reads shards (roi_dataset, webdataset,
the manifest, `datasets`) and every ```bash block that runs `seagull verify|publish` is executed in a
folder where `shards/` is a finished build, so a snippet that names missing shards, skips a needed
transform or uses a renamed field fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs" / "shards.md"
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))  # every page: a new snippet is covered
READS = re.compile(r"roi_dataset\(|WebDataset\(|read_parquet\(|load_dataset\(")
# shell blocks made only of `seagull verify|publish` commands (and comments): the build's own blocks
# (sample, render, build ...) are not shard reading and take minutes
RUNS = re.compile(r"\A(?:(?:seagull (?:verify|publish) [^\n]*|#[^\n]*|\s*)\n)+\Z")


def blocks(language: str, pattern: re.Pattern) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in re.finditer(rf"```{language}\n(.*?)```", text, re.S):
            if pattern.search(match.group(1)) and (language == "python" or "seagull" in match.group(1)):
                line = text[: match.start()].count("\n") + 2
                found.append((f"{page.name}:{line}", match.group(1)))
    return found


PYTHON = blocks("python", READS)
SHELL = blocks("bash", RUNS)


@pytest.fixture()
def docs_dir(built, tmp_path, monkeypatch):
    """A working folder whose `shards/` is the shared build (read only: snippets only read it)."""
    (tmp_path / "shards").symlink_to(built, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    try:
        import datasets
    except ImportError:
        return tmp_path
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    return tmp_path


def test_every_reading_snippet_is_collected():
    assert len(PYTHON) >= 6 and len(SHELL) >= 1  # README, loader, webdataset, datasets, manifest x2


@pytest.mark.parametrize(("where", "code"), PYTHON, ids=[where for where, _ in PYTHON])
def test_python_snippet_runs(where, code, docs_dir):
    if "import datasets" in code:
        pytest.importorskip("datasets")
    namespace: dict = {"__name__": "__docs__"}
    exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the documentation's own example
    if "chosen" in namespace:  # the unbiased-subset example: one image per (type, level) present
        assert len(namespace["chosen"]) == len(namespace["subset"]) == 6


@pytest.mark.parametrize(("where", "code"), SHELL, ids=[where for where, _ in SHELL])
def test_shell_snippet_runs(where, code, docs_dir):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{where}:\n{result.stdout}\n{result.stderr}"


def test_plain_webdataset_example_runs(docs_dir):
    text = DOCS.read_text()
    section = text[text.index("### The same shards with plain webdataset") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - the documentation's own example
    record = namespace["record"]  # the last distorted sample of shard 1: ref-c, blur level 2
    assert record["key"] == "ref-c_blur_02" and namespace["reference"].shape == (40, 56, 3)
    assert len(namespace["masks"]) == 1 and namespace["masks"][0].shape == (40, 56)
    assert namespace["quality"] == [roi["quality"] for roi in record["rois"]]


def test_documented_provenance_matches_a_sample(built):
    """docs/shards.md's sample JSON names the provenance fields a shard sample has, with their types."""
    import json
    import tarfile

    with tarfile.open(built / "seagull100w-000000.tar") as archive:
        record = json.loads(archive.extractfile("ref-a_exposure_01.json").read())
    provenance = record["provenance"]
    text = DOCS.read_text()
    documented = text[text.index('"provenance": {') : text.index('"rois": [{"roi_id"')]
    for name in ("preset_hash", "segmenter", "detector", "metric", "weights", "code_version", "seed"):
        assert f'"{name}":' in documented
    assert isinstance(provenance["segmenter"], str) and isinstance(provenance["detector"], str)
    assert set(provenance["weights"]) == {"segmenter", "detector", "metric"}
    assert all(set(entry) == {"file", "sha256"} for entry in provenance["weights"].values())


def test_the_cards_snippets_run_in_the_shard_folder(built, tmp_path, monkeypatch):
    """The dataset card (README.md of the shard folder, what the Hub shows) reads the folder it is in."""
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    monkeypatch.chdir(built)
    card = (built / "README.md").read_text()
    snippets = re.findall(r"```python\n(.*?)```", card, re.S)
    assert len(snippets) == 3  # loader, plain webdataset, datasets
    for index, code in enumerate(snippets):
        namespace: dict = {"__name__": "__card__"}
        exec(compile(code, f"card snippet {index}", "exec"), namespace)  # noqa: S102 - the card's own example
    assert len(namespace["samples"]) == 3 + 18 and len(namespace["rows"]) == 2 * 6 * 3 + 6


def _names(spec, found=None) -> set[str]:
    found = set() if found is None else found
    if isinstance(spec, dict):
        for name, value in spec.items():
            found.add(name)
            _names(value, found)
    elif isinstance(spec, list):
        _names(spec[0], found)
    return found


def test_documented_sample_json_names_the_declared_fields():
    """docs/shards.md's sample JSON and the types the card declares (SAMPLE_JSON) name the same fields."""
    from pipeline.shards.features import ISP, SAMPLE_JSON

    text = DOCS.read_text()
    example = re.search(r"```json\n(.*?)```", text[text.index("## Sample format") :], re.S).group(1)
    documented = set(re.findall(r'"(\w+)":', example))
    blur = {**SAMPLE_JSON, "isp": {**ISP, "params": {"radius": ISP["params"]["radius"]}}}  # the example's
    assert documented == _names(blur)
