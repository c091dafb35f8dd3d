"""`seagull demo`: the click-to-assess web page (Gradio) on this machine."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from seagull.commands._options import release_source_options

DEFAULT_RUN = "runs/tiny-stage1"


@click.command("demo")
@click.option(
    "--run",
    "run_dir",
    type=click.Path(file_okay=False),
    help=f"A `seagull train` --out folder (a missing one is reported in the page) [default: {DEFAULT_RUN}, "
    "unless a release is given].",
)
@release_source_options
@click.option(
    "--examples",
    "shard_dir",
    default="shards",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Shard folder whose first shard gives the example images (skipped when absent).",
)
@click.option("--segmenter", default=None, help="Segmenter registry name (default: the weight-free default).")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, exists=True),
    help="Segmenter weights, e.g. SAM vit_b .pth.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=7860, show_default=True, type=int, help="Port to listen on.")
@click.option("--max-side", default=None, type=click.IntRange(64), help="Largest image side accepted (px).")
@click.option("--device", default="cpu", show_default=True, help="torch device of the model and segmenter.")
def command(run_dir, shard_dir, segmenter, checkpoint, host, port, max_side, device, **release) -> None:  # noqa: ANN001
    """Serve the click-to-assess page: upload an image, click a region, read its assessment.

    \b
    seagull demo --run runs/tiny-stage1
    seagull demo --run runs/x --segmenter sam_vit_b --checkpoint weights/sam_vit_b_01ec64.pth
    seagull demo --weights SEAGULL-7B/ --base vicuna-7b-v1.5/ --encoder-weights open_clip_pytorch_model.bin
    """
    from_release = bool(release["weights"] or release["release_file"])
    if from_release and run_dir:
        raise click.UsageError("give either --run RUN_DIR or a release (--weights DIR or --release FILE)")
    run_dir = None if from_release else Path(run_dir or DEFAULT_RUN)
    from pipeline.masks import DEFAULT_SEGMENTER

    try:
        from seagull.demo import app as demo_app
    except ImportError as error:
        raise click.ClickException(
            f"{error}: install the demo's web library with `make setup` "
            "(or `pip install --no-deps -r requirements-demo.txt`)"
        ) from error
    from seagull.demo.assessor import ModelSlot, load_model
    from seagull.demo.examples import extract_examples
    from seagull.demo.session import MAX_SIDE, create_shared_segmenter

    try:
        shared = create_shared_segmenter(segmenter or DEFAULT_SEGMENTER, checkpoint, device)
    except (ValueError, KeyError, ImportError, FileNotFoundError) as error:
        raise click.ClickException(f"segmenter: {error}") from error
    slot = ModelSlot(lambda: load_model(run_dir, device, **release)).start()
    example_dir = Path(tempfile.mkdtemp(prefix="seagull-demo-examples-"))
    examples = tuple(extract_examples(Path(shard_dir), example_dir))
    config = demo_app.DemoConfig(examples=examples, max_side=max_side or MAX_SIDE)
    click.echo(
        f"SEAGULL demo on http://{host}:{port} (segmenter {shared.name}; model from "
        f"{run_dir or release['weights'] or release['release_file']})"
    )
    demo_app.launch(demo_app.build_app(slot, shared, config), host, port, allowed=[str(example_dir)])
