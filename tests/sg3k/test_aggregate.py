"""The paper's aggregation rules on hand-made ratings, against hand-computed results (paper §3.2)."""

from __future__ import annotations

import pytest

from pipeline.sg3k.aggregate import AggregationRules, Rating, aggregate, aggregate_roi
from pipeline.sg3k.questionnaire import QUESTIONS

CLEAN_ANSWER = {
    **{q: 5 for q in QUESTIONS if q not in ("quality", "importance")},
    "quality": 2,
    "importance": 2,
}


def answers(n: int = 7, **columns: list[int]) -> list[dict[str, int]]:
    """n annotators' answers: every distortion "non-existent", quality and importance 2, except `columns`."""
    rows = [dict(CLEAN_ANSWER) for _ in range(n)]
    for question, values in columns.items():
        assert len(values) == n
        for row, value in zip(rows, values, strict=True):
            row[question] = value
    return rows


def test_all_non_existent_is_clean():
    label = aggregate_roi(answers())
    assert label["distortions"] == []
    assert (label["distortion"], label["severity"], label["severity_level"]) == ("none", None, None)
    assert label["n_ratings"] == 7


def test_majority_non_existent_is_without():
    label = aggregate_roi(answers(blur=[5, 5, 5, 5, 1, 2, 2]))  # 4 of 7 say non-existent
    assert label["distortions"] == []


def test_minority_non_existent_is_with_and_severity_is_mean_of_rated_levels():
    label = aggregate_roi(answers(blur=[5, 5, 5, 0, 1, 2, 3]))  # 3 of 7: no majority
    (entry,) = label["distortions"]
    # mean of the rated levels (0+1+2+3)/4 = 1.5; eq. 1 on [0, 4]: 0.8 < 1.5 <= 1.6 -> "severe"
    assert entry == {
        "type": "blur",
        "severity": 0.375,
        "severity_level": "severe",
        "mean_level": 1.5,
        "votes_absent": 3,
    }
    assert (label["distortion"], label["severity"], label["severity_level"]) == ("blur", 0.375, "severe")


def test_tie_is_not_a_majority_so_with():
    eight = answers(8, noise=[5, 5, 5, 5, 3, 3, 4, 4])  # 4 of 8: a tie
    (entry,) = aggregate_roi(eight)["distortions"]
    # (3+3+4+4)/4 = 3.5; 3.2 < 3.5 <= 4.0 -> "trivial"
    assert (entry["type"], entry["mean_level"], entry["severity_level"], entry["severity"]) == (
        "noise",
        3.5,
        "trivial",
        0.875,
    )
    assert aggregate_roi(eight, AggregationRules(absent_on_tie=True))["distortions"] == []


def test_severity_over_all_ratings_counts_non_existent_as_five():
    rules = AggregationRules(severity_over="all")
    (entry,) = aggregate_roi(answers(blur=[5, 5, 5, 0, 1, 2, 3]), rules)["distortions"]
    # (5+5+5+0+1+2+3)/7 = 3.0 on [0, 5]: 2 < 3.0 <= 3 -> "moderate"; 3/5 = 0.6
    assert (entry["mean_level"], entry["severity_level"], entry["severity"]) == (3.0, "moderate", 0.6)


def test_all_extreme_is_extreme_zero():
    (entry,) = aggregate_roi(answers(exposure=[0] * 7))["distortions"]
    assert (entry["severity"], entry["severity_level"]) == (0.0, "extreme")


def test_quality_and_importance_are_means_with_eq1_words():
    label = aggregate_roi(answers(quality=[4, 4, 3, 3, 3, 2, 2], importance=[0, 0, 1, 1, 1, 0, 0]))
    # quality 21/7 = 3.0: 2.4 < 3.0 <= 3.2 -> good; importance 3/7 = 0.4286 <= 0.8 -> unimportant
    assert (label["quality_mos"], label["quality"], label["quality_level"]) == (3.0, 0.75, "good")
    assert (label["importance_mos"], label["importance"], label["importance_level"]) == (
        0.428571,
        0.107143,
        "unimportant",
    )


