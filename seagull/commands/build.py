"""`seagull build`: the SEAGULL-100w build (the `seagull-100w` Prefect flow) from the command line.

Every option is checked here, before Prefect is imported or a server started: a bad value is a usage
error (exit 2) naming the allowed choices, within the time it takes to import the registries.
"""

from __future__ import annotations

import os
import re
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


MIN_SIZE = 64  # the smallest working size the build accepts (BuildConfig checks the same)
DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")


class SizeType(click.ParamType):
    """The working long side: an integer >= MIN_SIZE, or 'full'."""

    name = "PX|full"

    def convert(self, value, param, ctx):  # noqa: ANN001 - click's signature
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() == "full":
            return None
        if not str(value).strip().isdigit() or int(value) < MIN_SIZE:
            self.fail(f"{value!r}: give the long side in pixels (>= {MIN_SIZE}) or 'full'", param, ctx)
        return int(value)


def check_registry_names(config) -> None:  # noqa: ANN001 - a BuildConfig
    """Unknown registry names are usage errors listing the names available here."""
    if config.segmenter is None and config.detector is None and config.metric is None:
        return  # the defaults: nothing to import
    from pipeline.build_config import unknown_registry_names  # light: no torch, no pyiqa

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
@click.option("--sample", type=click.IntRange(1, 8), help="Build from N (1..8) embedded sample DNG files.")
@click.option("--raw-dir", type=click.Path(file_okay=False), help="Build from the RAW files in DIR.")
@click.option(
    "--raise-csv", type=click.Path(dir_okay=False), help="Fetch the RAW files of a RAISE CSV, then build."
)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder of the shards.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N RAW files (sorted by name).")
@click.option("--types", type=_csv(str), help="Distortion types, e.g. blur,noise (default: all six).")
@click.option("--levels", type=_csv(int), help="Levels 1..20, e.g. 1,10,20 (default: all twenty).")
@click.option(
    "--size",
    default="1024",
    show_default=True,
    type=SizeType(),
    help="Working long side in px (>= 64), or 'full'.",
)
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
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    help="Torch device of segmenter/detector/metric (cpu, cuda, cuda:N).",
)
@click.option(
    "--work-dir", type=click.Path(file_okay=False), help="Sample/fetched RAW files [OUT.seagull-build/work]."
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="Chunks built at once (each ~2 GB at 1,024 px) [default: the cores; with --dask-address: no limit].",
)
@click.option("--dask-address", help="Run the chunks on an existing Dask scheduler, e.g. tcp://host:8786.")
def command(sample, raw_dir, raise_csv, workers, dask_address, **options) -> None:  # noqa: ANN001
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
    check_options(sources[0], options)
    check_dask(dask_address)
    ensure_prefect_env()
    from flows.build_100w import build_100w, with_task_runner

    flow = with_task_runner(build_100w, workers=workers, dask_address=dask_address)
    # With Dask and no --workers, the cluster's size bounds the chunks at once (0: no window here).
    window = workers if workers is not None else (0 if dask_address else None)
    state = flow(source=sources[0], **options, workers=window, return_state=True)
    if not state.is_completed():
        click.secho(f"build failed: {state.message}", fg="red", err=True)
        sys.exit(1)
    report = state.result()
    click.secho(
        f"done: {report['references']['written']} references in {len(report['shards'])} shards", fg="green"
    )
    click.secho(f"dataset card: {report['card']}", fg="green", bold=True)


def check_options(source: str, options: dict) -> None:
    """Every value the flow would reject, as a usage error before Prefect starts."""
    from pipeline.build_config import BuildConfig

    for name in ("types", "levels"):
        if options[name] is not None and not options[name]:
            raise click.BadParameter("give at least one value", param_hint=f"--{name}")
    if not DEVICE.fullmatch(options["device"]):
        raise click.BadParameter(
            f"{options['device']!r}: use cpu, cuda, cuda:N or mps", param_hint="--device"
        )
    try:
        config = BuildConfig.from_json({"source": source, **options})
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    check_registry_names(config)
