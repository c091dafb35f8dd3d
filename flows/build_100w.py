"""The SEAGULL-100w build as a Prefect flow: one task per chunk of references.

    RAW source (sample / directory / RAISE CSV) → chunks → [render → masks → labels → shard] per chunk
    → manifest + dataset card → build report

Every task is a thin wrapper of a pure function in `pipeline/`. Retries are for transient failures
only (`OSError`: disks, network file systems, downloads); a bad RAW file is recorded by the chunk and
the build goes on. Finished chunks (record + shard checksums) are skipped on a re-run. The flow ends
Failed when any file or chunk failed, after writing its build report (`<out>.seagull-build/`).

    seagull build --sample 8 --out shards                       # in-process
    seagull build --raw-dir RAW/ --out shards --dask-address tcp://scheduler:8786
    prefect deployment run 'seagull-100w/build-100w' --param source=sample:8 --param out=shards
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from tqdm.auto import tqdm

from flows import _support
from flows.build_parameters import takes_build_config
from flows.progress import chunk_counter
from flows.progress import counter as progress_counter
from pipeline import build_folder, build_report, build_state
from pipeline.build_config import SAMPLE_PREFIX, BuildConfig, check_registry_names, sample_count
from pipeline.build_lock import BuildLock
from pipeline.chunk import SHARD_CONFIG, ChunkResult, ChunkSpec, find_done, plan_chunks, process_chunk
from pipeline.raw_files import check_reference_ids, list_raw_files

FLOW_NAME = "seagull-100w"
DEPLOYMENT_NAME = "build-100w"


# OSErrors that no retry can fix: a wrong path or a permission is the user's to correct.
PERMANENT_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition: only I/O errors (disk full, NFS hiccup, connection) are retried."""
    try:
        state.result()
    except PERMANENT_OS_ERRORS:
        return False
    except OSError:
        return True
    except Exception:  # noqa: BLE001 - any other failure is not worth a retry
        return False
    return False


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=is_transient, cache_policy=NO_CACHE)
def gather_raw_files(config: BuildConfig) -> tuple[list[str], list[dict[str, str]]]:
    """The build's RAW files and the failures met getting them: write the sample, fetch the RAISE
    list (its first stage), or list the directory."""
    if config.source.startswith(SAMPLE_PREFIX):
        from pipeline.sample import write_sample

        # Exactly the files written now: an earlier, larger sample may have left more in the folder.
        written = write_sample(config.work_path / "sample", n=sample_count(config.source), seed=config.seed)
        return sorted(str(p) for p in written)[: config.limit], []
    if config.source.lower().endswith(".csv"):
        return _support.fetch_raise_files(config)
    return [str(p) for p in list_raw_files(config.source, config.limit)], []


@task(
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=is_transient,
    cache_policy=NO_CACHE,
    task_run_name="chunk-{spec.index:06d}",
)
def build_chunk(spec: ChunkSpec, config: BuildConfig, bar: str | None = None) -> ChunkResult:
    """render → masks → labels → shard for one chunk of references (`pipeline.chunk.process_chunk`);
    each reference done is logged and counted on the flow's progress `bar` when it runs in-process."""
    _support.one_thread_per_chunk()
    logger = get_run_logger()
    count = progress_counter(bar)  # None on a Dask worker: the chunk's end counts instead

    def progress(ref: str, done: int, total: int) -> None:
        logger.info(f"{ref} ({done}/{total})")
        if count is not None:
            count(spec.index)

    return process_chunk(spec, config, progress=progress)


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=is_transient, cache_policy=NO_CACHE)
def finalize_shards(out: str, chunks: list[int]) -> str:
    """Merge the manifest parts of this build's chunks and write the dataset card; returns its path."""
    from pipeline import shards

    return str(shards.finalize(Path(out), chunks=chunks))