def test_score_on_a_boundary_takes_the_lower_level():
    rules = AggregationRules(min_ratings=5)
    label = aggregate_roi(answers(5, quality=[2, 2, 2, 1, 1], importance=[4, 4, 4, 4, 4]), rules)
    # 8/5 = 1.6 = M*2/5: eq. 1's upper bound is inclusive -> level 1 "poor"; 4.0 -> "essential"
    assert (label["quality_mos"], label["quality_level"]) == (1.6, "poor")
    assert (label["importance"], label["importance_level"]) == (1.0, "essential")


def test_multi_label_most_severe_first_and_mirrored():
    label = aggregate_roi(
        answers(noise=[3, 3, 3, 3, 5, 5, 5], blur=[1, 1, 1, 2, 2, 5, 5], compression=[1, 1, 1, 2, 2, 5, 5])
    )
    # noise 12/4 = 3.0 "minor"; blur and compression 7/5 = 1.4 "severe": equal, so taxonomy order
    assert [(e["type"], e["severity_level"]) for e in label["distortions"]] == [
        ("blur", "severe"),
        ("compression", "severe"),
        ("noise", "minor"),
    ]
    assert (label["distortion"], label["severity"], label["severity_level"]) == ("blur", 0.35, "severe")


def _ratings(task_id: str, rows: list[dict[str, int]], start: int = 0) -> list[Rating]:
    return [
        Rating(task_id, f"ann{k + start}", f"2026-01-01T00:00:{k:02d}Z", row, "test")
        for k, row in enumerate(rows)
    ]


def test_rois_with_fewer_than_seven_ratings_are_reported_and_left_out():
    result = aggregate(_ratings("img_roi00", answers(7)) + _ratings("img_roi01", answers(6)))
    assert list(result.labels) == ["img_roi00"]
    assert result.excluded == [{"task_id": "img_roi01", "n_ratings": 6, "reason": "fewer than 7 ratings"}]


def test_same_annotator_twice_counts_once_with_the_later_rating():
    ratings = _ratings("t_roi00", answers(7, quality=[0] * 7))
    later = Rating("t_roi00", "ann0", "2026-01-02T00:00:00Z", {**CLEAN_ANSWER, "quality": 4}, "test")
    earlier = Rating("t_roi00", "ann1", "2025-12-31T00:00:00Z", {**CLEAN_ANSWER, "quality": 4}, "test")
    result = aggregate([*ratings, later, earlier])
    assert result.replaced == 2
    # ann0's later 4 replaces its 0; ann1's earlier 4 does not replace its 0: mean 4/7
    assert result.labels["t_roi00"]["quality_mos"] == round(4 / 7, 6)
    assert result.labels["t_roi00"]["n_ratings"] == 7


def test_incomplete_rating_names_task_and_annotator():
    bad = dict(CLEAN_ANSWER)
    del bad["blur"]
    with pytest.raises(ValueError, match=r"task t_roi00, annotator x: rating lacks \['blur'\]"):
        aggregate([Rating("t_roi00", "x", "2026-01-01T00:00:00Z", bad)])
    with pytest.raises(ValueError, match="quality=7 is not a level 0..4"):
        aggregate([Rating("t_roi00", "x", "2026-01-01T00:00:00Z", {**CLEAN_ANSWER, "quality": 7})])


def test_too_few_answers_for_one_roi_raise():
    with pytest.raises(ValueError, match="6 ratings, the rules ask for at least 7"):
        aggregate_roi(answers(6))


def test_agreement_alpha_hand_computed():
    from pipeline.sg3k.agreement import agreement

    # quality by two annotators on three ROIs: (1, 1), (2, 2), (1, 2).
    # D_o = 1/6 * (2 / 1) = 1/3; D_e = 18 / (6 * 5) = 0.6; alpha = 1 - (1/3) / 0.6 = 4/9 (interval).
    rows = [("r0", 1, 1), ("r1", 2, 2), ("r2", 1, 2)]
    ratings = [
        Rating(task, annotator, "2026-01-01T00:00:00Z", {**CLEAN_ANSWER, "quality": q}, "test")
        for task, qa, qb in rows
        for annotator, q in (("a", qa), ("b", qb))
    ]
    result = agreement(ratings, ["r0", "r1", "r2"])
    assert result["quality"]["alpha"] == round(4 / 9, 4)
    assert (result["quality"]["n_rois"], result["quality"]["n_annotators"]) == (3, 2)
    assert result["blur"]["alpha"] is None  # every rating "non-existent": alpha undefined, said so
    assert result["blur"]["note"]
