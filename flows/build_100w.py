"""The SEAGULL-100w build as a Prefect flow: one task per chunk of references.

    RAW source (sample / directory / RAISE CSV) → chunks → [render → masks → labels → shard] per chunk
    → manifest + dataset card → build report

Every task is a thin wrapper of a pure function in `pipeline/`. Retries are for transient failures
only (`OSError`: disks, network file systems, downloads); a bad RAW file is recorded by the chunk and
the build goes on. Finished chunks (record + shard checksums) are skipped on a re-run. The flow ends
Failed when any file or chunk failed, after writing `<out>/build_report.json`.

    seagull build --sample 8 --out shards                       # in-process
    seagull build --raw-dir RAW/ --out shards --dask-address tcp://scheduler:8786
    prefect deployment run 'seagull-100w/build-100w' --param source=sample:8 --param out=shards
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from tqdm.auto import tqdm

from flows import _support
from pipeline import build_report
from pipeline._chunk_stages import resolve_defaults
from pipeline.build_config import SAMPLE_PREFIX, BuildConfig, sample_count
from pipeline.chunk import ChunkResult, ChunkSpec, find_done, list_raw_files, plan_chunks, process_chunk

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

        write_sample(config.work_path / "sample", n=sample_count(config.source), seed=config.seed)
        return [str(p) for p in list_raw_files(config.work_path / "sample", config.limit)], []
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
def build_chunk(spec: ChunkSpec, config: BuildConfig) -> ChunkResult:
    """render → masks → labels → shard for one chunk of references (`pipeline.chunk.process_chunk`)."""
    _support.one_thread_per_chunk()
    logger = get_run_logger()
    return process_chunk(
        spec, config, progress=lambda ref, done, total: logger.info(f"{ref} ({done}/{total})")
    )


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=is_transient, cache_policy=NO_CACHE)
def finalize_shards(out: str, chunks: list[int]) -> str:
    """Merge the manifest parts of this build's chunks and write the dataset card; returns its path."""
    from pipeline import shards

    return str(shards.finalize(Path(out), chunks=chunks))


@flow(name=FLOW_NAME, log_prints=True, validate_parameters=True)
def build_100w(
    source: str = "sample:8",
    out: str = "shards",
    limit: int | None = None,
    types: list[str] | None = None,
    levels: list[int] | None = None,
    size: int | None = 1024,
    segmenter: str | None = None,
    checkpoint: str | None = None,
    detector: str | None = None,
    detector_weights: str | None = None,
    metric: str | None = None,
    metric_weights: str | None = None,
    chunk_size: int = 8,
    seed: int = 0,
    work_dir: str | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Build SEAGULL-100w shards from RAW files (see `pipeline.build_config.BuildConfig` for each parameter).

    Returns:
        The build report (also written to `<out>/build_report.json`).
    """
    config = resolve_defaults(BuildConfig.from_json(dict(locals())))
    _support.announce(config, print)
    paths, source_failures = gather_raw_files(config)
    chunks = plan_chunks([Path(p) for p in paths], config.chunk_size)
    results, errors = _run_chunks(chunks, config)
    card = finalize_shards(config.out, [r.index for r in results]) if results else None
    report = build_report.make_report(config, chunks, results, errors, card, source_failures)
    build_report.write_report(config.out, report)
    print(build_report.summary(report))
    if not report["ok"]:
        raise build_report.BuildFailed(build_report.failure_message(report))
    return report


def _run_chunks(chunks: list[ChunkSpec], config: BuildConfig) -> tuple[list[ChunkResult], dict[int, str]]:
    """Skip finished chunks, submit the others, and collect results and per-chunk errors."""
    out = Path(config.out)
    done = [r for r in (find_done(out, spec, config) for spec in chunks) if r is not None]
    todo = [spec for spec in chunks if spec.index not in {r.index for r in done}]
    total = sum(len(spec.paths) for spec in chunks)
    print(
        f"{len(chunks)} chunks of up to {config.chunk_size} references: {len(done)} finished earlier, {len(todo)} to build"
    )
    errors: dict[int, str] = {}
    results = list(done)
    futures = {build_chunk.submit(spec, config): spec for spec in todo}
    with tqdm(total=total, initial=sum(len(r.inputs) for r in done), unit="ref", desc="references") as bar:
        for future in as_completed(list(futures)):
            spec = futures[future]
            try:
                results.append(future.result())
            except Exception as error:  # noqa: BLE001 - one chunk's failure must not stop the others
                errors[spec.index] = f"{type(error).__name__}: {error}"
            bar.update(len(spec.paths))
    return sorted(results, key=lambda r: r.index), errors


def with_task_runner(build: Any, workers: int = 2, dask_address: str | None = None) -> Any:
    """The flow with its task runner: `workers` threads in-process, or an existing Dask cluster."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return build.with_options(task_runner=DaskTaskRunner(address=dask_address))
    from prefect.task_runners import ThreadPoolTaskRunner

    return build.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))
