"""The dataset card: `README.md` in the shard directory, with counts, label histograms and figures.

Built from the shards' stats JSON and the merged manifest only (no tar is opened), so it is cheap
to regenerate. Figures are drawn with matplotlib's object API (no pyplot, no global backend).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.levels import LEVEL_WORDS
from pipeline.shards.features import SAMPLE_FEATURES, hub_features
from pipeline.shards.manifest import MANIFEST_NAME, read_manifest
from pipeline.split import SPLITS
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

CARD_NAME = "README.md"
QUALITY_FIGURE = "quality_vs_level.png"
HISTOGRAM_FIGURE = "label_histograms.png"
RAISE_HOME = "http://loki.disi.unitn.it/RAISE/"
SPLIT_SHARD = re.compile(r"-(train|test)-\d+\.tar$")  # a shard that holds one split only
# The Hub's size categories (upper bounds in samples), smallest first.
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
)


def write_card(
    out_dir: Path,
    stats: list[Any],
    title: str = "SEAGULL-100w",
    features: Mapping[str, Any] | None = SAMPLE_FEATURES,
) -> Path:
    """Write README.md (and its two figures) into the shard directory; return the card's path.

    Args:
        out_dir: the shard directory, with manifest.parquet already merged.
        stats: the `ShardStats` of every shard of the build.
        title: the card's heading.
        features: the samples' declared types (`pipeline.shards.features`); None leaves them to
            the reader's inference (a sample format without a declaration, e.g. SEAGULL-3k's).
    """
    out_dir = Path(out_dir)
    frame = read_manifest(out_dir).to_pandas()
    labelled = frame.dropna(subset=["quality"])
    metadata = front_matter(sum(s.count for s in stats), title, features, [s.shard for s in stats])
    sections = [
        "---\n" + yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True) + "---\n",
        f"# {title}\n",
        _counts(stats, frame),
        _provenance(frame),
        _isp_parameters(frame),
    ]
    # Quality by type and level exists for synthetic (100w) rows only; SEAGULL-3k's are "authentic".
    synthetic = labelled[labelled["dist_type"].isin(DISTORTION_TYPES)]
    if len(synthetic):
        _quality_figure(synthetic).savefig(out_dir / QUALITY_FIGURE, dpi=110)
    if len(labelled):
        _histogram_figure(labelled).savefig(out_dir / HISTOGRAM_FIGURE, dpi=110)
        sections += [_histograms(labelled)]
        if len(synthetic):
            sections += [_quality_table(synthetic), _fidelity(synthetic), _figures(synthetic)]
    else:
        sections.append("No ROI labels in this build (no labels stage ran): no histograms or figures.\n")
    sections.append(_usage(stats))
    path = out_dir / CARD_NAME
    path.write_text("\n".join(sections))
    return path


def front_matter(
    n_samples: int,
    title: str = "SEAGULL-100w",
    features: Mapping[str, Any] | None = SAMPLE_FEATURES,
    shards: Sequence[str] = (),
) -> dict[str, Any]:
    """The card's YAML metadata in the Hugging Face Hub's conventions.

    `configs` make `datasets.load_dataset(folder)` read the tars with its webdataset builder (one
    sample per image: `png`, `json`) rather than whatever JSON or parquet files it finds, and
    `dataset_info: features` gives it the samples' types instead of inferring them from the first
    five samples (`pipeline.shards.features`). The manifest is not a second config: `datasets` (5.2)
    infers one builder for all configs of a folder from the first config's files, so a parquet
    config next to the tars is opened as a tar (`tarfile.ReadError: invalid header`); the card shows
    `load_dataset("parquet", data_files=...)` for it instead. The Hub has no licence id for RAISE's
    terms, hence "other". `shards` (the tars' names) decide the splits: see `hub_splits`.
    """
    size = next((name for bound, name in SIZE_CATEGORIES if n_samples < bound), "n>10M")
    metadata = {
        "pretty_name": title,
        "license": "other",
        "license_name": "raise-research-non-commercial",
        "license_link": RAISE_HOME,
        "task_categories": ["image-text-to-text", "visual-question-answering"],
        "tags": ["image-quality-assessment", "roi", "webdataset", "raw-images"],
        "size_categories": [size],
        "configs": [{"config_name": "default", "default": True, "data_files": hub_splits(shards)}],
    }
    if features is not None:
        metadata["dataset_info"] = {"features": hub_features(features)}
    return metadata


def hub_splits(shards: Sequence[str]) -> list[dict[str, str]]:
    """The card's `data_files`: one Hub split per split that has its own shards (SEAGULL-3k's
    `<prefix>-train-*.tar`, `<prefix>-test-*.tar`); otherwise every tar in `train`, as for SEAGULL-100w,
    whose shards hold both splits (each sample's `split` field and the manifest tell them apart)."""
    found = [SPLIT_SHARD.search(name) for name in shards]
    if not shards or not all(found):
        return [{"split": "train", "path": "*.tar"}]
    present = {match.group(1) for match in found}
    return [{"split": split, "path": f"*-{split}-*.tar"} for split in SPLITS if split in present]


def _counts(stats: list[Any], frame: pd.DataFrame) -> str:
    n_rois = frame.drop_duplicates(["ref_id", "roi_id"]).shape[0]
    n_refs = frame["ref_id"].nunique()
    rows = [
        ("shards", len(stats)),
        ("bytes", f"{sum(s.bytes for s in stats):,}"),
        ("reference images", sum(s.n_references for s in stats)),
        ("distorted images", sum(s.n_distorted for s in stats)),
        ("ROIs (all references)", n_rois),
        ("ROIs per reference (mean)", f"{n_rois / n_refs:.1f}" if n_refs else "0"),
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


def _isp_parameters(frame: pd.DataFrame) -> str:
    """The 6 x 20 table of ISP parameters (level rows, type columns) that made the distorted images."""
    if "isp_parameter" not in frame or frame["isp_parameter"].isna().all():
        return "## ISP parameters\n\nNot recorded in this build's manifest.\n"
    rows = frame.dropna(subset=["isp_parameter"]).drop_duplicates(["dist_type", "level"])
    types = [t for t in DISTORTION_TYPES if t in set(rows["dist_type"])]
    cells = {
        (r.dist_type, int(r.level)): f"{r.isp_value:g}"
        + (f" {r.isp_direction}" if isinstance(r.isp_direction, str) else "")
        for r in rows.itertuples()
    }
    levels = sorted({level for _, level in cells})
    table = _table(["level", *types], [(k, *(cells.get((t, k), "") for t in types)) for k in levels])
    units = rows.drop_duplicates("dist_type").set_index("dist_type")
    legend = "\n".join(f"- {t}: `{units.at[t, 'isp_parameter']}`, {units.at[t, 'isp_unit']}" for t in types)
    return (
        "## ISP parameters\n\nThe parameter that makes each level (two-way types name the direction); "
        "level 1 is the mildest by measured degradation (docs/render.md).\n\n" + legend + "\n\n" + table
    )


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
        "Hugging Face `datasets` (the card's `configs` select the tars, `dataset_info` declares their "
        "types: null only where a value is absent, e.g. the severity of a clean ROI):\n\n"
        "```python\n"
        "import os\n"
        "import datasets\n"
        "here = os.getcwd()  # this folder (`datasets` needs a named one, not '.'); on the Hub: 'USER/NAME'\n"
        "samples = datasets.load_dataset(here, split='train')  # png (PIL image), json (dict)\n"
        f"rows = datasets.load_dataset('parquet', data_files='{MANIFEST_NAME}', split='train')  # (image, ROI)\n"
        "```\n\n" + _splits_note(stats) + "\n\n"
        "## Licence\n\n"
        f"The images are rendered from RAW files of RAISE ({RAISE_HOME}; Dang-Nguyen et al., ACM MMSys 2015), "
        "which may be used for non-commercial research only: read the terms on the RAISE page. "
        "Shards derived from RAISE carry the same restriction. "
        "The SEAGULL code that made them is Apache-2.0; that licence does not cover the images.\n\n"
        + _stats_block(stats)
    )


def _splits_note(stats: list[Any]) -> str:
    splits = [entry["split"] for entry in hub_splits([s.shard for s in stats])]
    if splits == ["train"]:
        return (
            "The Hub's one split, `train`, holds every sample of the build, in shard order "
            "(reference, then type, then level): shuffle, or pick from the manifest, for an unbiased "
            "subset; each sample's `split` field (and the manifest's) holds the 80/20 train/test split."
        )
    return "The Hub's splits are the shards' own: " + ", ".join(f"`{split}`" for split in splits) + "."


def _stats_block(stats: list[Any]) -> str:
    rows = [(s.shard, s.count, f"{s.bytes:,}", s.sha256[:16]) for s in stats]
    return "## Shards\n\n" + _table(["shard", "samples", "bytes", "sha256 (prefix)"], rows)


def _table(header: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
