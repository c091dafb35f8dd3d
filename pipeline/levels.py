"""The paper's eq. 1 (after Q-Align): a score in [0, M] to one of five level words.

A score s maps to level i when M*i/5 < s <= M*(i+1)/5, i = 0..4; s = 0 belongs to level 0.
"""

from __future__ import annotations

import math

QUALITY_WORDS = ("bad", "poor", "fair", "good", "excellent")
IMPORTANCE_WORDS = ("unimportant", "minor", "normal", "important", "essential")
SEVERITY_WORDS = ("extreme", "severe", "moderate", "minor", "trivial")

LEVEL_WORDS: dict[str, tuple[str, ...]] = {
    "quality": QUALITY_WORDS,
    "importance": IMPORTANCE_WORDS,
    "severity": SEVERITY_WORDS,
}

N_LEVELS = 5


def level_index(score: float, maximum: float = 1.0) -> int:
    """Return the eq. 1 level index (0..4) of `score` in [0, maximum].

    Raises:
        ValueError: if the score is NaN or outside [0, maximum].
    """
    if math.isnan(score) or score < 0 or score > maximum:
        raise ValueError(f"score {score!r} is outside [0, {maximum}]")
    # Compare against the boundaries as eq. 1 writes them (M*(i+1)/5), not ceil(5*s/M) - 1,
    # whose rounding can move a score that sits exactly on a boundary.
    for index in range(N_LEVELS):
        if score <= maximum * (index + 1) / N_LEVELS:
            return index
    return N_LEVELS - 1


def level_word(task: str, score: float, maximum: float = 1.0) -> str:
    """Return the level word of a score for `task` ('quality', 'importance' or 'severity')."""
    return LEVEL_WORDS[task][level_index(score, maximum)]
