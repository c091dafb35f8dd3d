"""Writer: deterministic bytes, atomic shards, stats written last, resumable chunks, manifest rows."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from pipeline.build_state import lock_path, manifest_part_path
from pipeline.records import Variant
from pipeline.shards import ShardConfig, chunk_is_done, finalize, write_chunk
from pipeline.shards.format import RefGroup, reference_key
from pipeline.shards.manifest import SCHEMA
from pipeline.shards.writer import read_stats, stats_path


def test_tar_order_headers_and_stats(tmp_path, chunks, build_chunks):
    stats = build_chunks(tmp_path, chunks)
    assert [s.shard for s in stats] == ["seagull100w-000000.tar", "seagull100w-000001.tar"]
    path = tmp_path / stats[0].shard
    with tarfile.open(path) as archive:
        members = archive.getmembers()
    keys = list(dict.fromkeys(m.name.split(".")[0] for m in members))
    # references sorted by id, each reference first, then its variants in taxonomy order, level 1 first
    assert keys[:4] == ["ref-a_ref", "ref-a_exposure_01", "ref-a_exposure_02", "ref-a_noise_01"]
    assert keys[7] == "ref-b_ref" and len(keys) == 14
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {
        (0, 0, 0, "seagull", "seagull", 0o444)
    }
    recorded = json.loads(stats_path(path).read_text())
    assert recorded["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert recorded["bytes"] == path.stat().st_size
    assert (recorded["count"], recorded["n_references"], recorded["n_distorted"]) == (14, 2, 12)
    assert recorded["n_roi_labels"] == 2 * 6 * 3


def test_second_write_is_byte_identical(tmp_path, chunks, group_factory, build_chunks):
    first = build_chunks(tmp_path / "one", chunks)
    again = [[group_factory("ref-a", 1), group_factory("ref-b", 2)], [group_factory("ref-c", 3, n_rois=1)]]
    second = build_chunks(tmp_path / "two", again)  # same data, other input order, other directory
    for a, b in zip(first, second, strict=True):
        assert (tmp_path / "one" / a.shard).read_bytes() == (tmp_path / "two" / b.shard).read_bytes()
    rewrite = write_chunk(tmp_path / "one", 0, chunks[0], ShardConfig())  # in place, over the old shard
    assert rewrite[0] == first[0]


def test_no_final_name_until_complete(tmp_path, chunks, monkeypatch):
    final = tmp_path / "seagull100w-000000.tar"
    original, written = wds.TarWriter.write, []

    def write_then_fail(self, sample):
        assert not final.exists(), "the final name appeared before the shard was complete"
        written.append(sample["__key__"])
        if len(written) == 5:
            raise OSError("disk full")
        return original(self, sample)

    monkeypatch.setattr(wds.TarWriter, "write", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_chunk(tmp_path, 0, chunks[0], ShardConfig())
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no shard, no stats, no temporary left


def test_killed_rewrite_unfinishes_the_chunk(tmp_path, chunks, monkeypatch):
    write_chunk(tmp_path, 0, chunks[0], ShardConfig())
    assert chunk_is_done(tmp_path, 0, ShardConfig())
    monkeypatch.setattr(wds.TarWriter, "write", lambda self, sample: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError):
        write_chunk(tmp_path, 0, chunks[0], ShardConfig())
    assert not chunk_is_done(tmp_path, 0, ShardConfig())  # stats are removed before any shard is touched


def test_chunk_is_done_checks_checksum(tmp_path, chunks, build_chunks):
    config = ShardConfig()
    build_chunks(tmp_path, chunks)
    assert chunk_is_done(tmp_path, 0, config) and chunk_is_done(tmp_path, 1, config)
    assert not chunk_is_done(tmp_path, 2, config)
    shard = tmp_path / "seagull100w-000001.tar"
    data = bytearray(shard.read_bytes())
    data[700] ^= 0xFF  # same size, one flipped byte
    shard.write_bytes(bytes(data))
    assert chunk_is_done(tmp_path, 1, config, verify=False)
    assert not chunk_is_done(tmp_path, 1, config)


def test_chunk_splits_at_reference_boundaries(tmp_path, group_factory):
    config = ShardConfig(maxsize=1, shards_per_chunk=3)  # every reference overflows a shard
    groups = [group_factory(f"r{i}", i) for i in range(4)]
    stats = write_chunk(tmp_path, 1, groups, config)
    assert [s.shard for s in stats] == [f"seagull100w-{i:06d}.tar" for i in (3, 4, 5)]
    assert [s.n_references for s in stats] == [1, 1, 2]  # the last part takes the overflow
    assert all(s.parts == 3 for s in stats) and chunk_is_done(tmp_path, 1, config)
    assert [s.first_key for s in stats] == ["r0_ref", "r1_ref", "r2_ref"]


def test_manifest_rows(built):
    table = pq.read_table(built / "manifest.parquet")
    assert table.schema.equals(SCHEMA)
    frame = table.to_pandas()
    assert len(frame) == (2 * 3 + 1) * 6  # ROIs x variants
    assert list(frame["shard"].unique()) == ["seagull100w-000000.tar", "seagull100w-000001.tar"]
    row = frame[(frame["key"] == "ref-c_blur_02") & (frame["roi_id"] == 0)].iloc[0]
    assert (row["ref_id"], row["dist_type"], row["level"], row["metric"]) == ("ref-c", "blur", 2, "topiq_fr")
    assert row["segmenter"] == "boxes" and row["detector"] == ""  # text, "" when the build had none
    assert json.loads(row["weights"])["metric"] == {"file": "topiq.pth", "sha256": "ab12"}
    assert json.loads(row["weights"])["detector"] == {"file": "", "sha256": ""} and row["preset_hash"] == "p0"
    assert row["quality_level"] in ("bad", "poor", "fair", "good", "excellent")
    assert frame["quality"].between(0, 1).all() and frame["area"].gt(0).all()


def test_unlabelled_build_has_rois_but_null_scores(tmp_path, group_factory):
    write_chunk(tmp_path, 0, [group_factory("u", 0, labelled=False)], ShardConfig())
    card = finalize(tmp_path)
    frame = pq.read_table(tmp_path / "manifest.parquet").to_pandas()
    assert len(frame) == 3 * 6 and frame["quality"].isna().all()
    assert "No ROI labels" in card.read_text()


def test_bad_groups_are_rejected(tmp_path, group_factory):
    group = group_factory("x", 0)
    partial = RefGroup(group.ref_id, group.reference, group.variants, group.rois, group.labels[:-1])
    with pytest.raises(ValueError, match="exactly once"):
        write_chunk(tmp_path, 0, [partial], ShardConfig())
    small = Variant("blur", 3, group.reference[:10])
    with pytest.raises(ValueError, match="render variants from the same decode"):
        write_chunk(tmp_path, 0, [RefGroup("y", group.reference, [small])], ShardConfig())
    with pytest.raises(ValueError, match="appear twice"):
        write_chunk(tmp_path, 0, [group, group], ShardConfig())
    with pytest.raises(ValueError, match="contains a dot"):
        reference_key("a.b")
    assert not list(tmp_path.glob("*_stats.json"))


def test_read_stats_names_a_malformed_file(tmp_path):
    path = tmp_path / "seagull100w-000000_stats.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="seagull100w-000000_stats.json"):
        read_stats(path)


def test_temporaries_are_left_to_their_owner_and_swept_under_the_lock(tmp_path, chunks):
    from pipeline.build_folder import sweep_temporaries

    write_chunk(tmp_path, 0, chunks[0], ShardConfig())
    leftovers = [
        tmp_path / ".seagull100w-000001.tar.999.tmp",
        manifest_part_path(tmp_path, 1).with_name(".part-000001.parquet.9.tmp"),
    ]
    for path in leftovers:
        path.write_bytes(b"partial")
    finalize(tmp_path)  # another build may be writing them: finalize leaves them alone
    assert all(path.exists() for path in leftovers)
    assert (tmp_path / "seagull100w-000000.tar").exists() and (tmp_path / "manifest.parquet").exists()
    waiting = lock_path(tmp_path).with_name("build.lock.77.abc.tmp")  # a build about to take the lock
    waiting.write_text("{}")
    assert sweep_temporaries(tmp_path) == sorted(leftovers)  # with the lock held: a dead build's
    assert not any(path.exists() for path in leftovers) and waiting.exists()
