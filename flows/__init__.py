"""Prefect wiring of the pipeline stages (no logic of its own)."""

from flows import _fork_safety  # noqa: F401  (registers a fork hook; see the module)
