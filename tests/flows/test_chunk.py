"""`process_chunk` without Prefect: a bad RAW is recorded, records mark finished chunks, checksums
catch a corrupted shard, and a rebuild gives the same bytes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from pipeline.build_config import BuildConfig
from pipeline.chunk import ChunkSpec, find_done, process_chunk, record_path


@pytest.fixture(scope="module")
def chunk_dir(
    small_raw: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ChunkSpec, BuildConfig]:
    """One chunk of two files: a real DNG and a truncated one."""
    raw = tmp_path_factory.mktemp("chunk_raw")
    good = sorted(small_raw.glob("*.dng"))[0]
    shutil.copy(good, raw / good.name)
    (raw / "zz_truncated.dng").write_bytes(good.read_bytes()[:4096])
    out = tmp_path_factory.mktemp("chunk_out")
    config = BuildConfig(
        source=str(raw), out=str(out), types=("blur",), levels=(1, 20), size=256, chunk_size=2
    )
    spec = ChunkSpec(0, (str(raw / good.name), str(raw / "zz_truncated.dng")))
    return out, spec, config


def test_bad_raw_is_recorded_and_the_chunk_goes_on(chunk_dir):
    out, spec, config = chunk_dir
    result = process_chunk(spec, config)
    assert result.refs == [Path(spec.paths[0]).stem]
    assert [(f.ref_id, f.stage) for f in result.failures] == [("zz_truncated", "decode")]
    assert "RawDecodeError" in result.failures[0].error
    assert result.shards[0]["count"] == 1 + 2  # the reference sample and its 2 variants
    record = json.loads(record_path(out, 0).read_text())
    assert record["failures"][0]["path"].endswith("zz_truncated.dng")
    assert set(record["timings"]) >= {"decode", "render", "masks", "labels", "write"}
    assert find_done(out, spec, config) is None  # a chunk with a failed file is retried on re-run


def test_finished_chunk_is_found_and_a_corrupted_one_is_rebuilt_identically(chunk_dir):
    out, bad_spec, config = chunk_dir
    spec = ChunkSpec(1, bad_spec.paths[:1])  # the good file alone
    process_chunk(spec, config)
    done = find_done(out, spec, config)
    assert done is not None and done.skipped
    assert (
        find_done(
            out, spec, BuildConfig(**{**config.to_json(), "seed": 1, "types": ("blur",), "levels": (1, 20)})
        )
        is None
    )  # another build
    shard = out / done.shards[0]["name"]
    original = hashlib.sha256(shard.read_bytes()).hexdigest()
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size: only the checksum can tell
    shard.write_bytes(bytes(data))
    assert find_done(out, spec, config) is None
    rebuilt = process_chunk(spec, config)
    assert rebuilt.shards[0]["sha256"] == original == hashlib.sha256(shard.read_bytes()).hexdigest()
    assert find_done(out, spec, config) is not None
