"""`seagull fetch-raise CSV OUT_DIR`: download the RAW files of a RAISE list, verified, with a ledger."""

from __future__ import annotations

from pathlib import Path

import click


def _parse_rewrite(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise click.BadParameter(
                f"{value!r}: expected OLD_PREFIX=NEW_PREFIX, e.g. http://old.host/=http://new.host/"
            )
        pairs.append((old, new))
    return tuple(pairs)


@click.command(name="fetch-raise")
@click.argument("csv_path", metavar="CSV", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--jobs", "-j", default=4, show_default=True, type=click.IntRange(1, 64), help="Parallel downloads."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N entries of the list.")
@click.option("--retries", default=5, show_default=True, type=click.IntRange(0), help="Retries per file.")
@click.option(
    "--timeout", default=60.0, show_default=True, type=click.FloatRange(1), help="Seconds per read."
)
@click.option(
    "--deadline",
    default=1800.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds per file, retries included; a slower file fails and resumes on the next run.",
)
@click.option(
    "--recheck", is_flag=True, help="Verify again (decode + sha256) the files the ledger says are done."
)
@click.option(
    "--rewrite",
    multiple=True,
    callback=_parse_rewrite,
    metavar="OLD=NEW",
    help="Replace an address prefix (a host that moved); repeatable.",
)
def command(
    csv_path: Path,
    out_dir: Path,
    jobs: int,
    limit: int | None,
    retries: int,
    timeout: float,
    deadline: float,
    recheck: bool,
    rewrite: tuple[tuple[str, str], ...],
) -> None:
    """Download the RAW (NEF) files listed in a RAISE CSV into OUT_DIR.

    Parallel, with retries, resume and a per-file deadline; each file's raw data is decoded in full
    before it is recorded as ok in OUT_DIR/raise_ledger.parquet, so a re-run fetches only what is
    missing or failed. Exits 1 if any file
    failed or any row of the list was refused. Lists: http://loki.disi.unitn.it/RAISE/ (see docs/raise.md).
    """
    from tqdm import tqdm

    from pipeline.fetch import FetchConfig, fetch_raise
    from pipeline.fetch.download import RetryPolicy

    config = FetchConfig(
        policy=RetryPolicy(retries=retries, timeout_s=timeout, deadline_s=deadline),
        recheck=recheck,
        url_rewrites=rewrite,
    )
    with tqdm(unit="file", desc="fetch-raise", dynamic_ncols=True) as bar:

        def progress(row, done: int, total: int) -> None:
            bar.total = total
            bar.update(1)
            if not row.ok:
                bar.write(f"failed: {row.name}: {row.error}")

        try:
            report = fetch_raise(csv_path, out_dir, jobs=jobs, limit=limit, config=config, progress=progress)
        except ValueError as err:
            raise click.ClickException(str(err)) from err
        except OSError as err:  # local: read-only file system, disk full, no permission
            raise click.ClickException(
                f"stopped at a local I/O error in {out_dir}: {err}. Make the folder writable (free space, "
                "permissions, a read-write mount) and re-run; the ledger keeps what was done."
            ) from err
    for note in report.notes:
        click.echo(f"{out_dir}: {note}", err=True)
    for problem in report.problems:
        click.echo(f"{csv_path}: skipped {problem}", err=True)
    click.echo(report.summary())
    click.echo(f"ledger: {report.ledger_path}")
    if report.failed or report.problems:
        raise SystemExit(1)
