"""Eq. 1 at its exact boundaries, and sample keys."""

import pytest

from pipeline.levels import IMPORTANCE_WORDS, QUALITY_WORDS, SEVERITY_WORDS, level_index, level_word
from pipeline.taxonomy import sample_key


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, 0),
        (0.2, 0),
        (0.2000001, 1),
        (0.4, 1),
        (0.6, 2),
        (0.6000001, 3),
        (0.8, 3),
        (0.8000001, 4),
        (1.0, 4),
    ],
)
def test_eq1_boundaries_on_unit_range(score, expected):
    assert level_index(score) == expected


def test_eq1_scales_with_maximum():
    assert level_index(3.0, maximum=5.0) == 2
    assert level_index(3.0000001, maximum=5.0) == 3


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan")])
def test_eq1_rejects_out_of_range(bad):
    with pytest.raises(ValueError, match="outside"):
        level_index(bad)


def test_level_words_follow_the_paper():
    assert level_word("quality", 0.95) == "excellent" == QUALITY_WORDS[-1]
    assert level_word("importance", 0.1) == "unimportant" == IMPORTANCE_WORDS[0]
    assert level_word("severity", 0.5) == "moderate" == SEVERITY_WORDS[2]


def test_sample_key_has_no_dots():
    assert sample_key("r000da54ft", "blur", 7) == "r000da54ft_blur_07"
    with pytest.raises(ValueError, match="dot"):
        sample_key("img.v2", "blur", 1)
