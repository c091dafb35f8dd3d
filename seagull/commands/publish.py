"""`seagull publish SHARD_DIR OUT`: a folder with only what consumers need, loadable and pushable as is."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.shards.publish import publish


@click.command("publish")
@click.argument("shard_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--link", is_flag=True, help="Hard-link the files instead of copying them (same file system only)."
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def command(shard_dir: Path, out: Path, link: bool, quiet: bool) -> None:
    """Copy the tars, their stats, manifest.parquet, the dataset card and its figures from the build
    folder SHARD_DIR into the new folder OUT, checking each tar's sha256; build state (work files,
    chunk records, manifest parts, build report) stays behind. OUT loads with
    `datasets.load_dataset(OUT)` and can be pushed to the Hugging Face Hub as it is.

    \b
    seagull publish shards/ release/
    hf upload USER/seagull-100w release/ --repo-type dataset
    """
    try:
        files = publish(shard_dir, out, link=link)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if not quiet:
        click.echo(f"published {len(files)} files into {out}")
