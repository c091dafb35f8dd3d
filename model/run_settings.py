"""What a training run was started with, so that a run folder is only ever resumed by the same run.

A checkpoint records the run's settings (the model config and the run options, flattened to dotted
keys); resuming with any other value would continue the weights and optimizer state of one run under
the name of another: run.json would then describe settings the weights were never trained with.
Only settings that change how a run is watched or where it runs, not what it computes, may differ on a
resume.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

# Logging, checkpoint cadence, the progress bar and the device: a resume may change these.
FREE_ON_RESUME = frozenset(
    {"config.train.log_every", "config.train.checkpoint_every", "options.progress", "options.device"}
)


class SettingsChanged(ValueError):
    """A run folder's checkpoint was written by a run with other settings."""


def settings_tree(config: Any, options: Any) -> dict[str, Any]:
    """{"config": …, "options": …} of a ModelConfig and RunOptions as JSON values (tuples as lists):
    what run.json stores."""
    return json.loads(json.dumps({"config": asdict(config), "options": asdict(options)}, default=list))


def run_settings(config: Any, options: Any) -> dict[str, Any]:
    """{dotted key: JSON value} of a ModelConfig and RunOptions."""
    return flat_settings(settings_tree(config, options))


def flat_settings(tree: dict[str, Any]) -> dict[str, Any]:
    """{dotted key: value} of a {"config": …, "options": …} tree, as run.json stores it."""
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else key)
        else:
            flat[prefix] = node

    walk(tree, "")
    return flat


def changed_settings(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """'key: saved -> now' for every setting that differs, except FREE_ON_RESUME ones.

    A key the saved run did not record is an option added since: its old behaviour was the
    default, so it is not compared (a run from before `train.p_air` existed still resumes).
    """
    keys = sorted((saved.keys() & now.keys()) - FREE_ON_RESUME)
    return [f"{key}: {saved[key]} -> {now[key]}" for key in keys if saved[key] != now[key]]
