"""`seagull sample OUT [-n 8]`: write the embedded sample of Bayer-mosaic DNG files."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_CACHE = Path.home() / ".cache" / "seagull" / "sample"


@click.command("sample")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("-n", "n", default=8, show_default=True, type=click.IntRange(1, 8), help="How many DNG files.")
@click.option("--seed", default=0, show_default=True, help="Seed of the as-shot white balance of each file.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Generated files are kept here under a content hash.",
)
@click.option("--no-cache", is_flag=True, help="Always generate, never read or write the cache.")
def command(out: Path, n: int, seed: int, cache_dir: Path, no_cache: bool) -> None:
    """Write N DNG files (RGGB, 14-bit, camera matrix, as-shot neutral) made from real photographs.

    \b
    seagull sample raw/ && seagull render raw/ out/
    """
    from pipeline.sample import write_sample

    paths = write_sample(out, n=n, seed=seed, cache_dir=None if no_cache else cache_dir)
    for path in paths:
        click.echo(str(path))
