"""fetch_raise against a loopback server: happy path, retries, resume, 404, HTML, traversal, re-run."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from pipeline.fetch import FetchConfig, fetch_raise
from pipeline.fetch.download import RESUME_OVERLAP, DownloadCancelled, RetryPolicy, download_file
from pipeline.fetch.ledger import LEDGER_NAME, SCHEMA

# Fast retries: the behaviour under test is the same at 10 ms as at 1 s.
FAST = FetchConfig(
    policy=RetryPolicy(retries=3, backoff_s=0.01, max_backoff_s=0.05, timeout_s=10), flush_every=2
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_happy_path_fetches_verifies_and_records(make_csv, raw_bodies, tmp_path):
    out = tmp_path / "raw"
    seen = []
    report = fetch_raise(make_csv(), out, jobs=3, config=FAST, progress=lambda row, d, t: seen.append((d, t)))
    names = sorted(raw_bodies)
    assert report.ok and [r.name for r in sorted(report.fetched, key=lambda r: r.name)] == names
    assert report.paths == [out / n for n in names]  # list order
    assert list(report) == report.paths  # the build flow iterates the report
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, LEDGER_NAME])  # no .part left
    for name in names:
        assert (out / name).read_bytes() == raw_bodies[name]
    assert sorted(seen) == [(i, len(names)) for i in range(1, len(names) + 1)]
    table = pq.read_table(out / LEDGER_NAME)
    assert table.schema.names == SCHEMA.names
    rows = {r["name"]: r for r in table.to_pylist()}
    for name in names:
        row = rows[name]
        assert row["status"] == "ok" and row["sha256"] == _sha(raw_bodies[name])
        assert row["bytes"] == len(raw_bodies[name]) and row["path"] == name
        assert row["camera"] and row["width"] > 0 and row["height"] > 0
        assert row["raw_width"] >= row["width"] and row["attempts"] == 1


def test_a_500_is_retried_until_it_succeeds(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name = sorted(raw_bodies)[0]
    state.faults[f"/NEF/{name}"] = ["500", "503"]
    report = fetch_raise(make_csv(), tmp_path / "raw", jobs=2, config=FAST)
    assert report.ok
    row = next(r for r in report.fetched if r.name == name)
    assert row.attempts == 3 and len(state.hits(f"/NEF/{name}")) == 3
    assert (tmp_path / "raw" / name).read_bytes() == raw_bodies[name]


def test_a_cut_connection_resumes_with_range(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name = sorted(raw_bodies)[1]
    body = raw_bodies[name]
    state.faults[f"/NEF/{name}"] = ["cut"]
    report = fetch_raise(make_csv(), tmp_path / "raw", jobs=2, config=FAST)
    assert report.ok
    # the second request resumed, re-fetching the overlap it checks against the partial file
    assert state.hits(f"/NEF/{name}") == [None, f"bytes={len(body) // 2 - RESUME_OVERLAP}-"]
    assert (tmp_path / "raw" / name).read_bytes() == body


def test_a_server_ignoring_range_restarts_the_file(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name = sorted(raw_bodies)[1]
    state.faults[f"/NEF/{name}"] = ["cut", "norange"]  # asked to resume, it sends the whole file (200)
    report = fetch_raise(make_csv(), tmp_path / "raw", jobs=1, config=FAST)
    assert report.ok and len(state.hits(f"/NEF/{name}")) == 2
    assert (tmp_path / "raw" / name).read_bytes() == raw_bodies[name]  # not half + whole


def test_a_partial_file_left_by_a_killed_run_is_resumed(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name = sorted(raw_bodies)[0]
    body, out = raw_bodies[name], tmp_path / "raw"
    out.mkdir()
    (out / f"{name}.part").write_bytes(body[:200_000])
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert report.ok and state.hits(f"/NEF/{name}") == [f"bytes={200_000 - RESUME_OVERLAP}-"]
    assert (out / name).read_bytes() == body and not (out / f"{name}.part").exists()


def test_a_complete_partial_file_is_checked_and_kept(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name = sorted(raw_bodies)[0]
    body, out = raw_bodies[name], tmp_path / "raw"
    out.mkdir()
    (out / f"{name}.part").write_bytes(body)  # killed after the last byte, before the rename
    report = fetch_raise(make_csv(names=[name]), out, config=FAST)
    assert report.ok and state.hits(f"/NEF/{name}") == [f"bytes={len(body) - RESUME_OVERLAP}-"]
    assert (out / name).read_bytes() == body


def test_a_cut_every_time_fails_after_the_retries(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name = sorted(raw_bodies)[0]
    state.faults[f"/NEF/{name}"] = ["cut"] * 10
    report = fetch_raise(make_csv(names=[name]), tmp_path / "raw", config=FAST)
    assert not report.ok and "still failing after 4 attempts" in report.failed[0].error
    assert report.failed[0].attempts == 4 == len(state.hits(f"/NEF/{name}"))
    assert not (tmp_path / "raw" / name).exists()


def test_a_404_is_recorded_and_the_others_go_on(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    names = sorted(raw_bodies)
    csv = make_csv(names=[*names, "r9999zz.NEF"])  # not on the server
    report = fetch_raise(csv, tmp_path / "raw", jobs=2, config=FAST)
    assert [r.name for r in report.failed] == ["r9999zz.NEF"] and "404" in report.failed[0].error
    assert len(state.hits("/NEF/r9999zz.NEF")) == 1 == report.failed[0].attempts  # a 404 is not retried
    assert sorted(r.name for r in report.fetched) == names
    rows = {r["name"]: r for r in pq.read_table(tmp_path / "raw" / LEDGER_NAME).to_pylist()}
    assert rows["r9999zz.NEF"]["status"] == "failed" and "404" in rows["r9999zz.NEF"]["error"]


@pytest.mark.parametrize("fault", ["html", "html-octet"])
def test_an_html_page_instead_of_a_raw_is_caught(make_csv, raise_server, raw_bodies, tmp_path, fault):
    _, state = raise_server
    name = sorted(raw_bodies)[2]
    state.faults[f"/NEF/{name}"] = [fault]
    report = fetch_raise(make_csv(), tmp_path / "raw", config=FAST)
    assert [r.name for r in report.failed] == [name]
    assert "HTML" in report.failed[0].error
    assert len(state.hits(f"/NEF/{name}")) == 1 == report.failed[0].attempts  # a permanent failure: no retry
    assert not any(p.name.startswith(name) for p in (tmp_path / "raw").iterdir())  # nothing left


def test_a_body_over_the_size_limit_is_refused(make_csv, raw_bodies, tmp_path):
    config = FetchConfig(policy=RetryPolicy(retries=2, backoff_s=0.01, max_bytes=1000))
    report = fetch_raise(make_csv(), tmp_path / "raw", config=config)
    assert len(report.failed) == len(raw_bodies) and all("limit" in r.error for r in report.failed)


def test_names_escaping_out_dir_are_refused(make_csv, raise_server, raw_bodies, tmp_path):
    base, state = raise_server
    good = sorted(raw_bodies)[0]
    evil = [
        f"../evil,,{base}/NEF/{good},,,Nikon D90,,",
        f"/tmp/evil,,{base}/NEF/{good},,,Nikon D90,,",
        f"..\\evil,,{base}/NEF/{good},,,Nikon D90,,",
        f"sub/evil,,{base}/NEF/{good},,,Nikon D90,,",
        f",,{base}/NEF/..%2F..%2Fevil.NEF,,,Nikon D90,,",  # no File: the name comes from the address
    ]
    out = tmp_path / "deep" / "raw"
    report = fetch_raise(make_csv(names=[good], extra_rows=evil), out, config=FAST)
    assert [p.line for p in report.problems] == [3, 4, 5, 6, 7]
    assert all("unsafe file name" in p.reason for p in report.problems)
    assert [r.name for r in report.fetched] == [good]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.parent != tmp_path) == sorted(
        [good, LEDGER_NAME]
    )
    assert len(state.requests) == 1  # only the good row reached the server


def test_only_http_and_https_addresses_are_fetched(make_csv, raw_bodies, tmp_path):
    rows = ["rbad01,,file:///etc/passwd,,,Nikon D90,,", "rbad02,,ftp://example.org/a.NEF,,,Nikon D90,,"]
    report = fetch_raise(make_csv(names=[], extra_rows=rows), tmp_path / "raw", config=FAST)
    assert [p.line for p in report.problems] == [2, 3]
    assert all("only http:// and https://" in p.reason for p in report.problems)
    assert not report.fetched and not report.failed


def test_a_rerun_fetches_nothing_new(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    csv, out = make_csv(), tmp_path / "raw"
    first = fetch_raise(csv, out, jobs=2, config=FAST)
    ledger_before = (out / LEDGER_NAME).read_bytes()
    n_requests = len(state.requests)
    second = fetch_raise(csv, out, jobs=2, config=FAST)
    assert len(state.requests) == n_requests  # the server saw nothing
    assert not second.fetched and sorted(r.name for r in second.skipped) == sorted(
        r.name for r in first.fetched
    )
    assert second.paths == first.paths
    assert pq.read_table(out / LEDGER_NAME).equals(
        pq.read_table(_write(tmp_path / "before.parquet", ledger_before))
    )


def test_a_rerun_fetches_only_what_is_missing_or_changed(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    csv, out = make_csv(), tmp_path / "raw"
    fetch_raise(csv, out, config=FAST)
    gone, corrupt = sorted(raw_bodies)[:2]
    (out / gone).unlink()
    data = bytearray((out / corrupt).read_bytes())
    data[-1] ^= 0xFF  # same size, different bytes: only --recheck notices
    (out / corrupt).write_bytes(bytes(data))
    n_requests = len(state.requests)
    again = fetch_raise(csv, out, config=FAST)
    assert [r.name for r in again.fetched] == [gone] and len(state.requests) == n_requests + 1
    rechecked = fetch_raise(csv, out, config=FetchConfig(policy=FAST.policy, recheck=True))
    assert [r.name for r in rechecked.fetched] == [corrupt]
    assert (out / corrupt).read_bytes() == raw_bodies[corrupt]


def test_a_failed_file_is_tried_again_on_the_next_run(make_csv, raise_server, raw_bodies, tmp_path):
    _, state = raise_server
    name = sorted(raw_bodies)[0]
    state.faults[f"/NEF/{name}"] = ["404"]
    csv, out = make_csv(names=[name]), tmp_path / "raw"
    assert not fetch_raise(csv, out, config=FAST).ok
    again = fetch_raise(csv, out, config=FAST)
    assert again.ok and [r.name for r in again.fetched] == [name]


def test_limit_takes_the_first_entries_of_the_list(make_csv, raw_bodies, tmp_path):
    report = fetch_raise(make_csv(), tmp_path / "raw", limit=2, config=FAST)
    assert [p.name for p in report.paths] == sorted(raw_bodies)[:2]


def test_url_rewrites_point_a_moved_host_at_its_new_address(make_csv, raise_server, raw_bodies, tmp_path):
    base, _ = raise_server
    names = sorted(raw_bodies)[:1]
    csv = make_csv(names=[])
    csv.write_text(csv.read_text() + f"r0000xx,,http://old.invalid/RAISE/NEF/{names[0]},,,Nikon D90,,\n")
    config = FetchConfig(policy=FAST.policy, url_rewrites=(("http://old.invalid/RAISE/", base + "/"),))
    report = fetch_raise(csv, tmp_path / "raw", config=config)
    assert report.ok and report.fetched[0].url == f"{base}/NEF/{names[0]}"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_backoff_doubles_honours_retry_after_and_is_capped():
    policy = RetryPolicy(backoff_s=1.0, max_backoff_s=10.0)
    assert [policy.delay(a) for a in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert policy.delay(0, retry_after=5) == 5.0 and policy.delay(0, retry_after=120) == 10.0


def test_an_interrupted_run_keeps_its_ledger_and_the_next_run_finishes(
    make_csv, raise_server, raw_bodies, tmp_path
):
    _, state = raise_server
    csv, out = make_csv(), tmp_path / "raw"

    def interrupt(row, done, total):  # stands in for Ctrl-C after the first file
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch_raise(csv, out, jobs=1, config=FAST, progress=interrupt)
    rows = pq.read_table(out / LEDGER_NAME).to_pylist()
    assert len(rows) == 1 and rows[0]["status"] == "ok"  # written on the way out
    n_requests = len(state.requests)
    again = fetch_raise(csv, out, jobs=2, config=FAST)
    assert again.ok and len(again.skipped) == 1 and len(again.fetched) == len(raw_bodies) - 1
    assert len(state.requests) - n_requests <= len(raw_bodies) - 1  # nothing fetched twice in this run


def test_a_cancelled_download_makes_no_request_and_keeps_the_part(raise_server, raw_bodies, tmp_path):
    base, state = raise_server
    name = sorted(raw_bodies)[0]
    (tmp_path / f"{name}.part").write_bytes(b"II*\x00")
    cancel = threading.Event()
    cancel.set()
    with httpx.Client() as client, pytest.raises(DownloadCancelled):
        download_file(client, f"{base}/NEF/{name}", tmp_path / name, FAST.policy, cancel)
    assert state.requests == [] and (tmp_path / f"{name}.part").read_bytes() == b"II*\x00"


@pytest.mark.parametrize("jobs, limit", [(0, None), (1, -1)])
def test_bad_jobs_or_limit_are_refused(make_csv, tmp_path, jobs, limit):
    with pytest.raises(ValueError, match="jobs >= 1 and limit >= 0"):
        fetch_raise(make_csv(), tmp_path / "raw", jobs=jobs, limit=limit)
    assert not (tmp_path / "raw").exists()


def test_an_unusable_list_creates_no_output_folder(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("File,TIFF\nr1,http://x/r1.TIF\n")
    with pytest.raises(ValueError, match="no download-address column"):
        fetch_raise(bad, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()
