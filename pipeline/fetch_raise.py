"""RAISE ingest stage (the name ARCHITECTURE.md gives it); the code lives in `pipeline.fetch`.

from pipeline.fetch_raise import fetch_raise
report = fetch_raise("RAISE_1k.csv", "raw/", jobs=4)   # -> FetchReport; report.paths = verified RAWs
"""

from pipeline.fetch.download import RetryPolicy
from pipeline.fetch.run import FetchConfig, FetchReport, Progress, fetch_raise

__all__ = ["FetchConfig", "FetchReport", "Progress", "RetryPolicy", "fetch_raise"]
