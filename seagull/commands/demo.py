"""`seagull demo`: the click-to-assess web page (Gradio) on this machine."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--run",
    "run_dir",
    default="runs/tiny-stage1",
    show_default=True,
    type=click.Path(file_okay=False),
    help="A `seagull train` --out folder (a missing one is reported in the page).",
)
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
def command(run_dir, shard_dir, segmenter, checkpoint, host, port, max_side, device) -> None:  # noqa: ANN001
    """Serve the click-to-assess page: upload an image, click a region, read its assessment.

    \b
    seagull demo --run runs/tiny-stage1
    seagull demo --run runs/x --segmenter sam_vit_b --checkpoint weights/sam_vit_b_01ec64.pth
    """
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
    slot = ModelSlot(lambda: load_model(Path(run_dir), device)).start()
    example_dir = Path(tempfile.mkdtemp(prefix="seagull-demo-examples-"))
    examples = tuple(extract_examples(Path(shard_dir), example_dir))
    config = demo_app.DemoConfig(examples=examples, max_side=max_side or MAX_SIDE)
    click.echo(f"SEAGULL demo on http://{host}:{port} (segmenter {shared.name}; model from {run_dir})")
    demo_app.launch(demo_app.build_app(slot, shared, config), host, port, allowed=[str(example_dir)])
