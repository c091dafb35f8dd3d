"""Click options shared by several sub-commands."""

import click

run_dir_option = click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="A `seagull train` --out folder.",
)
