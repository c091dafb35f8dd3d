"""Helpers of the RAISE ingest (`pipeline.fetch_raise.fetch_raise` is the entry point).

- `raise_csv`: read a RAISE CSV list into safe entries, malformed rows reported by line number;
- `download`: one file over HTTP(S) with retries, backoff, Range resume and size checks;
- `verify`: magic bytes + LibRaw open, sha256, camera model and dimensions;
- `ledger`: the parquet record of what was fetched, so a re-run skips it.
"""
