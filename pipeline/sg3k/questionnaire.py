"""The SEAGULL-3k questionnaire (paper §3.2) as data: questions, their levels and their words.

Every ROI is rated on eight questions: one per distortion type (six levels, extreme (0) ...
non-existent (5)), quality (bad (0) ... excellent (4)) and importance (unimportant (0) ... essential (4)).
A rating is stored as {question: level index}; the words are for people (Label Studio choices, docs).
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.levels import IMPORTANCE_WORDS, QUALITY_WORDS, SEVERITY_WORDS
from pipeline.taxonomy import DISTORTION_TYPES

ABSENT_WORD = "non-existent"
# extreme (0), severe (1), moderate (2), minor (3), trivial (4), non-existent (5): the paper's order.
DISTORTION_LEVEL_WORDS: tuple[str, ...] = (*SEVERITY_WORDS, ABSENT_WORD)
ABSENT_LEVEL = DISTORTION_LEVEL_WORDS.index(ABSENT_WORD)

# question name -> the words of its levels, index = the level the paper numbers.
QUESTIONS: dict[str, tuple[str, ...]] = {
    **{dist_type: DISTORTION_LEVEL_WORDS for dist_type in DISTORTION_TYPES},
    "quality": QUALITY_WORDS,
    "importance": IMPORTANCE_WORDS,
}
DISTORTION_QUESTIONS: tuple[str, ...] = DISTORTION_TYPES
SCORE_QUESTIONS: tuple[str, ...] = ("quality", "importance")


def check_answers(answers: Mapping[str, int], where: str) -> dict[str, int]:
    """The answers of one rating as {question: int level}, every question present and in range.

    Raises:
        ValueError: naming `where` (the rating's origin), the question and its allowed levels.
    """
    missing = [q for q in QUESTIONS if q not in answers]
    if missing:
        raise ValueError(f"{where}: rating lacks {missing}; every question of the questionnaire is required")
    checked = {}
    for question, words in QUESTIONS.items():
        value = answers[question]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(words):
            raise ValueError(
                f"{where}: {question}={value!r} is not a level 0..{len(words) - 1} ({', '.join(words)})"
            )
        checked[question] = value
    return checked
