"""Multi-label distortions end to end: instructions, the tiny tokenizer, answers parsed back."""

from __future__ import annotations

import random

from model.scoring import parse_distortion
from model.tokenizer import load_tokenizer
from pipeline.instructions import label_distortions, make_instructions

LABEL = {
    "quality_level": "poor",
    "importance_level": "minor",
    "distortion": "noise",  # mirrors the most severe entry (ARCHITECTURE.md)
    "severity": 0.2,
    "severity_level": "severe",
    "distortions": [
        {"type": "blur", "severity": 0.5, "severity_level": "moderate"},
        {"type": "noise", "severity": 0.2, "severity_level": "severe"},
    ],
}


def _distortion_turns(label, mode, rng=None):
    return [i for i in make_instructions(label, mode, rng) if i["task"] == "distortion"]


def test_several_distortions_are_answered_most_severe_first():
    air, yes, no = _distortion_turns(LABEL, "stage2")
    assert air["answer"] == "This region has severe noise distortion and moderate blur distortion."
    assert yes["answer"] == "Yes" and "noise" in yes["question"]
    assert no["answer"] == "No" and not any(t in no["question"] for t in ("noise", "blur"))
    assert parse_distortion(air["answer"])["distortions"] == [
        {"type": "noise", "severity_level": "severe"},
        {"type": "blur", "severity_level": "moderate"},
    ]


def test_stage1_jir_asks_about_present_and_absent_types():
    asked = {"Yes": set(), "No": set()}
    for seed in range(200):
        for turn in _distortion_turns(LABEL, "stage1", random.Random(seed)):
            if turn["kind"] == "JIR":
                words = set(turn["question"].replace("?", " ").split())
                asked[turn["answer"]] |= words & {"noise", "blur", "exposure", "contrast", "without"}
    assert asked["Yes"] == {"noise", "blur"}
    assert asked["No"] and not asked["No"] & {"noise", "blur"}


def test_single_label_is_the_one_element_case():
    single = {k: v for k, v in LABEL.items() if k != "distortions"}
    listed = {**single, "distortions": [{"type": "noise", "severity": 0.2, "severity_level": "severe"}]}
    assert make_instructions(single, "stage2") == make_instructions(listed, "stage2")
    assert _distortion_turns(single, "stage2")[0]["answer"] == "This region has severe noise distortion."
    assert label_distortions({**single, "distortion": "none", "distortions": []}) == []


def test_tiny_tokenizer_covers_a_multi_label_answer():
    tokenizer = load_tokenizer(None)
    answer = _distortion_turns(LABEL, "stage2")[0]["answer"]
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
