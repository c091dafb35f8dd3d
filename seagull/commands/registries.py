"""`seagull list`: every registry (segmenters, detectors, label metrics, projectors, model configs)
with what each entry needs: a weight file, an extra package, or nothing."""

from __future__ import annotations

import click

from pipeline.registry import Entry


def registries() -> list[tuple[str, str, str | None, list[Entry]]]:
    """(title, option that takes the name, default name, entries) for each registry."""
    from model.config import list_configs
    from model.projector import PROJECTORS
    from pipeline import labels, masks
    from pipeline.labels.metrics import metric_entries

    return [
        ("segmenters", "--segmenter", masks.DEFAULT_SEGMENTER, masks.SEGMENTERS.entries()),
        ("detectors", "--detector", masks.DEFAULT_DETECTOR, masks.DETECTORS.entries()),
        ("label metrics", "--metric", labels.DEFAULT_METRIC, metric_entries()),
        ("projectors", "model config `projector`", None, PROJECTORS.entries()),
        # Architectures, not components: nothing to load, so no "needs" column.
        ("model configs", "train --config", None, [Entry(name) for name in list_configs()]),
    ]


def format_registry(title: str, option: str, default: str | None, entries: list[Entry]) -> list[str]:
    """The lines of one registry: a heading, then one line per entry with what it needs."""
    width = max(len(e.name) for e in entries) + 2
    lines = [f"{title} ({option}" + (f"; default {default})" if default else ")")]
    for entry in entries:
        mark = " (default)" if entry.name == default else ""
        needs = entry.needs() if title != "model configs" else ""
        lines.append(f"  {entry.name:{width}s}{needs}{mark}".rstrip())
    return lines


@click.command("list")
def command() -> None:
    """List every registry and what each entry needs (weight file, extra package).

    Names marked NOT AVAILABLE are known but need a package this environment lacks; the line says
    what to install. Weight files are never downloaded: pass their local path (--checkpoint,
    --detector-weights, --metric-weights).
    """
    for i, (title, option, default, entries) in enumerate(registries()):
        if i:
            click.echo()
        for line in format_registry(title, option, default, entries):
            click.echo(line)
