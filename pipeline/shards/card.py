"""The dataset card: `README.md` in the shard directory, with counts, label histograms and figures.

Built from the shards' stats JSON and the merged manifest only (no tar is opened), so it is cheap
to regenerate. Figures are drawn with matplotlib's object API (no pyplot, no global backend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.levels import LEVEL_WORDS
from pipeline.shards.manifest import MANIFEST_NAME, read_manifest
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

CARD_NAME = "README.md"
QUALITY_FIGURE = "quality_vs_level.png"
HISTOGRAM_FIGURE = "label_histograms.png"


def write_card(out_dir: Path, stats: list[Any], title: str = "SEAGULL-100w") -> Path:
    """Write README.md (and its two figures) into the shard directory; return the card's path.

    Args:
        out_dir: the shard directory, with manifest.parquet already merged.
        stats: the `ShardStats` of every shard of the build.
        title: the card's heading.
    """
    out_dir = Path(out_dir)
    frame = read_manifest(out_dir).to_pandas()
    labelled = frame.dropna(subset=["quality"])
    sections = [f"# {title}\n", _counts(stats, frame), _provenance(frame)]
    if len(labelled):
        _quality_figure(labelled).savefig(out_dir / QUALITY_FIGURE, dpi=110)
        _histogram_figure(labelled).savefig(out_dir / HISTOGRAM_FIGURE, dpi=110)
        sections += [_histograms(labelled), _quality_table(labelled), _fidelity(labelled), _figures(labelled)]
    else:
        sections.append("No ROI labels in this build (no labels stage ran): no histograms or figures.\n")
    sections.append(_usage(stats))
    path = out_dir / CARD_NAME
    path.write_text("\n".join(sections))
    return path


def _counts(stats: list[Any], frame: pd.DataFrame) -> str:
    rows = [
        ("shards", len(stats)),
        ("bytes", f"{sum(s.bytes for s in stats):,}"),
        ("reference images", sum(s.n_references for s in stats)),
        ("distorted images", sum(s.n_distorted for s in stats)),
        ("ROIs (per reference)", frame.drop_duplicates(["ref_id", "roi_id"]).shape[0]),
        ("ROI labels (manifest rows)", len(frame)),
        ("ROI labels with scores", int(frame["quality"].notna().sum())),
    ]
    kinds = frame.drop_duplicates(["ref_id", "roi_id"])["kind"].value_counts()
    rows += [(f"ROIs of kind {kind}", count) for kind, count in sorted(kinds.items())]
    return "## Counts\n\n" + _table(["what", "count"], rows)


def _provenance(frame: pd.DataFrame) -> str:
    lines = ["## Provenance\n"]
    for column in ("segmenter", "detector", "metric", "preset_hash", "code_version", "weights"):
        values = sorted(str(v) for v in frame[column].dropna().unique())
        lines.append(f"- {column}: " + (", ".join(f"`{v}`" for v in values) if values else "(not recorded)"))
    return "\n".join(lines) + "\n"


def _histograms(labelled: pd.DataFrame) -> str:
    parts = ["## Label histograms\n"]
    for task, words in LEVEL_WORDS.items():
        counts = labelled[f"{task}_level"].value_counts()  # nulls (a clean ROI's severity) are not counted
        title = "severity (labels with a distortion only)" if task == "severity" else task
        parts.append(
            f"{title}:\n\n" + _table(["level", "ROI labels"], [(w, int(counts.get(w, 0))) for w in words])
        )
    distortion = labelled["distortion"].value_counts()
    names = (*DISTORTION_TYPES, CLEAN)
    parts.append(
        "distortion:\n\n"
        + _table(["distortion", "ROI labels"], [(n, int(distortion.get(n, 0))) for n in names])
    )
    return "\n".join(parts)


def _quality_table(labelled: pd.DataFrame) -> str:
    """Mean ROI quality per type (rows) and level (columns): the figure's numbers."""
    means = labelled.pivot_table(index="dist_type", columns="level", values="quality", aggfunc="mean")
    rows = [(t, *(f"{v:.3f}" for v in means.loc[t])) for t in DISTORTION_TYPES if t in means.index]
    return "## Mean ROI quality by type and level\n\n" + _table(["type", *map(str, means.columns)], rows)


