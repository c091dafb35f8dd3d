"""Closed-set scores (Q-Align) and distortion analysis from a SEAGULL model.

Quality and importance: the prompt is the AIR question followed by the start of its answer
("… ASSISTANT: The quality of this region is"); the LLM's logits at the next position,
restricted to the five level words and soft-maxed, give probabilities p_i, and the score is
sum_i p_i * (i + 1), in 1..5 (bad=1 … excellent=5). Distortion type and severity are parsed
from the greedily generated answer to the distortion AIR question.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from model.conversation import encode_prompt
from model.prompts import prompt_style
from model.seagull import Seagull
from pipeline.levels import LEVEL_WORDS, SEVERITY_WORDS
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

LEVEL_VALUES = torch.arange(1.0, 6.0)  # Q-Align's weights: level i counts i + 1
SCORED_TASKS = ("quality", "importance")


# (image tokens, global tokens, local tokens) of a batch of items: `Seagull.region_tokens`
Visual = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def question_and_prefix(task: str, prompts: str = "paper") -> tuple[str, str]:
    """The AIR question of `task` (with the region prefix) and its answer up to the level word, in
    the prompt style `prompts` (model/prompts.py)."""
    style = prompt_style(prompts)
    return style.questions[task], style.answer_prefixes[task]


def level_token_ids(tokenizer, task: str) -> list[int]:
    """First token id of each level word of `task`, in level order (they must differ)."""
    ids = [tokenizer(" " + word, add_special_tokens=False)["input_ids"][0] for word in LEVEL_WORDS[task]]
    if len(set(ids)) != len(ids):
        raise ValueError(f"the level words of {task} share a first token in this tokenizer: {ids}")
    return ids


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad id lists: input_ids (B, T) and attention_mask (B, T), so every row ends at T - 1."""
    length = max(map(len, rows))
    ids = torch.tensor([[pad_id] * (length - len(r)) + r for r in rows])
    attention = torch.tensor([[0] * (length - len(r)) + [1] * len(r) for r in rows])
    return ids, attention


@torch.no_grad()
def level_probabilities(
    model: Seagull, tokenizer, items: list[dict[str, Any]], task: str, visual: Visual | None = None
) -> torch.Tensor:
    """Closed-set probabilities of the five level words, float (B, 5), rows sum to one.

    Args:
        items: dicts with "image" (3, S, S), "mask" (S, S), "crop" (3, L, L) (model/data.sample_items).
        task: "quality" or "importance".
        visual: the items' visual tokens (`visual_tokens`), when already computed.
    """
    question, prefix = question_and_prefix(task, model.config.prompts)
    return closed_set_probabilities(
        model, tokenizer, items, question, prefix, level_token_ids(tokenizer, task), visual
    )


@torch.no_grad()
def closed_set_probabilities(
    model: Seagull,
    tokenizer,
    items: list[dict[str, Any]],
    question: str,
    prefix: str,
    token_ids: list[int],
    visual: Visual | None = None,
) -> torch.Tensor:
    """Probabilities of the next token after `prefix`, restricted to `token_ids`: float (B, K), rows sum to one.

    Args:
        items: as for `level_probabilities`.
        question: the question about the ROI; prefix: the start of the answer.
        token_ids: the K candidate tokens (e.g. the first token of each word of a closed set).
        visual: the items' visual tokens (`visual_tokens`), when already computed.
    """
    prompt = encode_prompt(
        tokenizer, question, prefix, model.image_tokens, prompt_style(model.config.prompts).image_prompt
    )
    ids, attention = left_pad([prompt] * len(items), tokenizer.pad_token_id)
    device = next(model.parameters()).device
    embeds = model.embed_tokens(ids.to(device), visual if visual is not None else visual_tokens(model, items))
    positions = (attention.cumsum(-1) - 1).clamp_min(0).to(device)
    logits = model.llm(
        inputs_embeds=embeds, attention_mask=attention.to(device), position_ids=positions
    ).logits
    closed = logits[:, -1, token_ids].float()  # (B, K)
    return closed.softmax(-1).cpu()


