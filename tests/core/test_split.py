from collections import Counter

import pytest

from pipeline.split import split_of


def test_split_is_stable_and_a_function_of_the_id():
    ids = [f"r{i:04d}" for i in range(2000)]
    first = [split_of(i) for i in ids]
    assert first == [split_of(i) for i in ids]
    assert split_of("r0001") == split_of("r0001", 0.2)


def test_split_share_is_near_the_fraction():
    counts = Counter(split_of(f"img{i}") for i in range(5000))
    assert 0.18 < counts["test"] / 5000 < 0.22


def test_split_extremes_and_bad_fraction():
    assert split_of("a", 0.0) == "train"
    assert split_of("a", 1.0) == "test"
    with pytest.raises(ValueError, match="test_fraction"):
        split_of("a", 1.5)
