"""`seagull build`: the SEAGULL-100w build (the `seagull-100w` Prefect flow) from the command line.

Every option is checked here, before Prefect is imported or a server started: a bad value is a usage
error (exit 2) naming the allowed choices, within the time it takes to import the registries.
"""

from __future__ import annotations

import os
import sys

import click

from pipeline.build_config import BuildConfig, unknown_registry_names
from pipeline.sample import SAMPLE_PHOTOS
from seagull.commands._build_options import config_options


def check_registry_names(config: BuildConfig) -> None:
    """Unknown registry names are usage errors listing the names available here."""
    for field, name, names in unknown_registry_names(config):
        raise click.BadParameter(
            f"unknown name {name!r}; choose one of: {', '.join(names)}", param_hint=f"--{field}"
        )


def check_dask(dask_address: str | None) -> None:
    """Dask workers must report to the flow's Prefect server: refuse to run without one."""
    if dask_address and not os.environ.get("PREFECT_API_URL"):
        raise click.UsageError(
            "--dask-address needs a Prefect server that the client and every worker report to; "
            "without one each worker starts a private server and the flow never sees its chunks. "
            "Start one and export its URL here and on every worker, e.g.\n"
            "  prefect server start --host 0.0.0.0 --port 4200      # on a host the workers can reach\n"
            "  export PREFECT_API_URL=http://SERVER_HOST:4200/api   # here and before `dask worker`\n"
            '(docs/build.md, "Dask")'
        )


@click.command("build")
@click.option(
    "--sample",
    type=click.IntRange(1, len(SAMPLE_PHOTOS)),
    help=f"Build from N (1..{len(SAMPLE_PHOTOS)}) embedded sample DNG files.",
)
@click.option("--raw-dir", type=click.Path(file_okay=False), help="Build from the RAW files in DIR.")
@click.option(
    "--raise-csv", type=click.Path(dir_okay=False), help="Fetch the RAW files of a RAISE CSV, then build."
)
@config_options  # --out, --limit, --types, ... --device: one per BuildConfig field, help and default from it
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="Chunks built at once (each ~2 GB at 1,024 px) [default: the cores; with --dask-address: no limit].",
)
@click.option("--dask-address", help="Run the chunks on an existing Dask scheduler, e.g. tcp://host:8786.")
def command(sample, raw_dir, raise_csv, workers, dask_address, **options) -> None:
    """Build SEAGULL-100w WebDataset shards: render → masks → labels → shards, one task per chunk.

    \b
    seagull build --sample 8 --out shards
    seagull build --raw-dir RAW/ --out shards --types blur,noise --levels 1,10,20
    seagull build --raw-dir RAW/ --out shards --dask-address tcp://scheduler:8786

    Re-running skips finished chunks. Exit status 1 when any RAW file or chunk failed
    (see OUT.seagull-build/build_report.json).
    """
    sources = [s for s in (sample and f"sample:{sample}", raw_dir, raise_csv) if s]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of --sample N, --raw-dir DIR, --raise-csv CSV")
    config = check_options(sources[0], options)
    check_dask(dask_address)
    from flows.build_100w import build_100w, with_task_runner

    flow = with_task_runner(build_100w, workers=workers, dask_address=dask_address)
    # With Dask and no --workers, the cluster's size bounds the chunks at once (0: no window here).
    window = workers if workers is not None else (0 if dask_address else None)
    state = flow(**config.to_json(), workers=window, return_state=True)
    if not state.is_completed():
        click.secho(f"build failed: {state.message}", fg="red", err=True)
        sys.exit(1)
    report = state.result()
    click.secho(
        f"done: {report['references']['written']} references in {len(report['shards'])} shards", fg="green"
    )
    click.secho(f"dataset card: {report['card']}", fg="green", bold=True)


def check_options(source: str, options: dict) -> BuildConfig:
    """The build's config; every value the flow would reject is a usage error before Prefect starts."""
    for name in ("types", "levels"):
        if options[name] is not None and not options[name]:
            raise click.BadParameter("give at least one value", param_hint=f"--{name}")
    try:
        config = BuildConfig(source=source, **options)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    check_registry_names(config)
    return config
