"""How the stage commands (`seagull render`, `masks`, `label`) end: one behaviour.

Each writes ``OUT/<command>_report.json`` (`pipeline.stage_runs.write_report`: its settings, the inputs
it finished under a key of its own, e.g. ``rendered``, and ``failed``, a list of ``{"path", "reason",
"fix"}`` records), prints one ``FAILED`` line per failure and a summary line, and exits with status 1
when anything failed: status 0 means all that was asked for was done.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.stage_runs.common import FolderRun, write_report


def finish(out_dir: Path, run: FolderRun) -> None:
    """Write the run's report, print its failures and a summary; exit 1 if anything failed.

    Raises:
        SystemExit: status 1 when `run.failed` is not empty.
    """
    path = write_report(out_dir, run)
    for record in run.failed:
        click.echo(f"FAILED {record['path']}: {record['reason']}. Fix: {record['fix']}", err=True)
    click.echo(f"{run.done_key} {len(run.done)} {run.noun}(s), {len(run.failed)} failed; report: {path}")
    if run.failed:
        raise SystemExit(1)
