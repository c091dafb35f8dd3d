"""`seagull render` → `masks` → `label` and the build's chunk give the same images, ROIs and labels for
the same RAW files and options (issue 19: the stages are chained once), and find the same RAW files."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.build_config import BuildConfig
from pipeline.chunk import ChunkSpec, process_chunk
from pipeline.raw_files import list_raw_files
from pipeline.shards.format import decode_image
from seagull.cli import main

TYPES, LEVELS, SIZE = ("blur", "noise"), (1, 20), 256
OPTIONS = ["--types", ",".join(TYPES), "--levels", ",".join(map(str, LEVELS)), "--size", str(SIZE)]
LABEL_FIELDS = ("quality", "importance", "distortion", "severity", "distortions", "quality_raw")


@pytest.fixture(scope="module")
def both(small_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One reference built by the chunk and by the three stage commands, with the same options."""
    raw = tmp_path_factory.mktemp("stages_raw")
    first = sorted(small_raw.glob("*.dng"))[0]
    shutil.copy(first, raw / first.name)
    build = tmp_path_factory.mktemp("stages_build")
    config = BuildConfig(source=str(raw), out=str(build), types=TYPES, levels=LEVELS, size=SIZE, chunk_size=1)
    result = process_chunk(ChunkSpec(0, (str(raw / first.name),)), config)
    assert not result.failures, result.failures
    stages = tmp_path_factory.mktemp("stages_cli")
    runs = [
        ["render", "--raw-dir", str(raw), "--out", str(stages / "render"), *OPTIONS, "--no-sheet"],
        ["masks", "--ref-dir", str(stages / "render"), "--out", str(stages / "masks"), "--no-overlay"],
        ["label", "--render-dir", str(stages / "render"), "--masks-dir", str(stages / "masks")]
        + ["--out", str(stages / "labels")],
    ]
    for args in runs:
        outcome = CliRunner().invoke(main, args)
        assert outcome.exit_code == 0, (args[0], outcome.output)
    return {"build": build, "stages": stages, "ref_id": first.stem}


def _shard_samples(build: Path) -> dict[str, tuple[np.ndarray, dict]]:
    samples: dict[str, dict] = {}
    for path in sorted(build.glob("seagull100w-*.tar")):
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                key, ext = member.name.split(".", 1)
                samples.setdefault(key, {})[ext] = tar.extractfile(member).read()
    return {key: (decode_image(s["png"]), json.loads(s["json"])) for key, s in samples.items()}


def test_images_are_identical(both):
    from pipeline.release import release_path
    from pipeline.taxonomy import sample_key

    samples, ref_id, renders = _shard_samples(both["build"]), both["ref_id"], both["stages"] / "render"

    def read(path: Path) -> np.ndarray:
        return decode_image(path.read_bytes())

    assert np.array_equal(read(release_path(renders, ref_id)), samples[f"{ref_id}_ref"][0])
    for dist_type in TYPES:
        for level in LEVELS:
            image = read(release_path(renders, ref_id, dist_type, level))
            assert np.array_equal(image, samples[sample_key(ref_id, dist_type, level)][0]), (dist_type, level)


def test_rois_are_identical(both):
    from pipeline.masks import read_rois_json

    ref_id = both["ref_id"]
    built = _shard_samples(both["build"])[f"{ref_id}_ref"][1]["rois"]
    staged = [roi.to_json() for roi in read_rois_json(both["stages"] / "masks" / f"{ref_id}.json").rois]
    assert staged == built


def test_labels_are_identical(both):
    from pipeline.taxonomy import sample_key

    samples, ref_id = _shard_samples(both["build"]), both["ref_id"]
    lines = (both["stages"] / "labels" / "labels.jsonl").read_text().splitlines()
    staged = [json.loads(line) for line in lines]
    assert len(staged) == sum(
        len(samples[sample_key(ref_id, t, k)][1]["rois"]) for t in TYPES for k in LEVELS
    )
    for record in staged:
        roi = samples[sample_key(ref_id, record["dist_type"], record["level"])][1]["rois"][record["roi_id"]]
        assert {f: record[f] for f in LABEL_FIELDS} == {f: roi[f] for f in LABEL_FIELDS}


def test_the_build_and_render_take_the_same_raw_files(sample_raw_dir: Path, tmp_path: Path):
    # A .cr3 rendered but did not build: the build knew 8 RAW suffixes, `seagull render` 23.
    raw = tmp_path / "raw"
    raw.mkdir()
    dng = sorted(sample_raw_dir.glob("*.dng"))[0]
    for name in ("a.dng", "b.CR3", "c.nrw"):
        shutil.copy(dng, raw / name)
    (raw / "notes.txt").write_text("not a RAW file")
    out = tmp_path / "out"
    args = ["render", str(raw), str(out), "--types", "blur", "--levels", "1", "--size", "64", "--no-sheet"]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0, outcome.output
    rendered = [Path(p).name for p in json.loads((out / "render_report.json").read_text())["rendered"]]
    assert [p.name for p in list_raw_files(raw)] == rendered == ["a.dng", "b.CR3", "c.nrw"]


def test_label_reads_the_authors_layout_at_the_right_levels(small_raw: Path, tmp_path: Path):
    # `--layout authors` keeps level k in folder k-1; `seagull label` used to read folder k as level k.
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(sorted(small_raw.glob("*.dng"))[0], raw / "a.dng")
    renders, masks = tmp_path / "render", tmp_path / "masks"
    runs = [
        ["render", "--raw-dir", str(raw), "--out", str(renders), "--types", "blur", "--levels", "1,20"]
        + ["--size", "64", "--layout", "authors", "--no-sheet"],
        ["masks", "--ref-dir", str(renders), "--out", str(masks), "--no-overlay"],
        ["label", "--render-dir", str(renders), "--masks-dir", str(masks), "--out", str(tmp_path / "labels")],
    ]
    for args in runs:
        outcome = CliRunner().invoke(main, args)
        assert outcome.exit_code == 0, (args[0], outcome.output)
    lines = (tmp_path / "labels" / "labels.jsonl").read_text().splitlines()
    assert {(r["dist_type"], r["level"]) for r in map(json.loads, lines)} == {("blur", 1), ("blur", 20)}
