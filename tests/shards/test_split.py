"""The train/test split by reference image is recorded in every shard sample and manifest row."""

from __future__ import annotations

import json
import tarfile

import pyarrow.parquet as pq

from pipeline.shards import ShardConfig, finalize, write_chunk
from pipeline.shards.manifest import SCHEMA
from pipeline.split import split_of

# Two ids hashing to different splits (split_of("chelsea") == "test", split_of("coffee") == "train").
REFS = ("chelsea", "coffee")


def test_split_in_sample_json_and_manifest(tmp_path, group_factory):
    assert [split_of(r) for r in REFS] == ["test", "train"]
    write_chunk(tmp_path, 0, [group_factory(r, i) for i, r in enumerate(REFS)], ShardConfig())
    finalize(tmp_path)
    with tarfile.open(next(tmp_path.glob("*.tar"))) as archive:
        records = [
            json.loads(archive.extractfile(m).read())
            for m in archive.getmembers()
            if m.name.endswith(".json")
        ]
    assert {(r["ref_id"], r["split"]) for r in records} == {("chelsea", "test"), ("coffee", "train")}
    table = pq.read_table(tmp_path / "manifest.parquet")
    assert "split" in table.schema.names and table.schema.equals(SCHEMA)
    frame = table.to_pandas()
    assert frame.groupby("ref_id")["split"].unique().map(list).to_dict() == {
        "chelsea": ["test"],
        "coffee": ["train"],
    }
