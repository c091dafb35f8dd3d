"""RAW verification (magic bytes, LibRaw) and the `seagull fetch-raise` command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipeline.fetch.verify import NotRawError, container_of, verify_raw
from seagull.cli import main


def test_a_real_raw_verifies_with_its_camera_and_sizes(raw_bodies, tmp_path):
    name, body = sorted(raw_bodies.items())[0]
    path = tmp_path / name
    path.write_bytes(body)
    info = verify_raw(path)
    assert info.bytes == len(body) and len(info.sha256) == 64
    assert info.camera and info.width > 0 and info.height > 0


@pytest.mark.parametrize(
    "head, message",
    [(b"  <!DOCTYPE html><html>", "HTML"), (b"<html><body>", "HTML"), (b"\x89PNG\r\n\x1a\n", "not a RAW"),
     (b"", "not a RAW")],
)  # fmt: skip
def test_non_raw_heads_are_named(head, message):
    with pytest.raises(NotRawError, match=message):
        container_of(head)


def test_a_tiff_header_that_libraw_cannot_open_is_caught(tmp_path):
    path = tmp_path / "fake.NEF"
    path.write_bytes(b"II*\x00" + b"\x00" * 60)  # right magic, no image
    with pytest.raises(NotRawError, match="LibRaw"):
        verify_raw(path)


def test_cli_fetches_and_a_rerun_skips(make_csv, raw_bodies, tmp_path):
    csv, out = make_csv(), tmp_path / "raw"
    runner = CliRunner()
    first = runner.invoke(main, ["fetch-raise", str(csv), str(out), "--jobs", "2", "--retries", "1"])
    assert first.exit_code == 0, first.output
    assert f"{len(raw_bodies)} fetched" in first.output and "raise_ledger.parquet" in first.output
    assert sorted(p.name for p in out.glob("*.NEF")) == sorted(raw_bodies)
    second = runner.invoke(main, ["fetch-raise", str(csv), str(out), "--limit", "2"])
    assert second.exit_code == 0 and "0 fetched" in second.output and "2 already done" in second.output


def test_cli_exits_1_and_names_refused_rows(make_csv, tmp_path):
    csv = make_csv(names=[], extra_rows=["../evil,,http://127.0.0.1:9/x.NEF,,,Nikon D90,,"])
    result = CliRunner().invoke(main, ["fetch-raise", str(csv), str(tmp_path / "raw")])
    assert result.exit_code == 1 and "line 2" in result.output and "unsafe file name" in result.output


def test_cli_rejects_a_bad_rewrite(make_csv, tmp_path):
    result = CliRunner().invoke(
        main, ["fetch-raise", str(make_csv()), str(tmp_path), "--rewrite", "nonsense"]
    )
    assert result.exit_code == 2 and "OLD_PREFIX=NEW_PREFIX" in result.output
