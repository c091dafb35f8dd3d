"""The JSON failure report of the per-file commands (`seagull render`, `masks`, `label`): one behaviour.

Each command writes ``OUT_DIR/<command>_report.json``: its settings, the inputs it finished (under a
key of its own, e.g. ``rendered``) and ``failed``, a list of ``{"path", "reason", "fix"}`` records. It
then prints one ``FAILED`` line per failure and a summary line, and exits with status 1 when anything
failed: status 0 means all that was asked for was done.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pipeline.atomic_io import write_text_atomic

BUG_FIX = "report this as a bug with the file"


def failure(path: Path | str, reason: str, fix: str) -> dict[str, str]:
    """One failure record: which input, what went wrong, what the user can do about it."""
    return {"path": str(path), "reason": reason, "fix": fix}


def unexpected(path: Path | str, error: BaseException) -> dict[str, str]:
    """The record of an error no check anticipated: its type and message, reported as a bug."""
    return failure(path, f"{type(error).__name__}: {error}", BUG_FIX)


def finish(
    out_dir: Path,
    name: str,
    settings: dict[str, Any],
    done_key: str,
    done: list[str],
    failed: list[dict[str, str]],
    noun: str,
) -> None:
    """Write ``out_dir/name`` (JSON), print the failures and a summary; exit 1 if anything failed.

    Args:
        out_dir: the command's output folder (created if missing).
        name: report file name, e.g. ``render_report.json``.
        settings: what the command was asked to do (input folders, options), written first.
        done_key: the report key and summary verb of the finished inputs, e.g. ``rendered``.
        done: the finished inputs (paths or ids).
        failed: `failure` records.
        noun: what an input is, for the summary line (``file``, ``image``, ``reference``).

    Raises:
        SystemExit: status 1 when `failed` is not empty.
    """
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {**settings, done_key: done, "failed": failed}
    write_text_atomic(path, json.dumps(report, indent=2) + "\n")
    for record in failed:
        click.echo(f"FAILED {record['path']}: {record['reason']}. Fix: {record['fix']}", err=True)
    click.echo(f"{done_key} {len(done)} {noun}(s), {len(failed)} failed; report: {path}")
    if failed:
        raise SystemExit(1)
