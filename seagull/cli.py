"""`seagull` — one click group; each sub-command lives in its own module under `seagull.commands`.

Sub-commands are imported lazily so that `seagull --help` stays fast and a command's heavy
dependencies (torch, Prefect) load only when that command runs.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from seagull import __version__
from seagull.commands._prefect_env import ensure_prefect_env

# command name -> (module under seagull.commands, one-line help shown by `seagull --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "sample": ("sample", "Write the embedded sample of Bayer-mosaic DNG files."),
    "render": ("render", "Render references and the 6 x 20 distortions from RAW files."),
    "masks": ("masks", "Compute object- and component-level ROI masks for reference images."),
    "label": ("label", "Label every (distorted image, ROI) with quality, importance, distortion."),
    "build": ("build", "Run the whole SEAGULL-100w build into WebDataset shards."),
    "serve": ("serve", "Start a local Prefect server and serve the build-100w deployment."),
    "verify": ("verify", "Check shards against their recorded checksums."),
    "fetch-raise": ("fetch_raise", "Download RAISE RAW files listed in a RAISE CSV."),
    "train": ("train", "Train SEAGULL on shards (tiny or paper config)."),
    "evaluate": ("evaluate", "Evaluate a trained SEAGULL as the paper does."),
    "assess": ("assess", "Assess the quality of one region of one image."),
    "export": ("export", "Write a trained run in the authors' release layout."),
    "3k": ("sg3k", "SEAGULL-3k: ROIs, Label Studio push/pull, aggregation and shards."),
    "demo": ("demo", "Serve the click-to-assess web page (Gradio) on this machine."),
    "publish": ("publish", "Copy a build's consumer files into a folder to share or push to the Hub."),
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _) in COMMANDS.items() if _module_exists(module))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, _ = COMMANDS[name]
        ensure_prefect_env()  # users' own settings win
        module = importlib.import_module(f"seagull.commands.{module_name}")
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    return importlib.util.find_spec(f"seagull.commands.{module}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seagull")
def main() -> None:
    """SEAGULL: region-of-interest image quality assessment.

    \b
    Build SEAGULL-100w:  seagull sample RAW/ && seagull build --raw-dir RAW/ --out shards/
    Train and evaluate:  seagull train --config tiny --stage 1 --shards 'shards/*.tar' --out runs/x
    """


if __name__ == "__main__":
    main()
