"""RAISE ingest: `fetch_raise(csv_path, out_dir, jobs=4, limit=None, ...) -> FetchReport` (see docs/raise.md).

- `raise_csv`: read a RAISE CSV list into safe entries, malformed rows reported by line number;
- `download`: one file over HTTP(S) with retries, backoff, a per-file deadline, checked Range resume,
  size checks, and a `.part` that is only ever a plain file of its own;
- `verify`: magic bytes + LibRaw decode of all the raw data, sha256, camera model and dimensions;
- `ledger`: the parquet record of what was fetched, so a re-run skips it (an unreadable one is set aside);
- `run`: `fetch_raise`, which ties them together with a thread pool.
"""

from pipeline.fetch.run import FetchConfig, FetchReport, Progress, fetch_raise

__all__ = ["FetchConfig", "FetchReport", "Progress", "fetch_raise"]
