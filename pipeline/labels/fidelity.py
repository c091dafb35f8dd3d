"""How faithful a build's labels are: measured properties of its label table (docs/labels.md).

`label_fidelity(frame)` takes the labels of a build (the manifest, or `seagull label`'s labels.parquet:
columns dist_type, level, quality, importance, distortion, *_level) and measures, per distortion type:
- `level20_distorted_pct`: share of level-20 labels that carry the distortion (want >= 95 %),
- `spearman`: Spearman correlation of mean ROI quality against level (want <= -0.95),
- `level1_clean_pct`: share of level-1 labels judged "without distortion",
- `importance_gap`: mean importance of damaged ROIs (quality <= 0.5) minus that of clean ones;
and over all labels: the clean labels' importance (share unimportant or minor, mean) and the share of
every quality, importance and severity word (severity over the labels with a distortion only).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from pipeline.levels import LEVEL_WORDS
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

DAMAGED_QUALITY = 0.5  # "damaged" ROIs for the importance gap: quality at most fair


def label_fidelity(frame: pd.DataFrame) -> dict[str, Any]:
    """The measured properties above, as plain floats (percent where named *_pct); NaN where unmeasured."""
    frame = frame.dropna(subset=["quality"])
    clean = frame["distortion"] == CLEAN
    per_type = {t: _type_row(frame[frame["dist_type"] == t]) for t in DISTORTION_TYPES}
    clean_importance = frame.loc[clean, "importance_level"]
    return {
        "per_type": {t: row for t, row in per_type.items() if row is not None},
        "clean_labels": int(clean.sum()),
        "clean_unimportant_or_minor_pct": _pct(clean_importance.isin(["unimportant", "minor"])),
        "clean_mean_importance": _mean(frame.loc[clean, "importance"]),
        "word_shares_pct": word_shares(frame),
    }


def word_shares(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Percent of labels per level word of quality, importance, severity (over the labels with a
    distortion) and distortion (with / without)."""
    clean = frame["distortion"] == CLEAN
    return {
        "quality": _shares(frame["quality_level"], "quality"),
        "importance": _shares(frame["importance_level"], "importance"),
        "severity": _shares(frame.loc[~clean, "severity_level"], "severity"),
        "distortion": {"with": _pct(~clean), "without": _pct(clean)},
    }


def _type_row(rows: pd.DataFrame) -> dict[str, float] | None:
    if rows.empty:
        return None
    means = rows.groupby("level")["quality"].mean()
    spearman = means.index.to_series().corr(means, method="spearman") if len(means) > 2 else math.nan
    clean = rows["distortion"] == CLEAN
    damaged = rows["quality"] <= DAMAGED_QUALITY
    return {
        "level20_distorted_pct": _pct(~clean[rows["level"] == 20]),
        "spearman": round(float(spearman), 4),
        "level1_clean_pct": _pct(clean[rows["level"] == 1]),
        "importance_gap": round(
            _mean(rows.loc[damaged, "importance"]) - _mean(rows.loc[clean, "importance"]), 4
        ),
    }


def _pct(flags: pd.Series) -> float:
    return round(100.0 * float(flags.mean()), 2) if len(flags) else math.nan


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def _shares(words: pd.Series, task: str) -> dict[str, float]:
    counts = words.value_counts()
    total = max(1, int(counts.sum()))
    return {word: round(100.0 * int(counts.get(word, 0)) / total, 2) for word in LEVEL_WORDS[task]}


def _cell(value: float | None, digits: int) -> str:
    """A table cell: "n/a" where the build cannot measure it (no level 20 or 1, one level only)."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def fidelity_markdown(fidelity: dict[str, Any]) -> str:
    """The dataset card's section: a per-type table, the clean labels' importance and the word shares."""
    rows = [
        f"| {t} | {_cell(r['level20_distorted_pct'], 1)} | {_cell(r['spearman'], 3)} | "
        f"{_cell(r['level1_clean_pct'], 1)} | {_cell(r['importance_gap'], 3)} |"
        for t, r in fidelity["per_type"].items()
    ]
    shares = [
        f"- {task}: " + ", ".join(f"{word} {share:.1f} %" for word, share in words.items())
        for task, words in fidelity["word_shares_pct"].items()
    ]
    return "\n".join(
        [
            "## Label fidelity\n",
            "Measured on this build's labels (docs/labels.md says what each should be): the share of level-20 "
            "labels that carry the applied distortion (want >= 95 %), the Spearman correlation of mean ROI "
            "quality against level (want <= -0.95), the share of level-1 labels judged clean, and how much "
            "more important damaged ROIs (quality <= 0.5) are than clean ones.\n",
            "| type | level 20 with distortion (%) | Spearman(quality, level) | level 1 clean (%) | "
            "importance: damaged - clean |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Clean labels ({fidelity['clean_labels']}): {fidelity['clean_unimportant_or_minor_pct']:.1f} % "
            f"unimportant or minor, mean importance {fidelity['clean_mean_importance']:.3f}.\n",
            "Word shares (severity over the labels with a distortion):\n",
            *shares,
            "",
        ]
    )
