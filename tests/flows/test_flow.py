"""The build flow in-process (Prefect test server): report, skip on re-run, corrupted shard, bad RAW."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from pipeline.build_state import report_path, state_dir, work_dir

VARIANTS = 2 * 2  # the SMALL build: 2 types x 2 levels


def test_build_writes_shards_manifest_card_and_report(reference_build: Path, tools):
    report = tools.report(reference_build)
    assert report["ok"] and report["failures"] == [] and report["chunk_errors"] == []
    assert report["chunks"] == {"total": 3, "built": 3, "skipped": 0, "failed": 0}
    assert set(report["seconds_per_reference"]) >= {"decode", "render", "masks", "labels", "write"}
    keys = tools.keys(reference_build)
    assert len(keys) == len(set(keys)) == tools.N_REFS * (1 + VARIANTS)
    assert (reference_build / "manifest.parquet").exists()
    assert Path(report["card"]) == reference_build / "README.md" and Path(report["card"]).exists()


def test_the_folder_holds_only_what_consumers_read(reference_build: Path, tools):
    consumer = {"manifest.parquet", "README.md", "quality_vs_level.png", "label_histograms.png"}
    consumer |= {f"seagull100w-{i:06d}{end}" for i in range(tools.N_REFS) for end in (".tar", "_stats.json")}
    assert {p.name for p in reference_build.iterdir()} == consumer
    state = state_dir(reference_build)
    assert state.parent == reference_build.parent  # beside it: a push of the folder never takes it
    assert {p.name for p in state.iterdir()} == {
        "build.json",
        "build.lock.guard",
        "build_report.json",
        "chunks",
        "manifest-parts",
    }  # no lock: the build ended; no work/: --raw-dir needs no work files
    assert len(list((state / "chunks").glob("chunk-*.json"))) == tools.N_REFS


def test_a_folder_of_the_earlier_layout_is_moved_and_resumed(reference_build: Path, tools, tmp_path):
    """Its build state inside the folder (`_chunks/`, `manifest/`, `build_report.json`) is moved beside
    it, and its finished chunks are skipped, not rebuilt into a mix."""
    out = tools.copy_build(reference_build, tmp_path / "old")
    state = state_dir(out)
    (state / "build.json").rename(state / "chunks" / "build.json")
    for new, old in (
        ("chunks", "_chunks"),
        ("manifest-parts", "manifest"),
        ("build_report.json", "build_report.json"),
    ):
        (state / new).rename(out / old)
    (out / ".seagull-build.lock.guard").write_text("")
    state, report = tools.run_flow(tools.SMALL_RAW, out)
    assert state.is_completed(), report
    assert report["chunks"] == {"total": 3, "built": 0, "skipped": 3, "failed": 0}
    assert {p.name for p in out.iterdir()} == {p.name for p in reference_build.iterdir()}
    assert tools.digests(out) == tools.digests(reference_build)
    assert tools.same_manifest(out, reference_build)


def test_rerun_skips_finished_chunks_and_rebuilds_a_corrupted_shard(reference_build: Path, tools, tmp_path):
    out = tools.copy_build(reference_build, tmp_path / "copy")
    expected = tools.digests(reference_build)
    victim = out / sorted(expected)[1]
    data = bytearray(victim.read_bytes())
    data[-2048] ^= 0x01  # a flipped bit inside the tar, same size
    victim.write_bytes(bytes(data))
    state, report = tools.run_flow(tools.SMALL_RAW, out)
    assert state.is_completed()
    assert report["chunks"] == {"total": 3, "built": 1, "skipped": 2, "failed": 0}
    assert tools.digests(out) == expected


def test_bad_raw_is_reported_and_the_build_goes_on(prefect_server, small_raw: Path, tmp_path: Path):
    from seagull.cli import main

    raw = tmp_path / "raw"
    raw.mkdir()
    good = sorted(small_raw.glob("*.dng"))[0]
    shutil.copy(good, raw / good.name)
    (raw / "broken.dng").write_bytes(b"II*\x00" + b"\x00" * 600)  # a TIFF header and nothing else
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "build",
            "--raw-dir",
            str(raw),
            "--out",
            str(out),
            "--types",
            "blur",
            "--levels",
            "1",
            "--size",
            "256",
        ],
    )
    assert result.exit_code == 1, result.output
    report = json.loads(report_path(out).read_text())
    assert not report["ok"]
    assert [(f["ref_id"], f["stage"]) for f in report["failures"]] == [("broken", "decode")]
    assert report["references"] == {"total": 2, "written": 1, "failed": 1}
    assert (out / "seagull100w-000000.tar").exists()


def test_raise_csv_source_fetches_first_and_records_a_404(prefect_server, small_raw: Path, tools, tmp_path):
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(small_raw))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        first = sorted(small_raw.glob("*.dng"))[0]
        csv = tmp_path / "RAISE_test.csv"
        csv.write_text(
            f"File,NEF,Device\n{first.stem},{base}/{first.name},Sample\nmissing,{base}/missing.dng,Sample\n"
        )
        out = tmp_path / "out"
        state, report = tools.run_flow(csv, out, types=["blur"], levels=[1])
    finally:
        server.shutdown()
        server.server_close()
    assert not state.is_completed()
    assert [(f["ref_id"], f["stage"]) for f in report["failures"]] == [("missing", "fetch")]
    assert report["references"] == {"total": 2, "written": 1, "failed": 1}
    assert (work_dir(out) / "raise" / first.name).read_bytes() == first.read_bytes()
    assert tools.keys(out) == [f"{first.stem}_ref", f"{first.stem}_blur_01"]
