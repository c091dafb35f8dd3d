"""Prefect settings for commands run from a terminal (not for tests: they set their own)."""

from __future__ import annotations

import os


def ensure_prefect_env() -> None:
    """No analytics. Must run before `prefect` is imported (settings are read then)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
