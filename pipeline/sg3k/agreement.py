"""Inter-annotator agreement per question: Krippendorff's alpha (the `krippendorff` package).

Alpha handles what a crowd of annotators gives: each ROI rated by a different subset of people, so the
reliability matrix (annotators x ROIs) has holes. The distortion questions are ordinal (extreme ..
non-existent); quality and importance are averaged by the paper, so they are measured as interval data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import krippendorff
import numpy as np

from pipeline.sg3k.aggregate import Rating
from pipeline.sg3k.questionnaire import QUESTIONS, SCORE_QUESTIONS

# question -> Krippendorff's level of measurement
LEVELS_OF_MEASUREMENT: dict[str, str] = {
    question: ("interval" if question in SCORE_QUESTIONS else "ordinal") for question in QUESTIONS
}


def reliability_matrix(ratings: Sequence[Rating], question: str, task_ids: Sequence[str]) -> np.ndarray:
    """float (annotators, ROIs): the level each annotator gave each ROI, NaN where they gave none."""
    annotators = sorted({r.annotator for r in ratings})
    rows, cols = {a: i for i, a in enumerate(annotators)}, {t: j for j, t in enumerate(task_ids)}
    matrix = np.full((len(annotators), len(task_ids)), np.nan)
    for rating in ratings:
        if rating.task_id in cols:
            matrix[rows[rating.annotator], cols[rating.task_id]] = rating.answers[question]
    return matrix


def agreement(ratings: Iterable[Rating], task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Krippendorff's alpha of every question over the ROIs `task_ids` (those that were aggregated).

    Returns:
        {question: {"alpha": float or None, "level_of_measurement", "n_rois", "n_annotators",
        "note": why alpha is None (e.g. every rating the same value)}}.
    """
    task_ids = sorted(set(task_ids))
    ratings = [r for r in ratings if r.task_id in set(task_ids)]
    result = {}
    for question, level in LEVELS_OF_MEASUREMENT.items():
        matrix = reliability_matrix(ratings, question, task_ids)
        entry: dict[str, Any] = {
            "level_of_measurement": level,
            "n_rois": len(task_ids),
            "n_annotators": int(matrix.shape[0]),
        }
        domain = np.arange(len(QUESTIONS[question]))
        try:
            with np.errstate(invalid="ignore", divide="ignore"):  # no variation: NaN, handled below
                alpha = krippendorff.alpha(matrix, value_domain=domain, level_of_measurement=level)
            entry["alpha"] = round(float(alpha), 4)
        except (ValueError, ZeroDivisionError) as error:  # too little data, or no variation at all
            entry.update(alpha=None, note=str(error))
        if entry.get("alpha") is not None and np.isnan(entry["alpha"]):
            entry.update(alpha=None, note="undefined: every rating has the same value")
        result[question] = entry
    return result
