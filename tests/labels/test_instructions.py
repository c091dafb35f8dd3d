"""AIR/JIR instructions: answers follow the labels, JIR yes/no is balanced, stage 1 is seeded."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from pipeline.instructions import REGION_TOKENS, TASKS, all_template_texts, make_instructions
from pipeline.levels import LEVEL_WORDS
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES


def _label(quality="good", importance="minor", distortion="blur", severity="moderate", dist_type="blur"):
    severity = None if distortion == CLEAN else severity  # a clean ROI has no severity
    return {
        "dist_type": dist_type,
        "quality": 0.7,
        "quality_level": quality,
        "importance": 0.3,
        "importance_level": importance,
        "distortion": distortion,
        "severity": None if severity is None else 0.5,
        "severity_level": severity,
    }


def _all_labels():
    for quality, importance, severity in zip(
        LEVEL_WORDS["quality"], LEVEL_WORDS["importance"], LEVEL_WORDS["severity"], strict=True
    ):
        for distortion in (CLEAN, *DISTORTION_TYPES):
            yield _label(quality, importance, distortion, severity, dist_type="noise")


def test_stage2_is_fixed_and_answers_follow_the_label():
    label = _label()
    first, second = make_instructions(label, "stage2"), make_instructions(label, "stage2")
    assert first == second
    air = {item["task"]: item["answer"] for item in first if item["kind"] == "AIR"}
    assert air == {
        "quality": "The quality of this region is good.",
        "importance": "The importance of this region is minor.",
        "distortion": "This region has moderate blur distortion.",
    }
    assert all(REGION_TOKENS in item["question"] for item in first)


def test_clean_roi_says_without_distortion_and_rejects_the_applied_type():
    items = make_instructions(_label(distortion=CLEAN, dist_type="exposure"), "stage2")
    distortion = [item for item in items if item["task"] == "distortion"]
    assert distortion[0]["answer"] == "This region is without distortion."
    no_question = next(item for item in distortion if item["answer"] == "No")
    assert "exposure distortion" in no_question["question"]


@pytest.mark.parametrize("mode", ["stage1", "stage2"])
def test_jir_answers_are_balanced_and_true(mode):
    rng = random.Random(0)
    answers = Counter()
    for label in itertools.islice(itertools.cycle(_all_labels()), 3000 if mode == "stage1" else 35):
        for item in make_instructions(label, mode, rng):
            if item["kind"] != "JIR":
                continue
            answers[item["answer"]] += 1
            asked_truth = (
                _truth_word(label, item["task"]) in item["question"].split(". ", 1)[1].rstrip("?") + " "
            )
            assert (item["answer"] == "Yes") == asked_truth, item
    total = answers["Yes"] + answers["No"]
    assert abs(answers["Yes"] - answers["No"]) <= (0 if mode == "stage2" else 0.05 * total), answers


def _truth_word(label, task):
    if task == "distortion":
        return (
            "without distortion" if label["distortion"] == CLEAN else f"in {label['distortion']} distortion"
        )
    return f" {label[f'{task}_level']} "


def test_stage1_is_seeded_and_samples_each_task_once():
    label = _label()
    runs = [make_instructions(label, "stage1", random.Random(seed)) for seed in (7, 7)]
    assert runs[0] == runs[1]
    draws = [make_instructions(label, "stage1", random.Random(seed)) for seed in range(200)]
    assert all(sorted(item["task"] for item in draw) == sorted(TASKS) for draw in draws)
    kinds = Counter(item["kind"] for draw in draws for item in draw)
    assert 0.4 < kinds["AIR"] / (kinds["AIR"] + kinds["JIR"]) < 0.6
    assert len({str(draw) for draw in draws}) > 20


def test_p_air_overrides_the_templates_chance_of_an_air():
    """p_air 1: every stage-1 question asks for the full answer; 0: every one is a yes/no JIR."""
    label = _label()
    for p_air, kind in ((1.0, "AIR"), (0.0, "JIR")):
        draws = [make_instructions(label, "stage1", random.Random(seed), p_air) for seed in range(50)]
        assert {item["kind"] for draw in draws for item in draw} == {kind}
        assert all(sorted(item["task"] for item in draw) == sorted(TASKS) for draw in draws)
    assert make_instructions(label, "stage1", random.Random(3), None) == make_instructions(
        label, "stage1", random.Random(3)
    )
    with pytest.raises(ValueError, match="p_air must be in"):
        make_instructions(label, "stage1", random.Random(0), 1.5)


def test_all_template_texts_cover_every_generated_text():
    vocabulary = set(all_template_texts())
    rng = random.Random(1)
    for label in _all_labels():
        for mode in ("stage1", "stage2"):
            for item in make_instructions(label, mode, rng):
                assert item["question"] in vocabulary and item["answer"] in vocabulary


def test_bad_label_names_the_field():
    with pytest.raises(ValueError, match="quality_level"):
        make_instructions(_label(quality="great"), "stage2")
    with pytest.raises(ValueError, match="mode"):
        make_instructions(_label(), "stage3")


def test_clean_roi_has_no_severity_in_its_instructions():
    severity_words = set(LEVEL_WORDS["severity"]) - set(LEVEL_WORDS["importance"])  # "minor" is both
    rng = random.Random(3)
    for mode in ("stage1", "stage2"):
        for _ in range(50 if mode == "stage1" else 1):
            for item in make_instructions(_label(distortion=CLEAN, dist_type="noise"), mode, rng):
                text = (item["question"] + " " + item["answer"]).lower()
                assert not any(word in text for word in severity_words), item


def test_severity_only_where_a_distortion_is_present():
    clean = _label(distortion=CLEAN)
    old_build = make_instructions({**clean, "severity_level": "trivial"}, "stage2")  # ignored, never asked
    assert old_build == make_instructions(clean, "stage2")
    with pytest.raises(ValueError, match="severity_level"):
        make_instructions({**_label(), "severity_level": None}, "stage2")
