"""How faithful a build's labels are: measured properties of its label table (docs/labels.md).

`label_fidelity(frame)` takes the labels of a build (the manifest, or `seagull label`'s labels.parquet:
columns dist_type, level, quality, importance, distortion, *_level) and measures, per distortion type:
- `level20_distorted_pct`: share of level-20 labels that carry the distortion (want >= 95 %),
- `spearman`: Spearman correlation of mean ROI quality against level (want <= -0.95),
- `level1_clean_pct`: share of level-1 labels judged "without distortion",
- `importance_gap`: mean importance of damaged ROIs (quality <= 0.5) minus that of clean ones;
and over all labels: the clean labels' importance (share unimportant or minor, mean) and the share of
every quality, importance and severity word (severity over the labels with a distortion only); and the
calibration's between-halves check (`between_halves`): the references split into the two `halves`
`seagull label --calibrate` fits and checks on, the word shares of each half and their largest
difference, which issue 13 wants within `TOLERANCE_PP` points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from pipeline.levels import LEVEL_WORDS
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

DAMAGED_QUALITY = 0.5  # "damaged" ROIs for the importance gap: quality at most fair
TOLERANCE_PP = 5.0  # the largest word-share difference accepted between two sets of labels (issue 13)
TASKS = ("quality", "importance", "severity")  # the tasks whose word shares must agree
NAMED_REFERENCES = 10  # a half with more references is given by its count in the card


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
        "between_halves": between_halves(frame),
    }


def halves(ref_ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """(fit, check): alternate references in sorted id order, so both halves span the sample. The one
    split of the calibration (pipeline.labels.calibrate) and of the card's between-halves check."""
    ordered = sorted(ref_ids)
    return ordered[0::2], ordered[1::2]


def task_shares(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Word shares (percent) of the TASKS only: what the halves of a calibration are compared on."""
    shares = word_shares(frame)
    return {task: shares[task] for task in TASKS}


def largest_difference(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]) -> float:
    """The largest difference in points of a quality, importance or severity word share of a and b."""
    return round(max(abs(a[task][word] - b[task][word]) for task in TASKS for word in a[task]), 2)


def between_halves(frame: pd.DataFrame) -> dict[str, Any]:
    """The calibration's check on these labels: word shares of the two `halves` of their references.

    Returns {"references": n} alone when there are fewer than 2 references (nothing to compare), else
    also fit/check reference ids, `word_shares_pct` {"fit", "check"} (quality, importance, severity),
    `largest_difference_pp` and `within_tolerance` (<= TOLERANCE_PP).
    """
    ref_ids = sorted(frame["ref_id"].dropna().unique()) if "ref_id" in frame else []
    if len(ref_ids) < 2:
        return {"references": len(ref_ids)}
    fit_ids, check_ids = halves(ref_ids)
    shares = {
        half: task_shares(frame[frame["ref_id"].isin(ids)])
        for half, ids in (("fit", fit_ids), ("check", check_ids))
    }
    difference = largest_difference(shares["fit"], shares["check"])
    return {
        "references": len(ref_ids),
        "fit_references": fit_ids,
        "check_references": check_ids,
        "word_shares_pct": shares,
        "largest_difference_pp": difference,
        "within_tolerance": difference <= TOLERANCE_PP,
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
            _between_halves_markdown(fidelity["between_halves"]),
        ]
    )


def _names(ref_ids: Sequence[str]) -> str:
    """The references of a half, by name where few (the sample), else their count (a RAISE build)."""
    return ", ".join(ref_ids) if len(ref_ids) <= NAMED_REFERENCES else f"{len(ref_ids):,} references"


def _between_halves_markdown(check: dict[str, Any]) -> str:
    """The between-halves paragraph: the calibration's transfer check measured on this build's labels."""
    if "largest_difference_pp" not in check:
        return (
            f"Between halves: not measured; this build has {check['references']} reference(s), and the "
            "calibration's check compares the labels of two halves of at least 2.\n"
        )
    verdict = "within" if check["within_tolerance"] else "NOT within"
    lines = [
        f"- {half} half ({_names(check[f'{half}_references'])}): "
        + "; ".join(
            f"{task} " + ", ".join(f"{word} {share:.1f} %" for word, share in words.items())
            for task, words in check["word_shares_pct"][half].items()
        )
        for half in ("fit", "check")
    ]
    return "\n".join(
        [
            "Between halves (the calibration's check, docs/labels.md): the references split as "
            "`seagull label --calibrate` splits them (alternate ids in sorted order); the largest difference "
            "of a quality, importance or severity word share between the halves is "
            f"**{check['largest_difference_pp']:.1f} points**, {verdict} ±{TOLERANCE_PP:.0f} points.\n",
            *lines,
            "",
        ]
    )
