"""Damaged build metadata heals on the next run, and every build rewrites build_report.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.build_state import chunk_record_path, manifest_part_path, report_path


@pytest.fixture()
def copy(reference_build: Path, tools, tmp_path: Path) -> Path:
    return tools.copy_build(reference_build, tmp_path / "copy")


@pytest.mark.parametrize(
    "damage",
    [
        lambda out: _truncate(manifest_part_path(out, 1)),
        lambda out: (out / "seagull100w-000001_stats.json").write_text('{"shard": "seagull100w-000001.tar"'),
        lambda out: chunk_record_path(out, 1).write_bytes(b"\xff\xfe not json"),
    ],
    ids=["truncated-manifest-part", "malformed-stats", "unreadable-chunk-record"],
)
def test_damaged_metadata_rebuilds_its_chunk(copy: Path, reference_build: Path, tools, damage):
    damage(copy)
    state, report = tools.run_flow(tools.SMALL_RAW, copy)
    assert state.is_completed(), report
    assert report["chunks"] == {"total": 3, "built": 1, "skipped": 2, "failed": 0}
    assert tools.digests(copy) == tools.digests(reference_build)
    assert tools.same_manifest(copy, reference_build)


def test_failed_finalize_rewrites_the_report(copy: Path, tools, monkeypatch):
    from pipeline import shards

    assert json.loads(report_path(copy).read_text())["ok"]

    def no_space(*args, **kwargs):
        raise PermissionError(28, "No space left on device (simulated)")

    monkeypatch.setattr(shards, "finalize", no_space)
    state, report = tools.run_flow(tools.SMALL_RAW, copy)
    assert not state.is_completed()
    assert report["ok"] is False and "No space left on device" in report["error"]
    assert not (copy / "manifest.parquet").exists(), "a manifest of an earlier build stayed"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])
