"""RAISE ingest: `fetch_raise(csv_path, out_dir, jobs=4, limit=None, ...) -> FetchReport` (see docs/raise.md).

- `raise_csv`: read a RAISE CSV list into safe entries, malformed rows reported by line number;
- `download`: one file over HTTP(S) with retries, backoff, Range resume and size checks;
- `verify`: magic bytes + LibRaw open, sha256, camera model and dimensions;
- `ledger`: the parquet record of what was fetched, so a re-run skips it;
- `run`: `fetch_raise`, which ties them together with a thread pool.
"""

from pipeline.fetch.run import FetchConfig, FetchReport, Progress, fetch_raise

__all__ = ["FetchConfig", "FetchReport", "Progress", "fetch_raise"]
