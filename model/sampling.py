"""Which items a run reads and in what order: seeded shuffles, the split by image, stratified draws.

Everything here is a pure function of its arguments (the seed and epoch included), so a run that
is killed and restarted sees the same order and can skip the items it already consumed:
- `rank_shards`: the shards of one process (DDP rank r reads every world-th shard), reshuffled
  each epoch from (seed, epoch);
- `buffer_shuffle`: webdataset-style shuffle buffer with its own `random.Random`;
- `split_filter`: keep the samples of one split (pipeline/split.py; shards written before the split
  was recorded fall back to `split_of(ref_id)`, the same function the writer uses);
- `stratified_order`: an order of ROIs dealt round-robin over images, then types, then levels, so
  that the first N of it covers images, types and levels as evenly as N allows.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from pipeline.split import SPLITS, split_of

T = TypeVar("T")
ALL_SPLITS = "all"


def epoch_rng(seed: int, epoch: int, what: str) -> random.Random:
    """A random source for one purpose of one epoch (string seeds hash the same on every run)."""
    return random.Random(f"{seed}/{epoch}/{what}")


def buffer_shuffle(stream: Iterable[T], size: int, rng: random.Random) -> Iterator[T]:
    """Shuffle a stream through a buffer of `size` elements (size <= 1: the stream unchanged).

    Each incoming element replaces a random one of a full buffer, which is yielded; the rest is
    drained in random order at the end. Memory: `size` elements.
    """
    if size <= 1:
        yield from stream
        return
    buffer: list[T] = []
    for element in stream:
        if len(buffer) < size:
            buffer.append(element)
            continue
        index = rng.randrange(size)
        buffer[index], element = element, buffer[index]
        yield element
    rng.shuffle(buffer)
    yield from buffer


def rank_shards(
    urls: Sequence[str], rank: int, world: int, seed: int, epoch: int, shuffle: bool
) -> list[str]:
    """The shards process `rank` of `world` reads in `epoch`: every world-th of the sorted list
    (fixed over epochs, so every rank's epoch has the same length each time), in a seeded order.

    Raises:
        ValueError: fewer shards than processes.
    """
    if len(urls) < world:
        raise ValueError(
            f"{len(urls)} shards for {world} processes: each process reads its own shards; "
            "write more, smaller shards or use fewer processes"
        )
    mine = sorted(urls)[rank::world]
    if shuffle:
        epoch_rng(seed, epoch, "shards").shuffle(mine)
    return mine


def sample_split(record: dict[str, Any], test_fraction: float) -> str:
    """The split recorded in a sample's JSON, or the one `split_of` gives its reference id."""
    return record.get("split") or split_of(record["ref_id"], test_fraction)


def check_split(split: str) -> str:
    if split not in (*SPLITS, ALL_SPLITS):
        raise ValueError(f"split must be one of {(*SPLITS, ALL_SPLITS)}, got {split!r}")
    return split


def split_filter(
    samples: Iterable[dict[str, Any]],
    split: str,
    record_of: Callable[[dict[str, Any]], dict[str, Any]],
    test_fraction: float,
) -> Iterator[dict[str, Any]]:
    """The samples of `split` ("train", "test" or "all")."""
    check_split(split)
    for sample in samples:
        if split == ALL_SPLITS or sample_split(record_of(sample), test_fraction) == split:
            yield sample


def stratified_order(
    entries: Sequence[T], keys: Sequence[Callable[[T], Hashable]], rng: random.Random
) -> list[T]:
    """`entries` dealt round-robin by keys[0], within each group by keys[1], and so on.

    Example: keys (image, type, level) -> the first N entries of the result take one ROI of each
    image in turn, within an image one type after the other, within a type one level after the
    other; groups and the members of the last level are in a seeded random order.
    """
    if not keys:
        shuffled = list(entries)
        rng.shuffle(shuffled)
        return shuffled
    groups: dict[Hashable, list[T]] = defaultdict(list)
    for entry in entries:
        groups[keys[0](entry)].append(entry)
    names = sorted(groups, key=str)
    rng.shuffle(names)
    dealt = [stratified_order(groups[name], keys[1:], rng) for name in names]
    return [group[i] for i in range(max(map(len, dealt), default=0)) for group in dealt if i < len(group)]
