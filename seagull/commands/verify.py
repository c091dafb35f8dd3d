"""`seagull verify SHARD_DIR`: check every shard against its recorded sha256, size and sample count."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from pipeline.build_folder import rebuild_command
from pipeline.build_state import legacy_message
from pipeline.shards.verify import failure_message, verify_manifest, verify_shards


@click.command("verify")
@click.argument("shard_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per shard instead of a table.")
def command(shard_dir: Path, as_json: bool) -> None:
    """Check the shards in SHARD_DIR against their `_stats.json` (sha256, size, sample keys), and
    manifest.parquet and its parts against the stats (rows and keys per shard); exit 1 if anything is
    wrong, printing the build command that repairs the folder.

    \b
    seagull verify shards/
    """
    try:
        checks = verify_shards(shard_dir)
        manifest_problems = verify_manifest(shard_dir)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    for check in checks:
        if as_json:
            click.echo(json.dumps(asdict(check)))
        else:
            click.echo(f"{check.status:<10} {check.shard}  {check.detail}")
    if legacy_message(shard_dir):  # its manifest parts are not checked until a build moves them
        click.echo(f"note: {legacy_message(shard_dir)}", err=True)
    message = failure_message(checks, shard_dir, manifest_problems, rebuild_command(shard_dir))
    if message:
        click.echo(message, err=True)
        sys.exit(1)
    if not as_json:
        click.echo(f"all {len(checks)} shards ok")
