"""What a stage command's run reports: one record per failure and one JSON report per folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.atomic_io import write_text_atomic

BUG_FIX = "report this as a bug with the file"


def failure(path: Path | str, reason: str, fix: str) -> dict[str, str]:
    """One failure record: which input, what went wrong, what the user can do about it."""
    return {"path": str(path), "reason": reason, "fix": fix}


def unexpected(path: Path | str, error: BaseException) -> dict[str, str]:
    """The record of an error no check anticipated: its type and message, reported as a bug."""
    return failure(path, f"{type(error).__name__}: {error}", BUG_FIX)


@dataclass
class FolderRun:
    """One stage command's run over a folder.

    Attributes:
        report_name: the report file, e.g. ``render_report.json``.
        done_key: the report key and summary verb of the finished inputs, e.g. ``rendered``.
        noun: what an input is, for the summary line (``file``, ``image``, ``reference``).
        settings: what the command was asked to do (input folders, options), written first.
        done: the finished inputs (paths or ids).
        failed: `failure` records.
    """

    report_name: str
    done_key: str
    noun: str
    settings: dict[str, Any]
    done: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def write_report(out_dir: Path | str, run: FolderRun) -> Path:
    """Write ``out_dir/<report_name>``: the settings, the finished inputs and ``failed``; returns it."""
    path = Path(out_dir) / run.report_name
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {**run.settings, run.done_key: run.done, "failed": run.failed}
    write_text_atomic(path, json.dumps(report, indent=2) + "\n")
    return path
