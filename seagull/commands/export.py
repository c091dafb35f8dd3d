"""`seagull export`: write a trained run in the authors' release layout (model/export.py)."""

from __future__ import annotations

from pathlib import Path

import click

from seagull.commands._options import run_dir_option


@click.command("export")
@run_dir_option
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the release files.")
def command(run_dir, out) -> None:  # noqa: ANN001
    """Write a trained run as the authors release SEAGULL-7B: LoRA adapter, non_lora_trainables.bin, config.json.

    \b
    seagull export --run runs/tiny-stage1 --out releases/tiny
    seagull assess photo.png --weights releases/tiny --mask roi.png
    """
    from model.export import export_run

    written = export_run(Path(run_dir), Path(out))
    click.echo(f"wrote {', '.join(written)} to {out}")
