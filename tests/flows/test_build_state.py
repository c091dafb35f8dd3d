"""The build-state layout: one folder beside the shard folder; the previous layout is found and moved."""

from __future__ import annotations

import os

import pytest

from pipeline import build_state


def test_state_lives_beside_the_shard_folder_whatever_its_spelling(tmp_path, monkeypatch):
    out = tmp_path / "shards"
    state = tmp_path / "shards.seagull-build"
    assert build_state.state_dir(out) == state
    monkeypatch.chdir(tmp_path)
    assert build_state.state_dir("shards/") == build_state.state_dir("./shards") == state
    out.mkdir()
    (tmp_path / "link").symlink_to(out)
    assert build_state.state_dir(tmp_path / "link") == state  # one folder, one state, one lock
    for path in (
        build_state.lock_path(out),
        build_state.plan_path(out),
        build_state.report_path(out),
        build_state.chunk_record_path(out, 3),
        build_state.manifest_part_path(out, 3),
        build_state.work_dir(out),
    ):
        assert path.is_relative_to(state)
    assert build_state.chunk_record_path(out, 3).name == "chunk-000003.json"
    assert build_state.manifest_part_path(out, 3).name == "part-000003.parquet"
    with pytest.raises(ValueError, match="root"):
        build_state.state_dir("/")


def _old_layout(out):
    """What a build before the sibling state folder left inside its --out folder."""
    (out / "_chunks").mkdir(parents=True)
    (out / "_chunks" / "chunk-000000.json").write_text("{}")
    (out / "_chunks" / "build.json").write_text("{}")
    (out / "manifest").mkdir()
    (out / "manifest" / "part-000000.parquet").write_bytes(b"part")
    (out / "_work" / "sample").mkdir(parents=True)
    (out / "_work" / "sample" / "r0.dng").write_bytes(b"raw")
    (out / "build_report.json").write_text("{}")
    (out / "seagull100w-000000.tar").write_bytes(b"tar")


def test_the_previous_layout_is_found_named_and_moved(tmp_path):
    out = tmp_path / "shards"
    _old_layout(out)
    assert [p.name for p in build_state.legacy_state(out)] == [
        "_chunks",
        "_work",
        "build_report.json",
        "manifest",
    ]
    message = build_state.legacy_message(out)
    assert (
        "earlier version" in message and "_chunks" in message and str(build_state.state_dir(out)) in message
    )

    moves = build_state.migrate_legacy(out)
    assert len(moves) == 5 and build_state.legacy_state(out) == [] and build_state.legacy_message(out) == ""
    assert sorted(os.listdir(out)) == ["seagull100w-000000.tar"]
    assert build_state.chunk_record_path(out, 0).read_text() == "{}"
    assert build_state.plan_path(out).exists() and not (build_state.chunks_dir(out) / "build.json").exists()
    assert build_state.manifest_part_path(out, 0).read_bytes() == b"part"
    assert (build_state.work_dir(out) / "sample" / "r0.dng").read_bytes() == b"raw"
    assert build_state.report_path(out).read_text() == "{}"
    assert build_state.migrate_legacy(out) == []  # nothing left to move


def test_state_in_both_layouts_is_refused_naming_both(tmp_path):
    out = tmp_path / "shards"
    _old_layout(out)
    build_state.chunks_dir(out).mkdir(parents=True)
    with pytest.raises(FileExistsError, match="_chunks.*both exist"):
        build_state.migrate_legacy(out)


def test_a_manifest_folder_without_parts_is_not_build_state(tmp_path):
    (tmp_path / "manifest").mkdir()
    (tmp_path / "manifest" / "notes.txt").write_text("mine")
    assert build_state.legacy_state(tmp_path) == []
    assert build_state.migrate_legacy(tmp_path) == []
    assert (tmp_path / "manifest" / "notes.txt").exists()
