"""`seagull publish`: only the consumer files, checked, loadable; nothing half-published on errors."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from pipeline.build_state import report_path, work_dir
from pipeline.shards.publish import publish

CONSUMER_FILES = {
    "README.md",
    "label_histograms.png",
    "manifest.parquet",
    "quality_vs_level.png",
    "seagull100w-000000.tar",
    "seagull100w-000000_stats.json",
    "seagull100w-000001.tar",
    "seagull100w-000001_stats.json",
}


@pytest.fixture()
def build_folder(built, tmp_path):
    """A copy of the built shards with the build state a real build leaves beside them, and what a
    build of an earlier version left inside its folder."""
    folder = tmp_path / "build"
    shutil.copytree(built, folder)
    work = work_dir(folder) / "sample"
    work.mkdir(parents=True)
    (work / "r0.dng").write_bytes(b"raw")
    report_path(folder).write_text("{}")
    (folder / "_chunks").mkdir()
    (folder / "_chunks" / "chunk-000000.json").write_text("{}")
    (folder / "build_report.json").write_text("{}")
    return folder


def test_publish_copies_only_consumer_files(build_folder, tmp_path):
    out = tmp_path / "release"
    files = publish(build_folder, out)
    assert {p.name for p in out.iterdir()} == CONSUMER_FILES == {p.name for p in files}
    assert (out / "seagull100w-000001.tar").read_bytes() == (
        build_folder / "seagull100w-000001.tar"
    ).read_bytes()
    assert not list(tmp_path.glob(".*publishing"))


def test_published_folder_loads_with_datasets(build_folder, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "release"
    subprocess.run(
        [sys.executable, "-m", "seagull.cli", "publish", str(build_folder), str(out), "--link"], check=True
    )
    loaded = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(loaded) == 21 and loaded[1]["json"]["key"] == "ref-a_exposure_01"


def test_corrupted_shard_publishes_nothing(build_folder, tmp_path):
    shard = build_folder / "seagull100w-000001.tar"
    data = bytearray(shard.read_bytes())
    data[1000] ^= 0xFF
    shard.chmod(0o644)
    shard.write_bytes(bytes(data))
    out = tmp_path / "release"
    with pytest.raises(ValueError, match="seagull100w-000001.tar.*seagull build"):
        publish(build_folder, out)
    assert not out.exists() and not list(tmp_path.glob(".*publishing"))


def test_refuses_a_folder_with_files_and_an_unfinished_build(build_folder, tmp_path):
    out = tmp_path / "release"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        publish(build_folder, out)
    assert (out / "keep.txt").read_text() == "mine"
    (build_folder / "seagull100w-000002.tar").write_bytes(b"")  # a chunk that never finished
    with pytest.raises(ValueError, match="without stats"):
        publish(build_folder, tmp_path / "other")
    (build_folder / "seagull100w-000002.tar").unlink()
    (build_folder / "manifest.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="manifest.parquet"):
        publish(build_folder, tmp_path / "other")


def test_cli_reports_errors_with_exit_status_1(tmp_path):
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "seagull.cli", "publish", str(tmp_path / "empty"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "no finished shard" in result.stderr
