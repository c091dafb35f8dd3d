"""The environment the `seagull` commands set up before a command's module (and Prefect, tqdm) loads.

The one place that switches Prefect's analytics off for the CLI (tests: tests/conftest.py). Settings
are read when Prefect and tqdm are imported, so `seagull.cli` calls `prepare_env` before it imports a
sub-command's module. The user's own settings win, except what `--quiet` asks for.
"""

from __future__ import annotations

import os

PREFECT_DEFAULTS = {
    # Prefect's in-process (ephemeral) server gets 20 s to start by default: too little on a busy
    # 2-core machine, where `seagull build` then fails before doing any work.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # No analytics: nothing leaves the machine (also for `prefect server start` run by `seagull serve`).
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
# `seagull --quiet`: results, warnings and errors only; no progress bars, no Prefect info logs.
QUIET = {"TQDM_DISABLE": "1", "PREFECT_LOGGING_LEVEL": "WARNING"}


def prepare_env(quiet: bool = False) -> None:
    """Set the defaults above where the user has not, and the quiet settings when asked."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if quiet:
        os.environ.update(QUIET)
