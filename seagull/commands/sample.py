"""`seagull sample OUT [-n 8]`: write the embedded sample of Bayer-mosaic DNG files."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.sample import SAMPLE_PHOTOS

DEFAULT_CACHE = Path.home() / ".cache" / "seagull" / "sample"


@click.command("sample")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-n",
    "n",
    default=8,
    show_default=True,
    type=click.IntRange(1, len(SAMPLE_PHOTOS)),
    help=f"How many DNG files (1..{len(SAMPLE_PHOTOS)}, the photographs in order).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the as-shot white balance of each file.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CACHE,
    show_default=True,
    help="Generated files are kept here under a content hash.",
)
@click.option("--no-cache", is_flag=True, help="Always generate, never read or write the cache.")
@click.option(
    "--cfa",
    type=click.Choice(["RGGB", "BGGR", "GRBG", "GBRG"]),
    default="RGGB",
    show_default=True,
    help="Bayer order of the simulated sensor.",
)
@click.option(
    "--orientation",
    type=click.Choice(["1", "3", "6", "8"]),
    default="1",
    show_default=True,
    help="EXIF orientation tag (6, 8: portrait).",
)
def command(
    out: Path, n: int, seed: int, cache_dir: Path, no_cache: bool, cfa: str, orientation: str
) -> None:
    """Write N DNG files (14-bit, camera matrix, as-shot neutral) made from real photographs.

    \b
    seagull sample raw/ && seagull render --raw-dir raw/ --out out/
    seagull sample raw/ --cfa BGGR --orientation 6     # a Nikon-like order, portrait frames
    """
    from pipeline.sample import SampleConfig, write_sample

    config = SampleConfig(cfa=cfa, orientation=int(orientation))
    paths = write_sample(out, n=n, seed=seed, cache_dir=None if no_cache else cache_dir, config=config)
    for path in paths:
        click.echo(str(path))
