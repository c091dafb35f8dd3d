"""fetch_raise never records a damaged file as ok (issue 14): short, unsized and mismatched bodies,
truncated RAW files, planted `.part` links, reserved names, a broken ledger, a dripping server, and
errors that retrying cannot fix."""

from __future__ import annotations

import errno
import io
import os
import time

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipeline.fetch import FetchConfig, fetch_raise
from pipeline.fetch.download import RetryPolicy
from pipeline.fetch.ledger import LEDGER_NAME
from seagull.cli import main

FAST = FetchConfig(policy=RetryPolicy(retries=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=10))


def _ledger(out):
    return {r["name"]: r for r in pq.read_table(out / LEDGER_NAME).to_pylist()}


def _only(raw_bodies, index=0):
    name = sorted(raw_bodies)[index]
    return name, raw_bodies[name], f"/NEF/{name}"


def assert_never_ok_with_wrong_bytes(out, name, body):
    row = _ledger(out)[name]
    if row["status"] == "ok":
        assert (out / name).read_bytes() == body
    else:
        assert not (out / name).exists()


# --- damaged bodies -------------------------------------------------------------------------------


def test_a_body_shorter_than_its_content_length_every_time_is_failed(
    make_csv, raise_server, raw_bodies, tmp_path
):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    state.faults[url] = ["short"] + ["cut"] * 10  # 60 %, then each resume cut in half
    out = tmp_path / "raw"
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert [r.name for r in report.failed] == [name] and _ledger(out)[name]["status"] == "failed"
    assert not (out / name).exists()


def test_a_body_without_content_length_cut_short_is_failed_and_retried_next_run(
    make_csv, raise_server, raw_bodies, tmp_path
):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    state.faults[url] = ["nolength"] * 10  # 60 % of the file, ended by a clean close: no length to check
    csv, out = make_csv(names=[name]), tmp_path / "raw"
    report = fetch_raise(csv, out, config=FAST)
    assert [r.name for r in report.failed] == [name], report.summary()
    assert "LibRaw cannot decode" in report.failed[0].error and not (out / name).exists()
    assert _ledger(out)[name]["status"] == "failed"
    state.faults[url] = []
    again = fetch_raise(csv, out, config=FAST)  # the next run tries it again, not skips it
    assert [r.name for r in again.fetched] == [name] and (out / name).read_bytes() == body


