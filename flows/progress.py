"""The progress bars of the builds running in this process, by a run-local id.

A chunk task running in one of this process's threads counts each reference it finishes on its
build's bar. The bar itself cannot be a task parameter (Dask would have to pickle it, and a worker could
not reach this terminal anyway), so tasks get the bar's id and look it up here; on a Dask worker the
lookup finds nothing and the flow moves the bar when the chunk ends. The table lives in this module, not
in the flow's, so that pickling a task (by value, as Dask does) never drags a bar along.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_COUNTERS: dict[str, Callable[[int], None]] = {}


@contextmanager
def chunk_counter(bar: Any, sizes: dict[int, int]) -> Iterator[tuple[str, Callable[..., None]]]:
    """(id, count) for `bar` while the block runs: `count(chunk_index, until=1)` moves the bar by the
    chunk's references not counted yet, `until` at most (a retried chunk reports its references again;
    `until=sizes[index]` settles a chunk that ended)."""
    counted, lock, bar_id = Counter(), threading.Lock(), uuid.uuid4().hex

    def count(index: int, until: int = 1) -> None:
        with lock:
            step = min(until, sizes[index] - counted[index])
            counted[index] += step
            if step:
                bar.update(step)

    _COUNTERS[bar_id] = count
    try:
        yield bar_id, count
    finally:
        del _COUNTERS[bar_id]


def counter(bar_id: str | None) -> Callable[[int], None] | None:
    """The count function of bar `bar_id` in this process, or None (another process, or no bar)."""
    return _COUNTERS.get(bar_id) if bar_id else None
