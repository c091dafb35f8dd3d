"""The build report: what a build made, what failed and why, and where the time went.

Written to `build_report.json` in the folder's build state (`pipeline.build_state.report_path`,
`<out>.seagull-build/`) at the end of every build (also a failed one), from the chunks'
results. `ok` is False when any RAW file or any chunk failed; `seagull build` then exits non-zero.
A build that stops on an error of its own (listing the files, colliding ids, the final merge) writes
`error_report` instead: `ok` False and the `error`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.atomic_io import write_text_atomic
from pipeline.build_config import BuildConfig
from pipeline.build_state import report_path
from pipeline.chunk import STAGES, ChunkResult, ChunkSpec


class BuildFailed(RuntimeError):
    """Some RAW files or chunks failed; the report says which and why."""


def make_report(
    config: BuildConfig,
    chunks: list[ChunkSpec],
    results: list[ChunkResult],
    chunk_errors: dict[int, str],
    card: str | None,
    source_failures: list[dict[str, str]] = (),
) -> dict[str, Any]:
    """The report of a build as a JSON-ready dict.

    Args:
        config: the build's config (with registry defaults filled in).
        chunks: every chunk of the build.
        results: the finished chunks (built now or skipped as finished earlier).
        chunk_errors: chunk index -> error text, for chunks that failed after their retries.
        card: path of the dataset card, or None when no shard was made.
        source_failures: files that could not be fetched / CSV rows skipped ({path, ref_id, stage,
            error}); a file listed here is not listed again when its chunk then finds it missing.
    """
    failures = [dict(f) for f in source_failures]
    failed_ids = {f["ref_id"] for f in failures if f["ref_id"]}
    failures += [dict(f.__dict__) for r in results for f in r.failures if f.ref_id not in failed_ids]
    built = [r for r in results if not r.skipped]
    refs = sum(len(r.refs) for r in results)
    timings = {stage: round(sum(r.timings.get(stage, 0.0) for r in built), 3) for stage in STAGES}
    built_refs = sum(len(r.refs) for r in built)
    return {
        "ok": not failures and not chunk_errors,
        "config": config.to_json(),
        "fingerprint": config.fingerprint(),
        "chunks": {
            "total": len(chunks),
            "built": len(built),
            "skipped": len(results) - len(built),
            "failed": len(chunk_errors),
        },
        "references": {
            "total": sum(len(c.paths) for c in chunks),
            "written": refs,
            "failed": sum(len(c.paths) for c in chunks) - refs,
        },
        "failures": failures,
        "chunk_errors": [
            {"chunk": i, "paths": list(chunks_by_index(chunks)[i].paths), "error": e}
            for i, e in sorted(chunk_errors.items())
        ],
        "shards": [s for r in results for s in r.shards],
        "seconds_by_stage": timings,
        "seconds_per_reference": {s: round(t / built_refs, 3) for s, t in timings.items()}
        if built_refs
        else {},
        "card": card,
    }


def error_report(config: BuildConfig, error: BaseException) -> dict[str, Any]:
    """The report of a build that stopped on `error` before it could count its chunks."""
    return {
        "ok": False,
        "error": f"{type(error).__name__}: {error}",
        "config": config.to_json(),
        "fingerprint": config.fingerprint(),
        "chunks": None,
        "references": None,
        "failures": [],
        "chunk_errors": [],
        "shards": [],
        "card": None,
    }


def chunks_by_index(chunks: list[ChunkSpec]) -> dict[int, ChunkSpec]:
    return {c.index: c for c in chunks}


def write_report(out: str | Path, report: dict[str, Any]) -> Path:
    """Write the report atomically to `report_path(out)` and return its path."""
    path = report_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(report, indent=1) + "\n")
    return path


def summary(report: dict[str, Any]) -> str:
    """A few human lines: counts, failures, time per reference by stage, the card."""
    refs, chunks = report["references"], report["chunks"]
    lines = [
        f"references: {refs['written']}/{refs['total']} written, {refs['failed']} failed; "
        f"chunks: {chunks['built']} built, {chunks['skipped']} skipped (finished earlier), {chunks['failed']} failed",
    ]
    if report["seconds_per_reference"]:
        per_ref = ", ".join(f"{k} {v:.2f}" for k, v in report["seconds_per_reference"].items())
        lines.append(f"seconds per reference by stage: {per_ref}")
    for failure in report["failures"]:
        lines.append(f"FAILED {failure['path']} in {failure['stage']}: {failure['error']}")
    for error in report["chunk_errors"]:
        lines.append(f"FAILED chunk {error['chunk']} ({len(error['paths'])} files): {error['error']}")
    if report["card"]:
        lines.append(f"dataset card: {report['card']}")
    return "\n".join(lines)


def failure_message(report: dict[str, Any]) -> str:
    n_files, n_chunks = len(report["failures"]), len(report["chunk_errors"])
    return f"{n_files} RAW file(s) and {n_chunks} chunk(s) failed; see {report_path(report['config']['out'])}"
