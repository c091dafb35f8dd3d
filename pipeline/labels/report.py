"""A look at the labels: mean ROI quality against level for each distortion type (PNG)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on build machines
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.taxonomy import DISTORTION_TYPES  # noqa: E402


def mean_quality_by_level(records: Iterable[dict[str, Any]]) -> dict[str, dict[int, float]]:
    """{type: {level: mean ROI quality}} over label records."""
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0])
    for record in records:
        entry = sums[(record["dist_type"], int(record["level"]))]
        entry[0] += float(record["quality"])
        entry[1] += 1
    table: dict[str, dict[int, float]] = defaultdict(dict)
    for (dist_type, level), (total, count) in sorted(sums.items()):
        table[dist_type][level] = total / count
    return dict(table)


def plot_quality_by_level(
    table: dict[str, dict[int, float]], path: Path, metric: str, threshold: float
) -> Path:
    """Line plot of `mean_quality_by_level`, the "without distortion" threshold dashed."""
    figure, axis = plt.subplots(figsize=(7, 4.5), dpi=110)
    for dist_type in DISTORTION_TYPES:
        if dist_type in table:
            levels = sorted(table[dist_type])
            axis.plot(
                levels, [table[dist_type][k] for k in levels], marker="o", markersize=3, label=dist_type
            )
    axis.axhline(
        threshold, color="grey", linestyle="--", linewidth=1, label=f"without distortion > {threshold}"
    )
    axis.set(
        xlabel="distortion level (1 = mildest)",
        ylabel="mean ROI quality (0..1)",
        ylim=(0, 1.02),
        xticks=range(1, 21),
    )
    axis.set_title(f"Mean ROI quality by level ({metric})")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
