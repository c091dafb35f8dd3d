"""Scoring prompts as data: the paper's wording or the authors' demo wording (`--prompts`).

A model answers best in the wording it was trained on. This project trains on the paper's
wording (pipeline/templates/instructions.yaml, paper §4.3); the released SEAGULL-7B was trained
on the authors' own prompt, which their demo (chencn2020/SEAGULL `demo/seagull_inference.py`)
spells out: a longer overview line naming the six distortion types, and its own instructions.
Both use the vicuna v1 template (model/conversation.py). The answer start used for closed-set
scoring ("The quality of this region is") is the paper's in both styles: the released model's
answer wording is not published.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.conversation import IMAGE_PROMPT, IMAGE_TOKEN
from pipeline.instructions import load_templates

TASKS = ("quality", "importance", "distortion")
AUTHORS_IMAGE_PROMPT = (
    IMAGE_TOKEN + "\nThis provides an overview of the image.\n Please answer the following questions about "
    "the provided region. Note: Distortions include: blur, colorfulness, compression, contrast exposure and "
    "noise.\n "
)
AUTHORS_REGION_PREFIX = "Here is the region <global><local>. "
AUTHORS_INSTRUCTIONS = {
    "quality": "Analyze the quality of this region.",
    "importance": "Consider the impact of this region on the overall image quality. "
    "Analyze its importance to the overall image quality.",
    "distortion": "Provide the distortion type of this region.",
}


@dataclass(frozen=True)
class PromptStyle:
    """The text before the question (with `<image>`), the questions and the answer starts, by task."""

    image_prompt: str
    questions: dict[str, str]
    answer_prefixes: dict[str, str]


def prompt_style(name: str) -> PromptStyle:
    """'paper' (the project's training wording) or 'authors' (the released weights' wording)."""
    templates = load_templates()
    prefixes = {task: answer[: answer.index("{")] for task, answer in templates.air_answers.items()}
    if name == "paper":
        questions = {task: templates.region_prefix + templates.air_questions[task] for task in TASKS}
        return PromptStyle(IMAGE_PROMPT, questions, prefixes)
    if name == "authors":
        questions = {task: AUTHORS_REGION_PREFIX + AUTHORS_INSTRUCTIONS[task] for task in TASKS}
        return PromptStyle(AUTHORS_IMAGE_PROMPT, questions, prefixes)
    raise ValueError(f"unknown prompt style {name!r}: use 'paper' or 'authors'")


def all_prompt_texts() -> list[str]:
    """Every text of both styles (the tiny tokenizer's vocabulary must cover them)."""
    texts = []
    for name in ("paper", "authors"):
        style = prompt_style(name)
        texts += [style.image_prompt, *style.questions.values(), *style.answer_prefixes.values()]
    return texts
