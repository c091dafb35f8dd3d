"""`seagull serve`: a local Prefect server (SQLite, 127.0.0.1) if none answers, and the build-100w deployment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import click

from seagull.commands._prefect_env import ensure_prefect_env

RUN_EXAMPLE = (
    "prefect deployment run 'seagull-100w/build-100w' --param source=sample:8 --param out=shards --watch"
)


def api_healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True when a Prefect API answers at `api_url` (e.g. http://127.0.0.1:4200/api)."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(host: str, port: int, wait_s: float = 90.0) -> subprocess.Popen:
    """Start `prefect server start` (SQLite in PREFECT_HOME) and wait until its API answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
    )
    api_url = f"http://{host}:{port}/api"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if api_healthy(api_url):
            return server
        if server.poll() is not None:
            raise click.ClickException(
                f"prefect server exited with status {server.returncode}; is port {port} free?"
            )
        time.sleep(1.0)
    server.terminate()
    raise click.ClickException(f"prefect server did not answer at {api_url} within {wait_s:.0f} s")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Host of a server started here.")
@click.option("--port", default=4200, show_default=True, type=int, help="Port of a server started here.")
@click.option("--limit", default=1, show_default=True, type=click.IntRange(1), help="Flow runs at once.")
def command(host: str, port: int, limit: int) -> None:
    """Serve the `build-100w` deployment; start a local Prefect server first if none answers.

    The server is PREFECT_API_URL when that is set, else http://HOST:PORT/api. In another shell:

    \b
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    prefect deployment run 'seagull-100w/build-100w' --param source=sample:8 --param out=shards --watch
    """
    ensure_prefect_env()
    api_url = os.environ.get("PREFECT_API_URL") or f"http://{host}:{port}/api"
    server = None
    if not api_healthy(api_url):
        if "PREFECT_API_URL" in os.environ:
            raise click.ClickException(
                f"PREFECT_API_URL={api_url} does not answer; unset it to start a local server"
            )
        click.echo(f"no Prefect server at {api_url}: starting one (SQLite, {host}:{port})")
        server = start_server(host, port)
    os.environ["PREFECT_API_URL"] = api_url
    click.secho(f"serving build-100w on {api_url}; trigger it from another shell with:", fg="green")
    click.echo(f"  export PREFECT_API_URL={api_url}\n  {RUN_EXAMPLE}")
    # SIGTERM (kill, systemd, CI) must also run the `finally` below, so the server started here stops.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        from flows.deployment import serve

        serve(limit=limit)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