def expected_score(probabilities: torch.Tensor) -> torch.Tensor:
    """(B, 5) level probabilities -> (B,) score in 1..5 (Q-Align's weighted sum)."""
    return probabilities @ LEVEL_VALUES


@torch.no_grad()
def generate_answers(
    model: Seagull,
    tokenizer,
    items: list[dict[str, Any]],
    question: str,
    max_new_tokens: int = 16,
    visual: Visual | None = None,
) -> list[str]:
    """Greedy answers of the LLM to `question` about each item's ROI (`visual`: as above)."""
    prompt = encode_prompt(
        tokenizer, question, "", model.image_tokens, prompt_style(model.config.prompts).image_prompt
    )
    ids, attention = left_pad([prompt] * len(items), tokenizer.pad_token_id)
    device = next(model.parameters()).device
    embeds = model.embed_tokens(ids.to(device), visual if visual is not None else visual_tokens(model, items))
    generated = model.llm.generate(
        inputs_embeds=embeds,
        attention_mask=attention.to(device),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        suppress_tokens=list(model.token_ids.values()),  # placeholders are inputs, never answers
    )
    return tokenizer.batch_decode(generated, skip_special_tokens=True)


def parse_distortion(answer: str) -> dict[str, Any]:
    """The distortions named in an answer, each with the severity word just before it.

    "This region has severe noise distortion and moderate blur distortion." names two; a 100w
    answer names one; "without distortion" names none and is the clean answer.

    Returns:
        {"distortions": [{"type", "severity_level" (a word or None)}] in the answer's order, each
         type once; "distortion": the first type, CLEAN for "without distortion", None if no type
         is named; "severity_level": the first type's severity word}.
    """
    words = re.findall(r"[a-z]+", answer.lower())
    if "without" in words:
        return {"distortions": [], "distortion": CLEAN, "severity_level": None}
    found: list[dict[str, str | None]] = []
    severity = None
    for word in words:
        if word in SEVERITY_WORDS:
            severity = word
        elif word in DISTORTION_TYPES:
            if word not in {entry["type"] for entry in found}:
                found.append({"type": word, "severity_level": severity})
            severity = None
    first = found[0] if found else {"type": None, "severity_level": None}
    return {"distortions": found, "distortion": first["type"], "severity_level": first["severity_level"]}


def assess_items(model: Seagull, tokenizer, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Quality and importance scores (1..5, with probabilities and the likeliest word) and the
    distortion analysis of each item's ROI."""
    results: list[dict[str, Any]] = [{} for _ in items]
    visual = visual_tokens(model, items)  # the encoder and MFE once for the three questions
    for task in SCORED_TASKS:
        probabilities = level_probabilities(model, tokenizer, items, task, visual)
        for result, row, score in zip(results, probabilities, expected_score(probabilities), strict=True):
            result[f"{task}_score"] = float(score)
            result[f"{task}_probabilities"] = dict(zip(LEVEL_WORDS[task], map(float, row), strict=True))
            result[f"{task}_level"] = LEVEL_WORDS[task][int(row.argmax())]
    question = prompt_style(model.config.prompts).questions["distortion"]
    for result, answer in zip(
        results, generate_answers(model, tokenizer, items, question, visual=visual), strict=True
    ):
        result["distortion_answer"] = answer.strip()
        result.update(parse_distortion(answer))
    return results


@torch.no_grad()
def visual_tokens(model: Seagull, items: list[dict[str, Any]]) -> Visual:
    """The items' image, global and local tokens (`Seagull.region_tokens`), one ROI per item."""
    device = next(model.parameters()).device
    images, masks, crops = (
        torch.stack([item[name] for item in items]).to(device) for name in ("image", "mask", "crop")
    )
    return model.region_tokens(images, masks, crops)
