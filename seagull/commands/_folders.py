"""Folder options of the stage commands, named as `seagull build` names them (`--raw-dir`, `--out`).

The positional folders of earlier releases (`seagull render RAW_DIR OUT_DIR`) still work for one
release, with a deprecation warning; giving both spellings is a usage error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def folder_option(name: str, old: str, help: str, exists: bool = False) -> Callable[[Any], Any]:
    """`--name DIR` plus the deprecated positional `OLD`; read both back with `pick_folder`."""
    kind = click.Path(file_okay=False, exists=exists, path_type=Path)
    dest = name.replace("-", "_")

    def decorate(command: Any) -> Any:
        command = click.option(f"--{name}", dest, type=kind, metavar="DIR", help=help)(command)
        return click.argument(f"old_{dest}", metavar=f"[{old}]", required=False, type=kind)(command)

    return decorate


def pick_folder(value: Path | None, old_value: Path | None, name: str, old: str) -> Path:
    """The folder given as `--name`, or as the deprecated positional `old` (with a warning)."""
    if value is not None and old_value is not None:
        raise click.UsageError(
            f"give --{name} only ({old}, the positional form, is its deprecated old spelling)"
        )
    if old_value is not None:
        click.secho(
            f"DeprecationWarning: the positional {old} is deprecated and goes in the next release; "
            f"use --{name} {old}",
            fg="yellow",
            err=True,
        )
        return old_value
    if value is None:
        raise click.UsageError(f"Missing option '--{name}'")
    return value
