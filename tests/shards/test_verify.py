"""Verification: a corrupted, missing or unfinished shard is found and named, with the fix."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from pipeline.build_state import manifest_part_path, state_dir
from pipeline.shards import ShardConfig, chunk_is_done, write_chunk
from pipeline.shards.verify import failure_message, verify_manifest, verify_shards
from seagull.commands.verify import command


@pytest.fixture()
def copy(built, tmp_path):
    """A private copy of the built shards, with their build state (beside them), that a test may damage."""
    shutil.copytree(state_dir(built), state_dir(tmp_path / "copy"))
    return shutil.copytree(built, tmp_path / "copy")


def statuses(directory) -> dict[str, str]:
    return {check.shard: check.status for check in verify_shards(directory)}


def test_good_shards_pass(built):
    checks = verify_shards(built)
    assert [(c.shard, c.status) for c in checks] == [
        ("seagull100w-000000.tar", "ok"),
        ("seagull100w-000001.tar", "ok"),
    ]
    assert checks[0].detail == "14 samples" and failure_message(checks, built) == ""
    assert verify_manifest(built) == []
    result = CliRunner().invoke(command, [str(built)])
    assert result.exit_code == 0 and "all 2 shards ok" in result.output


def test_flipped_byte_is_found_by_checksum_and_rebuilt(copy, chunks):
    shard = copy / "seagull100w-000001.tar"
    data = bytearray(shard.read_bytes())
    data[1500] ^= 0x01  # inside the first image: the tar still parses, only the checksum can tell
    shard.write_bytes(bytes(data))
    checks = verify_shards(copy)
    assert statuses(copy) == {"seagull100w-000000.tar": "ok", "seagull100w-000001.tar": "corrupted"}
    assert "sha256" in checks[1].detail
    result = CliRunner().invoke(command, [str(copy)])
    assert result.exit_code == 1
    assert "seagull100w-000001.tar: corrupted" in result.output and "seagull build" in result.output
    # what a resumed build does: the chunk is not done, so it is written again, and verifies
    assert not chunk_is_done(copy, 1, ShardConfig())
    write_chunk(copy, 1, chunks[1], ShardConfig())
    assert set(statuses(copy).values()) == {"ok"}


def test_truncated_missing_and_unfinished(copy):
    shard = copy / "seagull100w-000000.tar"
    shard.write_bytes(shard.read_bytes()[:4096])
    (copy / "seagull100w-000001.tar").unlink()
    (copy / "seagull100w-000007.tar").write_bytes(b"")  # a shard whose chunk never wrote its stats
    assert statuses(copy) == {
        "seagull100w-000000.tar": "corrupted",
        "seagull100w-000001.tar": "missing",
        "seagull100w-000007.tar": "unfinished",
    }


def test_wrong_recorded_count_is_reported(copy):
    stats = copy / "seagull100w-000001_stats.json"
    stats.write_text(stats.read_text().replace('"count": 7', '"count": 8'))
    check = verify_shards(copy)[1]
    assert (check.status, check.detail) == ("corrupted", "7 samples, recorded 8")


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shards"):
        verify_shards(tmp_path)
    result = CliRunner().invoke(command, [str(tmp_path)])
    assert result.exit_code == 1 and "no shards" in result.output


def test_stale_manifest_is_reported(copy, group_factory):
    write_chunk(copy, 2, [group_factory("ref-d", 4, n_rois=2)], ShardConfig())  # a chunk after finalize
    assert set(statuses(copy).values()) == {"ok"}
    assert verify_manifest(copy) == [
        "manifest.parquet: 0 rows for seagull100w-000002.tar, its stats record 12"
    ]
    result = CliRunner().invoke(command, [str(copy)])
    assert result.exit_code == 1 and "0 rows for seagull100w-000002.tar" in result.output
    (copy / "manifest.parquet").unlink()
    assert "never finalized" in verify_manifest(copy)[0]


def test_manifest_listing_other_keys_with_the_same_counts_is_stale(copy, chunks, group_factory):
    # A re-run with other content for chunk 1 (another reference id, same number of samples and rows)
    # killed before finalize: every shard is ok and the row counts agree, but the keys do not.
    write_chunk(copy, 1, [group_factory("ref-z", 3, n_rois=1)], ShardConfig())
    assert set(statuses(copy).values()) == {"ok"}
    assert verify_manifest(copy) == [
        "manifest.parquet: the keys listed for seagull100w-000001.tar are not the keys it holds"
    ]


def test_corrupted_manifest_part_and_stats_are_reported(copy):
    part = manifest_part_path(copy, 0)
    part.write_bytes(part.read_bytes()[:64])
    assert f"{part} is corrupted" in verify_manifest(copy)[0]
    (copy / "seagull100w-000001_stats.json").write_text("{not json")
    assert statuses(copy)["seagull100w-000001.tar"] == "corrupted"


def test_shard_whose_keys_differ_from_its_stats_is_corrupted(copy, tmp_path, group_factory):
    # Same sha256 and count recorded for a tar with other keys: only the key digest can tell.
    other = tmp_path / "other"
    write_chunk(other, 1, [group_factory("ref-z", 3, n_rois=1)], ShardConfig())
    stats_file = copy / "seagull100w-000001_stats.json"
    record = json.loads(stats_file.read_text())
    record["keys_sha256"] = json.loads((other / "seagull100w-000001_stats.json").read_text())["keys_sha256"]
    stats_file.write_text(json.dumps(record))
    check = verify_shards(copy)[1]
    assert (check.status, check.detail) == ("corrupted", "its sample keys differ from the recorded key set")


def test_published_or_moved_folder_verifies_by_its_manifest_and_an_old_layout_is_named(copy):
    shutil.rmtree(state_dir(copy))  # a published folder: no build state beside it
    assert verify_manifest(copy) == []
    (copy / "_chunks").mkdir()  # what a build of an earlier version left inside its folder
    (copy / "build_report.json").write_text("{}")
    result = CliRunner().invoke(command, [str(copy)])
    assert result.exit_code == 0, result.output
    assert "layout of an earlier version (_chunks, build_report.json)" in result.stderr
    assert "the next `seagull build` into it moves it" in result.stderr
