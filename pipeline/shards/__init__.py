"""WebDataset shards of SEAGULL-100w: sample format, writer, manifest, dataset card, loader, verify.

The build calls `write_chunk` once per chunk of references (skipping chunks for which
`chunk_is_done`), then `finalize`. Users read shards with `pipeline.shards.loader.roi_dataset`.
See docs/shards.md.
"""

from pipeline.shards.format import RefGroup, reference_key
from pipeline.shards.writer import (
    ShardConfig,
    ShardStats,
    chunk_is_done,
    finalize,
    list_stats,
    shard_name,
    write_chunk,
)

__all__ = [
    "RefGroup",
    "ShardConfig",
    "ShardStats",
    "chunk_is_done",
    "finalize",
    "list_stats",
    "reference_key",
    "shard_name",
    "write_chunk",
]
