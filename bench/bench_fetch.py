"""Benchmark of the RAISE ingest over loopback: throughput at 1 and N jobs, verification cost, re-run.

Serves NEF-sized DNGs (16-bit, 2000 x 3008 = 12 MB, the size of a RAISE NEF) with `python -m
http.server` in its own process (so it does not share our GIL), fetches them with `fetch_raise`, and writes OUT/fetch.json. Loopback hides the
network, so the figures bound our own overhead (hashing, LibRaw decode of the raw data, ledger); the
real fetch is limited by the RAISE server's bandwidth. Verification is compared with one full
`postprocess` of the same file, in the same run.

    python bench/bench_fetch.py --out bench/results [--files 8] [--jobs 4]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import rawpy

from pipeline.fetch import FetchConfig, fetch_raise
from pipeline.fetch.verify import sha256_file, verify_raw
from pipeline.sample import SampleConfig, write_dng

NEF_SHAPE = (2000, 3008)  # 16-bit samples -> 12 MB, a typical RAISE NEF size


@contextmanager
def http_server(folder: Path):
    """Serve `folder` on a free loopback port from a child process; yields the base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_until_up(base: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(base + "/", timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def make_files(folder: Path, n: int) -> list[str]:
    """Write `n` NEF-sized DNGs named r<i>.NEF into `folder/NEF`; return their names."""
    (folder / "NEF").mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = []
    for i in range(n):
        mosaic = rng.integers(600, 16000, NEF_SHAPE, dtype=np.uint16)
        dng = write_dng(folder / "NEF" / f"r{i:04d}.dng", mosaic, np.array([2.0, 1.0, 1.5]), SampleConfig())
        dng.rename(dng.with_suffix(".NEF"))
        names.append(f"r{i:04d}.NEF")
    return names


def write_list(path: Path, base: str, names: list[str]) -> Path:
    rows = ["File,TIFF,NEF,Device"] + [f"{n[:-4]},,{base}/NEF/{n},Nikon D90" for n in names]
    path.write_text("\n".join(rows) + "\n")
    return path


def timed_fetch(csv: Path, out: Path, jobs: int) -> tuple[float, int]:
    start = time.perf_counter()
    report = fetch_raise(csv, out, jobs=jobs, config=FetchConfig())
    seconds = time.perf_counter() - start
    assert report.ok, report.summary()
    return seconds, sum(r.bytes for r in report.fetched)


def run(out_dir: Path, n_files: int, jobs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        names = make_files(tmp / "server", n_files)
        with http_server(tmp / "server") as base:
            csv = write_list(tmp / "RAISE_bench.csv", base, names)
            one_s, total = timed_fetch(csv, tmp / "one", 1)
            many_s, _ = timed_fetch(csv, tmp / "many", jobs)
            rerun_s, _ = timed_fetch(csv, tmp / "many", jobs)
            sample = tmp / "one" / names[0]
            verify_s = _best_of(3, lambda: verify_raw(sample))
            sha_s = _best_of(3, lambda: sha256_file(sample))
            postprocess_s = _best_of(3, lambda: _postprocess(sample))
    mb = total / 1e6
    return {
        "files": n_files,
        "mb_per_file": round(mb / n_files, 2),
        "jobs": jobs,
        "mb_per_s_1_job": round(mb / one_s, 1),
        f"mb_per_s_{jobs}_jobs": round(mb / many_s, 1),
        "speedup_jobs_vs_1": round(one_s / many_s, 2),
        "verify_ms_per_file": round(verify_s * 1e3, 1),
        "sha256_share_of_verify": round(sha_s / verify_s, 2),
        "postprocess_ms_per_file": round(postprocess_s * 1e3, 1),
        # verification decodes all raw data (LibRaw unpack) + sha256; must stay below one postprocess
        "verify_vs_postprocess_ratio": round(verify_s / postprocess_s, 3),
        "rerun_ms_nothing_new": round(rerun_s * 1e3, 1),
        "rerun_vs_fetch_ratio": round(rerun_s / many_s, 4),
        "note": "loopback: bounds local overhead only; a real fetch is limited by the RAISE server",
    }


def _postprocess(path: Path) -> None:
    """One full LibRaw development (unpack, demosaic, colour), the cost verification must stay under."""
    with rawpy.imread(str(path)) as raw:
        raw.postprocess()


def _best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for fetch.json")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    result = run(args.out, args.files, args.jobs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fetch.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
