"""Click options shared by several sub-commands."""

import click

run_dir_option = click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="A `seagull train` --out folder.",
)


def model_source_options(command):
    """--run, or the authors' release (--weights, --base, --encoder-weights or --release FILE),
    with --config, --prompts and --dtype; read back by `load_model_from_options`."""
    run = click.option(
        "--run",
        "run_dir",
        type=click.Path(file_okay=False, exists=True),
        help="A `seagull train` --out folder.",
    )
    return run(release_source_options(command))


def release_source_options(command):
    """The release options of `model_source_options` without --run (for commands with their own)."""
    options = [
        click.option(
            "--weights",
            type=click.Path(file_okay=False, exists=True),
            help="A SEAGULL release folder (adapter + non_lora_trainables.bin), e.g. the authors' SEAGULL-7B.",
        ),
        click.option(
            "--base",
            type=click.Path(file_okay=False, exists=True),
            help="The Vicuna-7B v1.5 folder (LLM + tokenizer).",
        ),
        click.option(
            "--encoder-weights",
            type=click.Path(dir_okay=False, exists=True),
            help="The CLIP-ConvNeXt-Large file open_clip_pytorch_model.bin.",
        ),
        click.option(
            "--release",
            "release_file",
            type=click.Path(dir_okay=False, exists=True),
            help="A YAML file naming weights, base, encoder_weights (and config, prompts).",
        ),
        click.option(
            "--config",
            "config_name",
            help="Architecture of a release: 'paper' (default) or 'tiny' or a YAML.",
        ),
        click.option(
            "--prompts",
            type=click.Choice(["authors", "paper"]),
            help="Prompt wording (release default: authors).",
        ),
        click.option(
            "--dtype",
            type=click.Choice(["bf16", "fp16", "fp32"]),
            default="bf16",
            show_default=True,
            help="Weights' dtype of a release (fp16: GPU only).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_model_from_options(
    run_dir, weights, base, encoder_weights, release_file, config_name, prompts, dtype, device="cpu"
):  # noqa: ANN001, ANN201
    """(model, tokenizer) from a run folder or a release, as the options name them."""
    from pathlib import Path

    if bool(run_dir) == bool(weights or release_file):
        raise click.UsageError(
            "give either --run RUN_DIR or a release (--weights DIR [--base DIR --encoder-weights FILE] or --release FILE)"
        )
    if run_dir:
        import dataclasses

        from model.train import load_trained

        model, tokenizer = load_trained(Path(run_dir), device)
        if prompts:
            model.config = dataclasses.replace(model.config, prompts=prompts)
        return model, tokenizer
    import torch

    from model.config import create_config
    from model.release import ReleaseError, ReleasePaths, load_release

    extra = {}
    if release_file:
        paths, extra = ReleasePaths.from_file(Path(release_file))
    else:
        paths = ReleasePaths(
            Path(weights), Path(base) if base else None, Path(encoder_weights) if encoder_weights else None
        )
    name = config_name or extra.get("config")
    try:
        return load_release(
            paths,
            create_config(name) if name else None,
            prompts or extra.get("prompts"),
            dtype={"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype],
            device=device,
        )
    except (ReleaseError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from error
