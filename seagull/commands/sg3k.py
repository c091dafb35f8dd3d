"""`seagull 3k …`: SEAGULL-3k — demo images, the build-3k flow, Label Studio push / pull / progress.

    seagull 3k demo DIR                                  # the embedded demo images (JPEG)
    seagull 3k build --demo --simulate 7 --build sg3k    # whole flow with SIMULATED annotators
    seagull 3k build --images LIVEC/ --build sg3k        # ROIs + tasks only
    seagull 3k push --build sg3k                         # project + one task per ROI (idempotent)
    seagull 3k progress --build sg3k                     # ROIs with >= 7 ratings
    seagull 3k pull --build sg3k [--export FILE]         # raw ratings into sg3k/ratings/
    seagull 3k build --images LIVEC/ --build sg3k        # again: aggregate, shard, card, verify

Label Studio: URL and token from --url/--token or LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY
(docs/seagull-3k.md).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from pipeline import defaults  # names only: the registries are not imported

DEFAULT_PROJECT = "SEAGULL-3k"


def _server_options(func):  # noqa: ANN001, ANN202 - a click decorator
    func = click.option(
        "--project", default=DEFAULT_PROJECT, show_default=True, help="Label Studio project title."
    )(func)
    func = click.option("--token", help="Personal access token (or legacy token) [LABEL_STUDIO_API_KEY].")(
        func
    )
    func = click.option("--url", help="Label Studio address, e.g. http://localhost:8080 [LABEL_STUDIO_URL].")(
        func
    )
    return func


# Options shared by several steps.
_build_option = click.option(
    "--build",
    "build_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="A `seagull 3k build` folder.",
)
_min_ratings_option = click.option(
    "--min-ratings",
    default=7,
    show_default=True,
    type=click.IntRange(1),
    help="Annotators per ROI (paper: 7).",
)


def _client(url, token):  # noqa: ANN001, ANN202
    from pipeline.sg3k.client import LabelStudioClient

    return LabelStudioClient(
        url or os.environ.get("LABEL_STUDIO_URL", ""),
        token or os.environ.get("LABEL_STUDIO_API_KEY") or os.environ.get("LABEL_STUDIO_USER_TOKEN", ""),
    )


def _fail(error: Exception) -> None:
    raise click.ClickException(str(error)) from error


@click.group("3k")
def command() -> None:
    """SEAGULL-3k: authentic images, 2-3 ROIs each, ratings in Label Studio, the paper's aggregation, shards."""


@command.command("demo")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("-n", type=click.IntRange(1), help="Only the first N demo images.")
def demo(out_dir: Path, n: int | None) -> None:
    """Write the demo images: photographs shipped in pip packages with authentic-looking defects."""
    from pipeline.sg3k.demo import write_demo

    paths = write_demo(out_dir, n)
    click.echo(f"{len(paths)} demo images in {out_dir}")


@command.command("build")
@click.option("--images", help="Folder of JPEG/PNG images or a CSV with a 'path' column.")
@click.option("--demo", "use_demo", is_flag=True, help="Use the embedded demo images.")
@click.option("--build", "build_dir", required=True, type=click.Path(file_okay=False), help="Build folder.")
@click.option("--out", type=click.Path(file_okay=False), help="Shard folder [BUILD/shards].")
@click.option(
    "--ratings",
    type=click.Path(dir_okay=False, exists=True),
    help="Label Studio JSON export or ratings.jsonl.",
)
@click.option(
    "--simulate",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="N SIMULATED annotators per ROI (demo only).",
)
@click.option(
    "--segmenter",
    default=defaults.SEGMENTER,
    show_default=True,
    help="Segmenter registry name (`seagull list`).",
)
@click.option("--checkpoint", type=click.Path(dir_okay=False, exists=True), help="Segmenter weights.")
@click.option(
    "--detector",
    default=defaults.DETECTOR,
    show_default=True,
    help="Detector registry name (`seagull list`), or 'none'.",
)
@click.option("--detector-weights", type=click.Path(dir_okay=False, exists=True), help="Detector weights.")
@click.option(
    "--device", default="cpu", show_default=True, help="Torch device of the segmenter and detector."
)
@click.option("--size", default="1024", show_default=True, help="Working long side in px, or 'full'.")
@click.option(
    "--max-rois", default=3, show_default=True, type=click.IntRange(1), help="ROIs per image (paper: 2-3)."
)
@click.option(
    "--min-rois", default=2, show_default=True, type=click.IntRange(1), help="Fewer: the image is reported."
)
@_min_ratings_option
@click.option(
    "--test-fraction",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of the images in the test split (by a hash of the image id).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Base seed (ROI prompts, SIMULATED ratings)."
)
def build(images, use_demo, build_dir, **options) -> None:  # noqa: ANN001
    """Run the build-3k flow: ROIs + tasks; with ratings also aggregate, shards, card and verify."""
    if bool(images) == bool(use_demo):
        raise click.UsageError("give exactly one of --images PATH or --demo")
    options["size"] = None if str(options["size"]).lower() == "full" else int(options["size"])
    from flows.build_3k import build_3k, summary_lines

    state = build_3k(images=images or "demo", build=build_dir, **options, return_state=True)
    if not state.is_completed():
        click.secho(f"build-3k failed: {state.message}", fg="red", err=True)
        sys.exit(1)
    report = state.result()
    # Echoed here, not only printed by the flow: where the flow's prints go is Prefect's logging setup.
    for line in summary_lines(report):
        click.echo(line)
    if "card" in report:
        click.secho(f"dataset card: {report['card']}", fg="green", bold=True)


