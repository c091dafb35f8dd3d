"""AIR and JIR instruction-responses from ROI labels (SPEC.md §3, paper §3.3).

AIR (analysis) asks about quality, importance or distortions and answers with level words;
JIR (judgment) asks a yes/no question whose answer is "Yes" for half of the questions and "No"
for the other half. Stage 1 draws instructions at random from the labels each time (seeded
`random.Random`); stage 2 returns a fixed set. The wording is data:
`pipeline/templates/instructions.yaml`.

Example:
    >>> label = {"quality_level": "good", "importance_level": "minor", "distortion": "blur",
    ...          "severity_level": "moderate", "dist_type": "blur"}
    >>> make_instructions(label, mode="stage2")[0]["answer"]
    'The quality of this region is good.'
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.levels import LEVEL_WORDS, N_LEVELS
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

TEMPLATES_PATH = Path(__file__).parent / "templates" / "instructions.yaml"
TASKS: tuple[str, ...] = ("quality", "importance", "distortion")
MODES: tuple[str, ...] = ("stage1", "stage2")
REGION_TOKENS = "<global><local>"


@dataclass(frozen=True)
class Templates:
    """The instruction templates, validated (see instructions.yaml for the placeholders)."""

    region_prefix: str
    air_questions: dict[str, str]
    air_answers: dict[str, str]
    air_answer_clean: str
    air_answer_several: str  # "{listed}": listed_entry per distortion joined by listed_join
    listed_entry: str
    listed_join: str
    jir_questions: dict[str, str]
    jir_clean: str
    yes: str
    no: str
    p_air: float


@functools.cache
def load_templates(path: Path = TEMPLATES_PATH) -> Templates:
    """Load and validate the templates file (cached: it is read once per process)."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
        air, jir = raw["air"], raw["jir"]
        templates = Templates(
            region_prefix=raw["region_prefix"],
            air_questions={task: air[task]["question"] for task in TASKS},
            air_answers={task: air[task]["answer"] for task in TASKS},
            air_answer_clean=air["distortion"]["answer_clean"],
            air_answer_several=air["distortion"]["answer_several"],
            listed_entry=air["distortion"]["listed_entry"],
            listed_join=air["distortion"]["listed_join"],
            jir_questions={task: jir[task] for task in TASKS},
            jir_clean=jir["distortion_clean"],
            yes=raw["answers"]["yes"],
            no=raw["answers"]["no"],
            p_air=float(raw["stage1"]["p_air"]),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: missing or malformed template entry {error}; compare with {TEMPLATES_PATH}"
        ) from error
    if REGION_TOKENS not in templates.region_prefix:
        raise ValueError(f"{path}: region_prefix must contain {REGION_TOKENS!r}")
    if not 0.0 <= templates.p_air <= 1.0:
        raise ValueError(f"{path}: stage1.p_air must be in [0, 1], got {templates.p_air}")
    return templates


def make_instructions(
    label: dict[str, Any], mode: str = "stage1", rng: random.Random | None = None, p_air: float | None = None
) -> list[dict[str, str]]:
    """Instruction-responses for one ROI label.

    Args:
        label: a labels record (ARCHITECTURE.md): quality_level, importance_level, distortion
            ("none" or a type), severity_level (a level word where a distortion is present, None for
            a clean ROI, whose instructions never mention severity); dist_type (the applied type) is
            used, when present, as the hard negative of a clean ROI's distortion JIR. A `distortions`
            list (several on SEAGULL-3k) is answered in full (`label_distortions`).
        mode: "stage1": per task one AIR or one JIR (yes or no with equal chance), drawn with `rng`;
            "stage2": the fixed set, 3 AIR then per task one "Yes" JIR and one "No" JIR.
        rng: the random source of stage 1 (a new unseeded one if None); unused in stage 2.
        p_air: stage 1's chance of an AIR rather than a JIR for each task; None: the templates'
            `stage1.p_air`. A model config may set its own (model/config.py, `train.p_air`).

    Returns:
        dicts {"kind": "AIR"|"JIR", "task": "quality"|"importance"|"distortion", "question", "answer"};
        every question contains "<global><local>".
    """
    templates = load_templates()
    _check_label(label)
    if mode == "stage2":
        fixed = [_air(templates, label, task) for task in TASKS]
        for task in TASKS:
            fixed += [_jir(templates, label, task, True, None), _jir(templates, label, task, False, None)]
        return fixed
    if mode != "stage1":
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    rng = rng if rng is not None else random.Random()
    p_air = templates.p_air if p_air is None else p_air
    if not 0.0 <= p_air <= 1.0:
        raise ValueError(f"p_air must be in [0, 1], got {p_air}")
    drawn = []
    for task in TASKS:
        if rng.random() < p_air:
            drawn.append(_air(templates, label, task))
        else:
            drawn.append(_jir(templates, label, task, rng.random() < 0.5, rng))
    rng.shuffle(drawn)
    return drawn


