"""`seagull build`: the SEAGULL-100w build (the `seagull-100w` Prefect flow) from the command line."""

from __future__ import annotations

import sys

import click

from seagull.commands._prefect_env import ensure_prefect_env


def _csv(kind: type) -> click.ParamType:
    class CommaList(click.ParamType):
        name = f"{kind.__name__},..."

        def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
            if isinstance(value, list):
                return value
            try:
                return [kind(v.strip()) for v in value.split(",") if v.strip()]
            except ValueError:
                self.fail(f"{value!r} is not a comma-separated list of {kind.__name__}", param, ctx)

    return CommaList()


@click.command("build")
@click.option("--sample", type=click.IntRange(1), help="Build from N embedded sample DNG files.")
@click.option("--raw-dir", type=click.Path(file_okay=False), help="Build from the RAW files in DIR.")
@click.option(
    "--raise-csv", type=click.Path(dir_okay=False), help="Fetch the RAW files of a RAISE CSV, then build."
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder of the shards.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N RAW files (sorted by name).")
@click.option("--types", type=_csv(str), help="Distortion types, e.g. blur,noise (default: all six).")
@click.option("--levels", type=_csv(int), help="Levels 1..20, e.g. 1,10,20 (default: all twenty).")
@click.option("--size", default="1024", show_default=True, help="Working long side in px, or 'full'.")
@click.option("--segmenter", help="Segmenter registry name (default: the weight-free default).")
@click.option(
    "--checkpoint", type=click.Path(dir_okay=False, exists=True), help="Segmenter weights (SAM .pth)."
)
@click.option("--detector", help="Detector registry name.")
@click.option("--detector-weights", type=click.Path(dir_okay=False, exists=True), help="Detector weights.")
@click.option("--metric", help="Full-reference metric registry name (default: the weight-free default).")
@click.option(
    "--metric-weights", type=click.Path(dir_okay=False, exists=True), help="Metric weights (TOPIQ-FR .pth)."
)
@click.option(
    "--chunk-size",
    default=8,
    show_default=True,
    type=click.IntRange(1),
    help="References per task and per shard (8 ≈ 1 GB at 1,024 px).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Base seed of the build.")
@click.option("--device", default="cpu", show_default=True, help="Torch device of segmenter/detector/metric.")
@click.option(
    "--work-dir", type=click.Path(file_okay=False), help="Where sample/fetched RAW files go [OUT/_work]."
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1),
    help="Chunks built at once in-process (ignored with --dask-address).",
)
@click.option("--dask-address", help="Run the chunks on an existing Dask scheduler, e.g. tcp://host:8786.")
def command(sample, raw_dir, raise_csv, workers, dask_address, **options) -> None:  # noqa: ANN001
    """Build SEAGULL-100w WebDataset shards: render → masks → labels → shards, one task per chunk.

    \b
    seagull build --sample 8 --out shards
    seagull build --raw-dir RAW/ --out shards --types blur,noise --levels 1,10,20
    seagull build --raw-dir RAW/ --out shards --dask-address tcp://scheduler:8786

    Re-running skips finished chunks. Exit status 1 when any RAW file or chunk failed
    (see OUT/build_report.json).
    """
    sources = [s for s in (sample and f"sample:{sample}", raw_dir, raise_csv) if s]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of --sample N, --raw-dir DIR, --raise-csv CSV")
    options["size"] = None if str(options["size"]).lower() == "full" else int(options["size"])
    ensure_prefect_env()
    from flows.build_100w import build_100w, with_task_runner

    flow = with_task_runner(build_100w, workers=workers, dask_address=dask_address)
    state = flow(source=sources[0], **options, return_state=True)
    if not state.is_completed():
        click.secho(f"build failed: {state.message}", fg="red", err=True)
        sys.exit(1)
    report = state.result()
    click.secho(
        f"done: {report['references']['written']} references in {len(report['shards'])} shards", fg="green"
    )
    click.secho(f"dataset card: {report['card']}", fg="green", bold=True)