@command.command("simulate")
@_build_option
@click.option(
    "--annotators", default=7, show_default=True, type=click.IntRange(1), help="SIMULATED annotators per ROI."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the simulated ratings.")
@click.option(
    "--post", is_flag=True, help="Post the SIMULATED ratings to Label Studio instead of storing them."
)
@_server_options
def simulate(build_dir, annotators, seed, post, url, token, project) -> None:  # noqa: ANN001
    """SIMULATED annotators rate every ROI of a demo build (stored, or posted to Label Studio)."""
    from pipeline.sg3k.build import simulated_ratings
    from pipeline.sg3k.store import write_ratings

    try:
        ratings = simulated_ratings(Path(build_dir), annotators, seed)
        if not post:
            path = write_ratings(Path(build_dir), ratings)
            click.echo(f"{len(ratings)} SIMULATED ratings in {path}")
            return
        from pipeline.sg3k.sync import post_ratings

        with _client(url, token) as client:
            posted = post_ratings(client, project, ratings)
        click.echo(f"{posted} SIMULATED annotations posted to {project!r}")
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        _fail(error)


@command.command("push")
@_build_option
@click.option(
    "--min-ratings", default=7, show_default=True, type=click.IntRange(1), help="Annotators per task."
)
@click.option(
    "--image-url-prefix",
    help="Serve overlays from here (e.g. /data/local-files/?d=sg3k/) instead of embedding them.",
)
@_server_options
def push(build_dir, min_ratings, image_url_prefix, url, token, project) -> None:  # noqa: ANN001
    """Create the Label Studio project (once) and import one task per ROI not imported before."""
    from pipeline.sg3k.sync import push_tasks

    try:
        with _client(url, token) as client:
            result = push_tasks(client, Path(build_dir), project, min_ratings, image_url_prefix)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        _fail(error)
    click.echo(
        f"project {result['project_id']} {project!r}: {result['added']} tasks added, {result['existing']} there already"
    )


@command.command("pull")
@_build_option
@click.option(
    "--export",
    "export_file",
    type=click.Path(dir_okay=False, exists=True),
    help="A Label Studio JSON export instead of a server.",
)
@_min_ratings_option
@_server_options
def pull(build_dir, export_file, min_ratings, url, token, project) -> None:  # noqa: ANN001
    """Store every annotator's raw ratings (id, time) in BUILD/ratings/, before any aggregation."""
    from pipeline.sg3k.build import import_ratings_file

    build_dir = Path(build_dir)
    try:
        if export_file:
            counts = import_ratings_file(build_dir, Path(export_file))
        else:
            from pipeline.sg3k.sync import pull_ratings

            with _client(url, token) as client:
                counts = pull_ratings(client, build_dir, project)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        _fail(error)
    click.echo(
        f"{counts['ratings']} ratings stored, {counts['problems']} cancelled/incomplete (ratings/problems.json)"
    )
    _echo_progress(build_dir, min_ratings)


@command.command("progress")
@_build_option
@_min_ratings_option
def progress(build_dir, min_ratings) -> None:  # noqa: ANN001
    """How many ROIs have >= MIN_RATINGS annotators in the pulled ratings (pull first for fresh numbers)."""
    try:
        _echo_progress(Path(build_dir), min_ratings)
    except (ValueError, FileNotFoundError) as error:
        _fail(error)


def _echo_progress(build_dir: Path, min_ratings: int) -> None:
    from pipeline.sg3k.store import progress as count
    from pipeline.sg3k.store import read_ratings
    from pipeline.sg3k.tasks import read_tasks

    state = count([t["task_id"] for t in read_tasks(build_dir)], read_ratings(build_dir), min_ratings)
    click.echo(
        f"{state['complete']} of {state['rois']} ROIs have >= {min_ratings} ratings ({state['annotators']} annotators)"
    )
    if state["below_minimum"]:
        shown = dict(list(state["below_minimum"].items())[:20])
        click.echo(
            f"below the minimum (left out of aggregation): {json.dumps(shown)}"
            + (" …" if len(state["below_minimum"]) > 20 else "")
        )