def all_template_texts() -> list[str]:
    """Every question and answer any label can produce (sorted, unique): a tokenizer's corpus."""
    templates = load_templates()
    texts = {templates.yes, templates.no, templates.region_prefix + templates.jir_clean}
    for task in TASKS:
        texts.add(templates.region_prefix + templates.air_questions[task])
    for task, words in (("quality", LEVEL_WORDS["quality"]), ("importance", LEVEL_WORDS["importance"])):
        for word in words:
            texts.add(templates.air_answers[task].format(**{f"{task}_level": word}))
            texts.add(templates.region_prefix + templates.jir_questions[task].format(word=word))
    texts.add(templates.air_answer_clean)
    several = [{"type": t, "severity_level": LEVEL_WORDS["severity"][0]} for t in DISTORTION_TYPES[:2]]
    texts.add(_distortion_answer(templates, several))  # the words of a multi-label answer
    for dist_type in DISTORTION_TYPES:
        texts.add(templates.region_prefix + templates.jir_questions["distortion"].format(word=dist_type))
        for word in LEVEL_WORDS["severity"]:
            texts.add(templates.air_answers["distortion"].format(severity_level=word, distortion=dist_type))
    return sorted(texts)


def _check_label(label: dict[str, Any]) -> None:
    for task in ("quality", "importance"):
        word = label.get(f"{task}_level")
        if word not in LEVEL_WORDS[task]:
            raise ValueError(f"label {task}_level must be one of {LEVEL_WORDS[task]}, got {word!r}")
    if label.get("distortion") not in (CLEAN, *DISTORTION_TYPES):
        raise ValueError(
            f"label distortion must be {CLEAN!r} or one of {DISTORTION_TYPES}, got {label.get('distortion')!r}"
        )
    # Severity describes a distortion that is present: required with one, absent without (SPEC.md).
    # A clean ROI's severity is never read (shards of older builds gave clean ROIs "trivial").
    severity = label.get("severity_level")
    if label["distortion"] != CLEAN and severity not in LEVEL_WORDS["severity"]:
        raise ValueError(f"label severity_level must be one of {LEVEL_WORDS['severity']}, got {severity!r}")


def label_distortions(label: dict[str, Any]) -> list[dict[str, Any]]:
    """A label's distortions [{"type", "severity_level", ...}], most severe (lowest severity) first:
    its `distortions` list, or the one-element list of `distortion` when it has none; [] if clean."""
    listed = label.get("distortions")
    if listed is None:
        if label["distortion"] == CLEAN:
            return []
        return [{"type": label["distortion"], "severity_level": label["severity_level"]}]
    if all(entry.get("severity") is not None for entry in listed):
        return sorted(listed, key=lambda entry: entry["severity"])
    return list(listed)


def _distortion_answer(templates: Templates, distortions: list[dict[str, Any]]) -> str:
    if not distortions:
        return templates.air_answer_clean
    if len(distortions) == 1:
        entry = distortions[0]
        return templates.air_answers["distortion"].format(
            severity_level=entry["severity_level"], distortion=entry["type"]
        )
    listed = templates.listed_join.join(
        templates.listed_entry.format(severity_level=e["severity_level"], distortion=e["type"])
        for e in distortions
    )
    return templates.air_answer_several.format(listed=listed)


def _air(templates: Templates, label: dict[str, Any], task: str) -> dict[str, str]:
    if task == "distortion":
        answer = _distortion_answer(templates, label_distortions(label))
    else:
        answer = templates.air_answers[task].format(**label)
    return _record(templates, "AIR", task, templates.air_questions[task], answer)


def _jir(
    templates: Templates, label: dict[str, Any], task: str, yes: bool, rng: random.Random | None
) -> dict[str, str]:
    """A yes/no question: `yes` asks about the label's own value, otherwise about another one."""
    if task == "distortion":
        present = [entry["type"] for entry in label_distortions(label)] or [CLEAN]
        if yes:
            asked = rng.choice(present) if rng is not None and len(present) > 1 else present[0]
        else:
            asked = _other_distortion(label, present, rng)
        question = templates.jir_clean if asked == CLEAN else templates.jir_questions[task].format(word=asked)
    else:
        words = LEVEL_WORDS[task]
        true_index = words.index(label[f"{task}_level"])
        asked_index = true_index if yes else _other_index(true_index, rng)
        question = templates.jir_questions[task].format(word=words[asked_index])
    return _record(templates, "JIR", task, question, templates.yes if yes else templates.no)


def _other_index(true_index: int, rng: random.Random | None) -> int:
    """Another level: at random in stage 1; in stage 2 two levels away (never a neighbour, whose
    boundary with the true level is too close to call a clear "No")."""
    if rng is None:
        return (true_index + 2) % N_LEVELS
    return rng.choice([index for index in range(N_LEVELS) if index != true_index])


def _other_distortion(label: dict[str, Any], present: list[str], rng: random.Random | None) -> str:
    """A distortion the ROI does not have: for a clean ROI the applied type (a hard negative)."""
    absent = [name for name in (CLEAN, *DISTORTION_TYPES) if name not in present]
    if rng is not None:
        return rng.choice(absent)
    if present == [CLEAN]:
        return label.get("dist_type") if label.get("dist_type") in DISTORTION_TYPES else DISTORTION_TYPES[0]
    for step in range(1, len(DISTORTION_TYPES) + 1):  # the next type after the first present one
        name = DISTORTION_TYPES[(DISTORTION_TYPES.index(present[0]) + step) % len(DISTORTION_TYPES)]
        if name not in present:
            return name
    return CLEAN  # every type present


def _record(templates: Templates, kind: str, task: str, question: str, answer: str) -> dict[str, str]:
    return {"kind": kind, "task": task, "question": templates.region_prefix + question, "answer": answer}
