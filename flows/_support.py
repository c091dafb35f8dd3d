"""Helpers of the build flow that touch the process (threads, printing) or other stages' entry points."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.build_config import BuildConfig


def announce(config: BuildConfig, say: Callable[[str], None]) -> None:
    """Say loudly which models make the masks and labels, and whether they run without weights."""
    rows = [
        ("segmenter", config.segmenter, config.checkpoint),
        ("detector", config.detector, config.detector_weights),
        ("metric", config.metric, config.metric_weights),
    ]
    say("=" * 78)
    for role, name, weights in rows:
        if name is None:
            continue
        where = (
            f"weights {weights}"
            if weights
            else "NO WEIGHTS GIVEN: weight-free component, labels are not the paper's"
        )
        say(f"  {role:9s} {name:22s} {where}")
    say(f"  source    {config.source}  ->  {Path(config.out).resolve()}")
    say("=" * 78)


def one_thread_per_chunk() -> None:
    """Pin torch to one thread: parallelism comes from chunks, and float results (labels) then do not
    depend on a worker's core count, so in-process and Dask builds give the same bytes."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def fetch_raise_files(config: BuildConfig) -> tuple[list[str], list[dict[str, str]]]:
    """Fetch the RAW files of a RAISE CSV into `<work>/raise` (resumable, verified; docs/raise.md).

    Returns:
        (paths, failures): the target path of EVERY listed entry (so that chunks do not shift when a
        file fails to download; its chunk records it missing and is rebuilt once it is there), and one
        failure record per file that failed to download or CSV row that was skipped.
    """
    from pipeline.decode import ref_id_of
    from pipeline.fetch import fetch_raise

    folder = config.work_path / "raise"
    report = fetch_raise(config.source, folder, limit=config.limit)
    failures = [
        {"path": row.url, "ref_id": ref_id_of(row.name), "stage": "fetch", "error": str(row.error)}
        for row in report.failed
    ]
    failures += [
        {"path": f"{config.source}:{p.line}", "ref_id": "", "stage": "csv", "error": p.reason}
        for p in report.problems
    ]
    return sorted(str(folder / entry.name) for entry in report.entries), failures
