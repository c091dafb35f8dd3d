"""The paper's aggregation of SEAGULL-3k ratings (§3.2), one pure function with the rules as data.

For each ROI, over its annotators (at least `min_ratings`; fewer: reported and left out):
- each distortion type: if a majority rates "non-existent" (5) the ROI is *without* it; otherwise it is
  *with* it and its severity is the mean of the levels rated (0 = extreme .. 4 = trivial);
- quality (0 = bad .. 4 = excellent) and importance (0 = unimportant .. 4 = essential): the means;
- all three means become level words by eq. 1 (pipeline.levels) on [0, M], M = 4.

Where the paper is silent, `AggregationRules` states the choice:
- "majority" is strict: more than half of the ratings. A tie (e.g. 4 of 8 "non-existent") is not a
  majority, so the ROI is *with* the distortion (`absent_on_tie=False`);
- "the levels rated" are the ratings other than "non-existent" (`severity_over="present"`): a
  "non-existent" vote is not a severity, so it does not make a distortion milder; M = 4.
  `severity_over="all"` averages every rating, 5 included, on M = 5, for those who read it so;
- one rating per annotator and ROI: a later rating by the same annotator replaces an earlier one.

Stored scores are the means divided by M (0..1, as SEAGULL-100w's: severity 0 = the worst), with the
raw means beside them (`quality_mos`, `importance_mos`, `mean_level`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.levels import level_word
from pipeline.sg3k.questionnaire import ABSENT_LEVEL, DISTORTION_QUESTIONS, SCORE_QUESTIONS, check_answers
from pipeline.taxonomy import CLEAN

DECIMALS = 6  # rounded so that labels are byte-identical across runs


@dataclass(frozen=True)
class AggregationRules:
    """The aggregation rules (paper §3.2 plus the choices it leaves open, see the module docstring)."""

    min_ratings: int = 7  # paper: "each ROI is annotated by at least 7 annotators"
    absent_level: int = ABSENT_LEVEL  # "non-existent"
    absent_on_tie: bool = False  # a tie is not a majority: the ROI is "with" the distortion
    severity_over: str = "present"  # "present": mean of the 0..4 ratings; "all": of every rating, 5 included
    score_max: float = 4.0  # M of eq. 1 for quality and importance (levels 0..4)

    def __post_init__(self) -> None:
        if self.severity_over not in ("present", "all"):
            raise ValueError(f"severity_over must be 'present' or 'all', got {self.severity_over!r}")
        if self.min_ratings < 1:
            raise ValueError(f"min_ratings must be >= 1, got {self.min_ratings}")

    @property
    def severity_max(self) -> float:
        """M of eq. 1 for severity: 4 over the present levels, 5 when "non-existent" votes count."""
        return float(self.absent_level - 1 if self.severity_over == "present" else self.absent_level)


PAPER_RULES = AggregationRules()


@dataclass(frozen=True)
class Rating:
    """One annotator's answers for one ROI (a Label Studio annotation, or a simulated one).

    Attributes:
        task_id: the ROI's task id, `<image_id>_roi<NN>` (`pipeline.sg3k.tasks.task_id`).
        annotator: who rated (Label Studio user id or e-mail; `sim-<k>` for simulated annotators).
        created_at: ISO 8601 time of the rating.
        answers: {question: level index} for every question of `questionnaire.QUESTIONS`.
        source: "labelstudio", "export:<file>" or "simulated".
    """

    task_id: str
    annotator: str
    created_at: str
    answers: Mapping[str, int]
    source: str = "labelstudio"

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "annotator": self.annotator,
            "created_at": self.created_at,
            "answers": dict(self.answers),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Rating:
        return cls(
            record["task_id"],
            str(record["annotator"]),
            record["created_at"],
            record["answers"],
            record["source"],
        )


@dataclass(frozen=True)
class Aggregation:
    """What `aggregate` returns: labels of the ROIs with enough ratings, and what was left out."""

    labels: dict[str, dict[str, Any]]  # task_id -> label record
    excluded: list[dict[str, Any]]  # {"task_id", "n_ratings", "reason"}, sorted by task_id
    replaced: int = 0  # earlier ratings replaced by the same annotator's later one
    rules: AggregationRules = field(default_factory=AggregationRules)


def distortion_entry(dist_type: str, levels: Sequence[int], rules: AggregationRules) -> dict[str, Any] | None:
    """The `distortions` entry of one type from its ratings, or None when the ROI is without it."""
    absent = sum(level == rules.absent_level for level in levels)
    if 2 * absent > len(levels) or (2 * absent == len(levels) and rules.absent_on_tie):
        return None
    rated = (
        [level for level in levels if level != rules.absent_level]
        if rules.severity_over == "present"
        else levels
    )
    mean = sum(rated) / len(rated)
    return {
        "type": dist_type,
        "severity": round(mean / rules.severity_max, DECIMALS),
        "severity_level": level_word("severity", mean, rules.severity_max),
        "mean_level": round(mean, DECIMALS),
        "votes_absent": absent,
    }


def aggregate_roi(
    answers: Sequence[Mapping[str, int]], rules: AggregationRules = PAPER_RULES
) -> dict[str, Any]:
    """The label of one ROI from its annotators' answers (each {question: level}).

    Returns:
        {"quality", "quality_level", "quality_mos", "importance", "importance_level", "importance_mos",
         "distortions": [entries, most severe first], "distortion", "severity", "severity_level",
         "n_ratings"}; scores in 0..1 (mean / M), `*_mos` the raw means in 0..4.

    Raises:
        ValueError: fewer than `rules.min_ratings` answers.
    """
    if len(answers) < rules.min_ratings:
        raise ValueError(f"{len(answers)} ratings, the rules ask for at least {rules.min_ratings}")
    label: dict[str, Any] = {}
    for question in SCORE_QUESTIONS:
        mean = sum(a[question] for a in answers) / len(answers)
        label[question] = round(mean / rules.score_max, DECIMALS)
        label[f"{question}_level"] = level_word(question, mean, rules.score_max)
        label[f"{question}_mos"] = round(mean, DECIMALS)
    entries = [distortion_entry(t, [a[t] for a in answers], rules) for t in DISTORTION_QUESTIONS]
    # Most severe first (lowest severity; taxonomy order breaks ties), so entry 0 is the mirror.
    present = sorted(
        (e for e in entries if e), key=lambda e: (e["severity"], DISTORTION_QUESTIONS.index(e["type"]))
    )
    label["distortions"] = present
    worst = present[0] if present else None
    label["distortion"] = worst["type"] if worst else CLEAN
    label["severity"] = worst["severity"] if worst else None
    label["severity_level"] = worst["severity_level"] if worst else None
    label["n_ratings"] = len(answers)
    return label


def aggregate(ratings: Iterable[Rating], rules: AggregationRules = PAPER_RULES) -> Aggregation:
    """Aggregate raw ratings of many ROIs: one label per ROI with >= min_ratings annotators.

    Each rating's answers are checked first (a bad one raises ValueError naming its task and annotator).
    The same annotator rating an ROI twice counts once, with the later answers (by `created_at`).
    """
    latest: dict[tuple[str, str], Rating] = {}
    replaced = 0
    for rating in ratings:
        check_answers(rating.answers, f"task {rating.task_id}, annotator {rating.annotator}")
        key = (rating.task_id, rating.annotator)
        if key in latest:
            replaced += 1
            if rating.created_at < latest[key].created_at:
                continue
        latest[key] = rating
    by_task: dict[str, list[Rating]] = defaultdict(list)
    for (task_id, _), rating in sorted(latest.items()):
        by_task[task_id].append(rating)
    labels, excluded = {}, []
    for task_id in sorted(by_task):
        answers = [r.answers for r in by_task[task_id]]
        if len(answers) < rules.min_ratings:
            excluded.append(
                {
                    "task_id": task_id,
                    "n_ratings": len(answers),
                    "reason": f"fewer than {rules.min_ratings} ratings",
                }
            )
            continue
        labels[task_id] = aggregate_roi(answers, rules)
    return Aggregation(labels, excluded, replaced, rules)
