"""SIMULATED annotators for the demo set: seeded noise around a reference rating, standing in for people.

Nothing here is a human judgement. The reference rating of an ROI follows from the demo recipe that
damaged its image (`pipeline.sg3k.demo`): a type is present where a step causing it covers the ROI
(its region weight averaged over the mask), at the step's level, milder where the ROI is only partly
covered; quality falls with each present type's severity; importance grows with the ROI's size and
closeness to the centre. Each simulated annotator adds a personal bias (drawn once per annotator) and
per-answer noise, misses a present defect or imagines an absent one now and then. Every rating they
give carries source "simulated" and an annotator id `simulated-<k>`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from pipeline.sg3k.aggregate import Rating
from pipeline.sg3k.demo import Recipe
from pipeline.sg3k.questionnaire import ABSENT_LEVEL, DISTORTION_QUESTIONS

SOURCE = "simulated"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # fixed times: the same seed gives the same ratings file


@dataclass(frozen=True)
class AnnotatorModel:
    """How simulated annotators deviate from the reference rating (in levels)."""

    bias_sd: float = 0.35  # an annotator's lasting leniency or strictness
    noise_sd: float = 0.7  # per-answer scatter
    miss_rate: float = 0.12  # rates a present distortion "non-existent"
    false_alarm_rate: float = 0.1  # rates an absent distortion as trivial or minor
    min_cover: float = 0.25  # a step covering less of the ROI than this leaves it without the type
    penalty: float = 0.45  # quality levels lost per step of severity (5 - level) of each present type


def annotator_id(k: int) -> str:
    return f"{SOURCE}-{k:02d}"


def reference_answers(
    recipe: Recipe, mask: np.ndarray, model: AnnotatorModel = AnnotatorModel()
) -> dict[str, float]:
    """The reference (noise-free, fractional) answers for one ROI of a demo image.

    Args:
        recipe: the demo recipe of the image.
        mask: bool (H, W), the ROI.
    """
    reference: dict[str, float] = {t: float(ABSENT_LEVEL) for t in DISTORTION_QUESTIONS}
    for step in recipe.steps:
        weight = step.weight(mask.shape)
        cover = 1.0 if weight is None else float(weight[mask].mean())
        if cover < model.min_cover:
            continue
        for dist_type, level in step.levels.items():
            milder = min(4.0, level + 2.0 * (1.0 - cover))  # partly covered: milder
            reference[dist_type] = min(reference[dist_type], milder)
    lost = sum((ABSENT_LEVEL - reference[t]) * model.penalty for t in DISTORTION_QUESTIONS)
    reference["quality"] = float(np.clip(4.0 - lost, 0.0, 4.0))
    height, width = mask.shape
    rows, cols = np.nonzero(mask)
    centre = np.hypot(rows.mean() / height - 0.5, cols.mean() / width - 0.5) / np.hypot(0.5, 0.5)
    size = min(1.0, np.sqrt(mask.mean() / 0.4))
    reference["importance"] = float(np.clip(4.0 * (0.6 * size + 0.4 * (1.0 - centre)), 0.0, 4.0))
    return reference


def simulate_ratings(
    task_id: str,
    reference: dict[str, float],
    n_annotators: int = 7,
    seed: int = 0,
    model: AnnotatorModel = AnnotatorModel(),
) -> list[Rating]:
    """`n_annotators` SIMULATED ratings of one ROI around its reference answers (seeded, reproducible)."""
    ratings = []
    for k in range(n_annotators):
        bias = np.random.default_rng([seed, k]).normal(0.0, model.bias_sd)  # the same for all ROIs
        rng = np.random.default_rng([seed, k, zlib.crc32(task_id.encode())])
        answers = {t: _distortion_answer(reference[t], bias, rng, model) for t in DISTORTION_QUESTIONS}
        for question in ("quality", "importance"):
            answers[question] = int(
                np.clip(np.rint(reference[question] + bias + rng.normal(0, model.noise_sd)), 0, 4)
            )
        when = EPOCH + timedelta(minutes=k, seconds=zlib.crc32(task_id.encode()) % 60)
        ratings.append(Rating(task_id, annotator_id(k + 1), when.isoformat(), answers, SOURCE))
    return ratings


def _distortion_answer(reference: float, bias: float, rng: np.random.Generator, model: AnnotatorModel) -> int:
    if reference >= ABSENT_LEVEL:
        return int(rng.integers(3, 5)) if rng.random() < model.false_alarm_rate else ABSENT_LEVEL
    if rng.random() < model.miss_rate:
        return ABSENT_LEVEL
    return int(np.clip(np.rint(reference + bias + rng.normal(0, model.noise_sd)), 0, 4))