def _fidelity(labelled: pd.DataFrame) -> str:
    """The label-fidelity section (pipeline/labels/fidelity.py): how faithful this build's labels are."""
    from pipeline.labels.fidelity import fidelity_markdown, label_fidelity

    return fidelity_markdown(label_fidelity(labelled))


def _figures(labelled: pd.DataFrame) -> str:
    metrics = ", ".join(sorted(labelled["metric"].dropna().unique())) or "the build's metric"
    return (
        "## Figures\n\n"
        f"Mean ROI quality ({metrics}, 0..1) against the distortion level, per type:\n\n![quality]({QUALITY_FIGURE})\n\n"
        f"Label level histograms:\n\n![histograms]({HISTOGRAM_FIGURE})\n"
    )


def _quality_figure(labelled: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    axes = figure.subplots()
    stats = labelled.groupby(["dist_type", "level"])["quality"].agg(
        ["mean", lambda q: q.quantile(0.25), lambda q: q.quantile(0.75)]
    )
    stats.columns = ["mean", "q25", "q75"]
    present = [t for t in DISTORTION_TYPES if t in stats.index.get_level_values(0)]
    for color, dist_type in enumerate(present):
        curve = stats.loc[dist_type]
        axes.plot(curve.index, curve["mean"], marker="o", ms=3, color=f"C{color}", label=dist_type)
        axes.fill_between(curve.index, curve["q25"], curve["q75"], color=f"C{color}", alpha=0.15)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set(xlabel="distortion level (1 = mildest)", ylabel="ROI quality (mean, IQR band)", ylim=(0, 1.02))
    axes.legend(fontsize=8, ncol=3)
    return figure


def _histogram_figure(labelled: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(10, 3), layout="constrained")
    for axes, (task, words) in zip(figure.subplots(1, 3), LEVEL_WORDS.items(), strict=True):
        counts = labelled[f"{task}_level"].value_counts()
        axes.bar(range(len(words)), [int(counts.get(w, 0)) for w in words])
        axes.set_xticks(range(len(words)), words, rotation=30, fontsize=8)
        axes.set_title(task)
    return figure


def _usage(stats: list[Any]) -> str:
    example = stats[0].shard if stats else "seagull100w-000000.tar"
    return (
        "## Reading these shards\n\n"
        "Each distorted image is one sample (`<key>.png` + `<key>.json`, ROIs with RLE masks and labels); "
        "each reference is stored once, as `<ref_id>_ref` just before its variants in the same shard. "
        f"`{MANIFEST_NAME}` has one row per (distorted image, ROI) label. "
        "Each shard's `_stats.json` holds its sha256; `seagull verify <dir>` checks them.\n\n"
        "```python\n"
        "from pipeline.shards.loader import roi_dataset\n"
        "for sample in roi_dataset('.', references='attach'):\n"
        "    sample['image'], sample['masks'], sample['rois'][0]['quality_level']\n"
        "```\n\n"
        "Plain webdataset:\n\n"
        "```python\n"
        "import webdataset as wds\n"
        f"for s in wds.WebDataset('{example}', shardshuffle=False).decode('rgb'):\n"
        "    image, record = s['png'], s['json']  # HxWx3 float, dict\n"
        "```\n\n"
        "Shards built from RAISE inherit its licence (research, non-commercial).\n\n" + _stats_block(stats)
    )


def _stats_block(stats: list[Any]) -> str:
    rows = [(s.shard, s.count, f"{s.bytes:,}", s.sha256[:16]) for s in stats]
    return "## Shards\n\n" + _table(["shard", "samples", "bytes", "sha256 (prefix)"], rows)


def _table(header: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