def test_a_truncated_raw_served_whole_is_failed(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    state.files[url] = body[: len(body) * 6 // 10]  # consistent headers, a truncated file
    csv, out = make_csv(names=[name]), tmp_path / "raw"
    report = fetch_raise(csv, out, config=FAST)
    assert [r.name for r in report.failed] == [name] and "LibRaw cannot decode" in report.failed[0].error
    assert report.failed[0].attempts == 1  # complete but wrong: downloading it again would not help
    assert _ledger(out)[name]["status"] == "failed" and not list(out.glob(f"{name}*"))
    state.files[url] = body
    assert [r.name for r in fetch_raise(csv, out, config=FAST).fetched] == [name]


def test_a_206_with_the_wrong_bytes_is_not_kept(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    state.faults[url] = ["cut", "wrong206"]  # the resume's headers are right, its bytes are the file's start
    out = tmp_path / "raw"
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert_never_ok_with_wrong_bytes(out, name, body)
    assert report.ok and (out / name).read_bytes() == body  # the mismatch restarted the file
    assert state.hits(url)[-1] is None  # the last request was a fresh one, not a resume


def test_a_206_for_another_range_is_never_appended(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    state.faults[url] = ["cut"] + ["badrange", "cut"] * 10
    out = tmp_path / "raw"
    fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert_never_ok_with_wrong_bytes(out, name, body)


def test_a_file_that_changed_size_between_attempts_is_restarted(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    state.faults[url] = ["cut", "resized"]  # the resume's Content-Range names a different total
    out = tmp_path / "raw"
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert_never_ok_with_wrong_bytes(out, name, body)
    assert report.ok and state.hits(url)[-1] is None


# --- the .part file -------------------------------------------------------------------------------


def test_a_part_symlink_pointing_outside_is_refused(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    out, outside = tmp_path / "raw", tmp_path / "outside.bin"
    out.mkdir()
    outside.write_bytes(b"II*\x00precious")
    (out / f"{name}.part").symlink_to(outside)
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert [r.name for r in report.failed] == [name] and "not a regular file" in report.failed[0].error
    assert outside.read_bytes() == b"II*\x00precious" and state.hits(url) == []
    assert (out / f"{name}.part").is_symlink()  # left for the user to look at, as the error says


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_part_linked_to_an_existing_target_never_appends_to_it(
    make_csv, raise_server, raw_bodies, tmp_path, link
):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    out = tmp_path / "raw"
    out.mkdir()
    (out / name).write_bytes(body[:1000])  # an earlier, incomplete target
    (out / f"{name}.part").symlink_to(out / name) if link == "symlink" else os.link(
        out / name, out / f"{name}.part"
    )
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert [r.name for r in report.failed] == [name] and "not a regular file" in report.failed[0].error
    assert (out / name).read_bytes() == body[:1000] and state.hits(url) == []


def test_a_fifo_named_like_the_part_does_not_hang(make_csv, raise_server, raw_bodies, tmp_path):
    name, _, _ = _only(raw_bodies)
    out = tmp_path / "raw"
    out.mkdir()
    os.mkfifo(out / f"{name}.part")
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert [r.name for r in report.failed] == [name] and "not a regular file" in report.failed[0].error


# --- reserved names and the ledger ----------------------------------------------------------------


@pytest.mark.parametrize("reserved", [LEDGER_NAME, "RAISE_LEDGER.parquet", "r0000xx.NEF.part"])
def test_csv_names_colliding_with_reserved_names_are_refused(
    make_csv, raise_server, raw_bodies, tmp_path, reserved
):
    base, state = raise_server
    good, _, _ = _only(raw_bodies)
    out = tmp_path / "raw"
    row = f"{reserved},,{base}/NEF/{good},,,Nikon D90,,"
    report = fetch_raise(make_csv(names=[good], extra_rows=[row]), out, config=FAST)
    assert [p.line for p in report.problems] == [3] and "reserved" in report.problems[0].reason
    assert [r.name for r in report.fetched] == [good] and len(state.requests) == 1
    assert list(_ledger(out)) == [good]  # the ledger is still a ledger


def test_a_ledger_broken_by_a_killed_writer_never_breaks_later_runs(make_csv, raw_bodies, tmp_path):
    csv, out = make_csv(), tmp_path / "raw"
    fetch_raise(csv, out, config=FAST)
    ledger = out / LEDGER_NAME
    ledger.write_bytes(ledger.read_bytes()[:100])  # half a parquet file
    (out / f".{LEDGER_NAME}.999999999.tmp").write_bytes(b"PAR1")  # a temporary left by a killed run
    report = fetch_raise(csv, out, config=FAST)
    assert report.ok and len(report.fetched) == len(raw_bodies)  # no row to trust: fetched again
    assert any("unreadable" in note and "moved to" in note for note in report.notes)
    assert len(_ledger(out)) == len(raw_bodies)
    assert [p.name for p in out.glob(f"{LEDGER_NAME}.unreadable*")]  # kept for inspection
    assert not list(out.glob(".*.tmp"))


# --- deadline and permanent errors ----------------------------------------------------------------


def test_a_server_dripping_bytes_is_cut_off_at_the_deadline(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, _, url = _only(raw_bodies)
    state.faults[url] = ["drip"] * 10  # a byte every 0.1 s: never a read timeout
    config = FetchConfig(policy=RetryPolicy(retries=3, backoff_s=0.01, timeout_s=5, deadline_s=1.0))
    start = time.monotonic()
    report = fetch_raise(make_csv(names=[name]), tmp_path / "raw", config=config)
    assert time.monotonic() - start < 30  # a guard against hanging, not a speed check
    assert [r.name for r in report.failed] == [name] and "deadline" in report.failed[0].error
    assert report.failed[0].attempts == 1


@pytest.mark.parametrize("code", ["403", "410", "425"])
def test_a_4xx_other_than_408_or_429_is_not_retried(make_csv, raise_server, raw_bodies, tmp_path, code):
    _, state = raise_server
    name, _, url = _only(raw_bodies)
    state.faults[url] = [code] * 10
    report = fetch_raise(make_csv(names=[name]), tmp_path / "raw", config=FAST)
    assert report.failed[0].attempts == 1 == len(state.hits(url)) and code in report.failed[0].error


@pytest.mark.parametrize("code", ["408", "429"])
def test_408_and_429_are_retried(make_csv, raise_server, raw_bodies, tmp_path, code):
    _, state = raise_server
    name, body, url = _only(raw_bodies)
    state.faults[url] = [code]
    report = fetch_raise(make_csv(names=[name]), tmp_path / "raw", config=FAST)
    assert report.ok and len(state.hits(url)) == 2


def test_a_redirect_to_a_file_url_is_not_retried(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, _, url = _only(raw_bodies)
    state.faults[url] = ["redirect-file"] * 10
    report = fetch_raise(make_csv(names=[name]), tmp_path / "raw", config=FAST)
    assert report.failed[0].attempts == 1 == len(state.hits(url))
    assert "file://" in report.failed[0].error and "http" in report.failed[0].error


def test_a_read_only_file_system_stops_the_run_at_once_with_a_clear_message(
    make_csv, raise_server, raw_bodies, tmp_path, monkeypatch
):
    _, state = raise_server
    real_os_open, real_io_open = os.open, io.open

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    def os_open(path, flags, *args, **kwargs):  # how the .part is opened
        if str(path).endswith(".part") and flags & (os.O_WRONLY | os.O_RDWR):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(path, mode="r", *args, **kwargs):  # the same through open()/Path.open()
        if str(path).endswith(".part") and set(mode) & set("wax+"):
            refuse(path)
        return real_io_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    out = tmp_path / "raw"
    args = ["fetch-raise", str(make_csv()), str(out), "--jobs", "1", "--retries", "3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and not isinstance(result.exception, OSError), result.output
    assert "Read-only file system" in result.output and str(out) in result.output
    assert len(state.requests) == 0  # the first file stopped the run; nothing was retried


def test_the_deadline_is_a_cli_option(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name, _, url = _only(raw_bodies)
    state.faults[url] = ["drip"]
    args = ["fetch-raise", str(make_csv(names=[name])), str(tmp_path / "raw"), "--deadline", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "deadline" in result.output


def test_recheck_decodes_files_an_older_ledger_called_ok(make_csv, raise_server, raw_bodies, tmp_path):
    from pipeline.fetch.ledger import LedgerRow, write_ledger
    from pipeline.fetch.verify import sha256_file

    name, body, _ = _only(raw_bodies)
    out = tmp_path / "raw"
    out.mkdir()
    (out / name).write_bytes(body[: len(body) // 2])  # what a header-only check let through
    size, digest = len(body) // 2, sha256_file(out / name)
    write_ledger(out / LEDGER_NAME, [LedgerRow(name, name, "u", "ok", bytes=size, sha256=digest, attempts=1)])
    csv = make_csv(names=[name])
    assert [r.name for r in fetch_raise(csv, out, config=FAST).skipped] == [name]  # trusted as before
    rechecked = fetch_raise(csv, out, config=FetchConfig(policy=FAST.policy, recheck=True))
    assert [r.name for r in rechecked.fetched] == [name] and (out / name).read_bytes() == body


def test_a_folder_where_the_file_goes_fails_that_file_only(make_csv, raw_bodies, tmp_path):
    name, _, _ = _only(raw_bodies)
    out = tmp_path / "raw"
    (out / name).mkdir(parents=True)
    report = fetch_raise(make_csv(), out, config=FAST)
    assert [r.name for r in report.failed] == [name] and "is a folder" in report.failed[0].error
    assert len(report.fetched) == len(raw_bodies) - 1
