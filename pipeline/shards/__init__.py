"""WebDataset shards of SEAGULL-100w: sample format, writer, manifest, dataset card, loader, verify.

The build calls `write_chunk` once per chunk of references (skipping chunks for which
`chunk_is_done`), then `finalize`. Users read shards with `pipeline.shards.loader.roi_dataset`.
See docs/shards.md.

The writer's names are imported on first use, so that `pipeline.shards.loader` (what a consumer
imports, with only the `loader` extra installed) does not pull in the writer's matplotlib and pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "RefGroup": "pipeline.shards.format",
    "reference_key": "pipeline.shards.format",
    "ShardConfig": "pipeline.shards.writer",
    "ShardStats": "pipeline.shards.writer",
    "chunk_is_done": "pipeline.shards.writer",
    "finalize": "pipeline.shards.writer",
    "list_stats": "pipeline.shards.writer",
    "shard_name": "pipeline.shards.writer",
    "write_chunk": "pipeline.shards.writer",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
