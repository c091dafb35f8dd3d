"""The SEAGULL-3k build as a Prefect flow.

    images (folder / CSV / the embedded demo) → [ROIs + overlays + tasks] per chunk of images
    → ratings (Label Studio export file, ratings.jsonl, or SIMULATED annotators for the demo)
    → aggregate (the paper's rules; < 7 ratings reported and left out) → shards, manifest, card → verify

Without ratings the flow stops after the tasks: push them to Label Studio (`seagull 3k push`), let
the team rate, then `seagull 3k pull` and run the flow again (finished images are skipped).
Every task is a thin wrapper of a function in `pipeline/sg3k/`.

    seagull 3k build --demo --simulate 7 --build sg3k --out sg3k/shards
    seagull 3k build --images LIVEC/ --build sg3k                      # tasks only, then push/pull
    seagull 3k build --images LIVEC/ --build sg3k --ratings export.json --out sg3k/shards
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import _support
from flows.build_100w import is_transient

FLOW_NAME = "seagull-3k"
DEMO = "demo"


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=is_transient, cache_policy=NO_CACHE)
def gather_images(images: str, build: str) -> list[str]:
    """The images to prepare: the demo set (written into <build>/demo_images) or a folder / CSV."""
    from pipeline.sg3k.tasks import list_images

    if images == DEMO:
        from pipeline.sg3k.demo import write_demo

        return [str(p) for p in write_demo(Path(build) / "demo_images")]
    return [str(p) for p in list_images(images)]


@task(cache_policy=NO_CACHE, task_run_name="rois-{index:04d}")
def prepare_chunk(index: int, paths: list[str], build: str, options: dict[str, Any]) -> tuple[list, list]:
    """ROIs, overlays and task records of one chunk of images (`pipeline.sg3k.prepare`)."""
    from pipeline import masks
    from pipeline.sg3k.prepare import prepare_images
    from pipeline.sg3k.tasks import RoiConfig

    _support.one_thread_per_chunk()
    seg_name = options["segmenter"] or masks.DEFAULT_SEGMENTER
    det_name = options["detector"] or masks.DEFAULT_DETECTOR
    config = RoiConfig(
        size=options["size"], max_rois=options["max_rois"], min_rois=options["min_rois"], seed=options["seed"]
    )
    return prepare_images(
        [Path(p) for p in paths],
        Path(build),
        lambda: masks.create_segmenter(seg_name, checkpoint=options["checkpoint"], device=options["device"]),
        lambda: (
            None
            if det_name == "none"
            else masks.create_detector(
                det_name, weights=options["detector_weights"], device=options["device"]
            )
        ),
        config,
        options["test_fraction"],
    )


@task(cache_policy=NO_CACHE)
def collect_ratings(build: str, ratings: str | None, simulate: int, seed: int) -> str:
    """Bring ratings into <build>/ratings: an export/ratings file, simulated annotators, or those there."""
    from pipeline.sg3k.build import import_ratings_file, simulated_ratings
    from pipeline.sg3k.store import ratings_path, write_ratings

    if ratings:
        import_ratings_file(Path(build), Path(ratings))
    elif simulate:
        write_ratings(Path(build), simulated_ratings(Path(build), simulate, seed))
    return str(ratings_path(Path(build)))


@task(cache_policy=NO_CACHE)
def aggregate_ratings(build: str, min_ratings: int) -> dict[str, Any]:
    from pipeline.sg3k.aggregate import AggregationRules
    from pipeline.sg3k.build import aggregate_build

    return aggregate_build(Path(build), AggregationRules(min_ratings=min_ratings))


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=is_transient, cache_policy=NO_CACHE)
def write_shards(build: str, out: str) -> str:
    from pipeline.sg3k.build import shard_build

    return str(shard_build(Path(build), Path(out)))


@task(cache_policy=NO_CACHE)
def verify(out: str) -> str:
    """'' when every shard and the manifest check out, else the failure message."""
    from pipeline.shards.verify import failure_message, verify_manifest, verify_shards

    return failure_message(verify_shards(Path(out)), Path(out), verify_manifest(Path(out)))


class Build3kFailed(RuntimeError):
    """Some images could not be prepared or the shards did not verify; the report says which."""


@flow(name=FLOW_NAME, log_prints=True, validate_parameters=True)
def build_3k(
    images: str = DEMO,
    build: str = "sg3k",
    out: str | None = None,
    ratings: str | None = None,
    simulate: int = 0,
    segmenter: str | None = None,
    checkpoint: str | None = None,
    detector: str | None = None,
    detector_weights: str | None = None,
    device: str = "cpu",
    size: int | None = 1024,
    max_rois: int = 3,
    min_rois: int = 2,
    min_ratings: int = 7,
    test_fraction: float = 0.2,
    chunk_size: int = 16,
    seed: int = 0,
) -> dict[str, Any]:
    """Build SEAGULL-3k: tasks from images, then (with ratings) labels and shards into `out`.

    Args:
        images: "demo", a folder of JPEG/PNG files or a CSV with a `path` column.
        build: the build folder (images, ROIs, overlays, tasks, ratings, labels).
        out: the shard folder (default <build>/shards).
        ratings: a Label Studio JSON export or a ratings.jsonl to use (replaces the build's ratings).
        simulate: this many SIMULATED annotators rate every ROI (demo images only).
        min_ratings: ROIs with fewer annotators are reported and left out (paper: 7).
    """
    out = out or str(Path(build) / "shards")
    options = dict(locals())  # the flow's parameters, handed to the chunk tasks
    from pipeline.sg3k.prepare import finish_prepare
    from pipeline.sg3k.store import ratings_path

    paths = gather_images(images, build)
    chunks = [paths[i : i + chunk_size] for i in range(0, len(paths), chunk_size)]
    futures = [prepare_chunk.submit(i, chunk, build, options) for i, chunk in enumerate(chunks)]
    records, failures = [], []
    for future in futures:
        chunk_records, chunk_failures = future.result()
        records += chunk_records
        failures += chunk_failures
    report: dict[str, Any] = {"prepare": finish_prepare(Path(build), records, failures)}
    report["tasks_file"] = f"{build}/tasks.jsonl"
    report["min_ratings"] = min_ratings
    if ratings or simulate or ratings_path(Path(build)).exists():
        collect_ratings(build, ratings, simulate, seed)
        report["aggregation"] = aggregate_ratings(build, min_ratings)
        report["card"] = write_shards(build, out)
        report["verify"] = verify(out)
    for line in summary_lines(report):
        print(line)  # into the flow run's logs; `seagull 3k build` echoes the same lines itself
    if failures or report.get("verify"):
        raise Build3kFailed(
            "; ".join(
                [f"{f['path']}: {f['error']}" for f in failures]
                + ([report["verify"]] if report.get("verify") else [])
            )
        )
    return report


def summary_lines(report: dict[str, Any]) -> list[str]:
    """What a build-3k run did, for its logs and for `seagull 3k build`'s own output."""
    lines = [
        f"{report['prepare']['tasks']} ROI tasks from {report['prepare']['images']} images in {report['tasks_file']}"
    ]
    if "aggregation" in report:
        excluded = report["aggregation"]["excluded"]
        lines.append(
            f"{report['aggregation']['n_labelled']} ROIs labelled, {len(excluded)} left out "
            f"(< {report['min_ratings']} ratings)"
        )
    else:
        lines.append(
            "no ratings yet: `seagull 3k push`, annotate, `seagull 3k pull`, then run the build again"
        )
    return lines
