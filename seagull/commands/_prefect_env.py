"""Prefect settings for commands run from a terminal, in one place (tests set their own).

`seagull` applies them before any sub-command is imported; the commands that start Prefect apply them
again, so they hold also when a command is invoked on its own (tests, `python -m`).
"""

from __future__ import annotations

import os

PREFECT_DEFAULTS = {
    # Prefect's in-process (ephemeral) server gets 20 s to start by default: too little on a busy 2-core
    # machine, where `seagull build` then fails before doing any work.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no test or build phones home
}


def ensure_prefect_env() -> None:
    """`PREFECT_DEFAULTS` where the user set nothing. Must run before `prefect` is imported (settings
    are read then)."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