@flow(name=FLOW_NAME, log_prints=True, validate_parameters=True)
@takes_build_config  # source, out, limit, ... device: the BuildConfig fields, with their help and ranges
def build_100w(workers: int | None = None, **parameters: Any) -> dict[str, Any]:
    """Build SEAGULL-100w shards from RAW files: render → masks → labels → shards, one task per chunk.

    Args:
        workers: Chunks built at once (each holds about 2 GB at 1,024 px); empty: this machine's cores;
            0: no limit here (a Dask cluster's own size bounds it).
        **parameters: The fields of `BuildConfig` (pipeline/build_config.py), each a parameter of the
            flow and of its deployment, with the field's help as its description.

    Returns:
        The build report (also written to `<out>.seagull-build/build_report.json`).
    """
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be >= 0 (0: no limit) or empty (the cores), got {workers}")
    config = BuildConfig.from_json(parameters)
    check_registry_names(config)  # a deployment run fails here, not inside every chunk
    _support.announce(config, print)
    with BuildLock(config.out) as lock:  # raises BuildLocked (naming the holder): the folder is not ours
        if lock.took_over is not None:
            print(f"took over the lock of a build that is gone ({lock.took_over.describe()})")
        for old, new in build_state.migrate_legacy(config.out):  # an earlier version's layout
            print(f"moved build state {old} to {new}")
        build_folder.sweep_temporaries(config.out)
        build_folder.write_plan(config.out, config, os.getcwd())
        try:
            report = _build(config, default_workers() if workers is None else workers)
        except Exception as error:
            build_report.write_report(config.out, build_report.error_report(config, error))
            raise
    print(build_report.summary(report))
    if not report["ok"]:
        raise build_report.BuildFailed(build_report.failure_message(report))
    return report


def _build(config: BuildConfig, workers: int) -> dict[str, Any]:
    """Gather the RAW files, refuse colliding ids, make the folder match the plan, build, finalize,
    and write the report; returns it. Runs while holding the folder's lock."""
    paths, source_failures = gather_raw_files(config)
    check_reference_ids(paths)  # before anything in the folder is touched
    chunks = plan_chunks([Path(p) for p in paths], config.chunk_size)
    out = Path(config.out)
    done = [r for r in (find_done(out, spec, config) for spec in chunks) if r is not None]
    removed = build_folder.prune_to_plan(out, [r.index for r in done], SHARD_CONFIG)
    stale = [p for p in removed if p.name not in build_folder.MERGED_OUTPUTS]
    if stale:
        print(f"removed {len(stale)} file(s) of chunks not finished for this plan (e.g. {stale[0].name})")
    results, errors = _run_chunks(chunks, done, config, workers)
    card = finalize_shards(config.out, [r.index for r in results]) if results else None
    report = build_report.make_report(config, chunks, results, errors, card, source_failures)
    build_report.write_report(config.out, report)
    return report


def default_workers() -> int:
    """This machine's cores (those this process may use)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _run_chunks(
    chunks: list[ChunkSpec], done: list[ChunkResult], config: BuildConfig, workers: int
) -> tuple[list[ChunkResult], dict[int, str]]:
    """Build the chunks not `done`, at most `workers` at once (0: all submitted at once), and
    collect results and per-chunk errors.

    The window is kept here, not left to the task runner: Prefect's default thread pool is unbounded,
    and a served deployment would otherwise start every chunk (about 2 GB each) at once.
    """
    finished = {r.index for r in done}
    todo = [spec for spec in chunks if spec.index not in finished]
    total = sum(len(spec.paths) for spec in chunks)
    print(
        f"{len(chunks)} chunks of up to {config.chunk_size} references: {len(done)} finished earlier, "
        f"{len(todo)} to build, {workers or 'all'} at once"
    )
    errors: dict[int, str] = {}
    results = list(done)
    window = workers or len(todo) or 1
    waiting, running = list(todo), {}
    with tqdm(total=total, initial=sum(len(r.inputs) for r in done), unit="ref", desc="references") as bar:
        sizes = {spec.index: len(spec.paths) for spec in todo}
        with chunk_counter(bar, sizes) as (bar_id, count):
            while waiting or running:
                while waiting and len(running) < window:
                    spec = waiting.pop(0)
                    running[build_chunk.submit(spec, config, bar_id)] = spec
                completed = as_completed(list(running))
                future = next(completed)
                completed.close()
                spec = running.pop(future)
                try:
                    results.append(future.result())
                except Exception as error:  # noqa: BLE001 - one chunk's failure must not stop the others
                    errors[spec.index] = f"{type(error).__name__}: {error}"
                count(spec.index, until=sizes[spec.index])  # what it did not report (Dask, failures)
    return sorted(results, key=lambda r: r.index), errors


def with_task_runner(build: Any, workers: int | None = None, dask_address: str | None = None) -> Any:
    """The flow with its task runner: `workers` threads in-process (default: the cores), or an
    existing Dask cluster."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return build.with_options(task_runner=DaskTaskRunner(address=dask_address))
    from prefect.task_runners import ThreadPoolTaskRunner

    return build.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers or default_workers()))
