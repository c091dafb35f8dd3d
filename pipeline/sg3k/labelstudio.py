"""Label Studio for SEAGULL-3k: the questionnaire as a labeling config, tasks, and the export parsed back.

Label Studio (open source, its own virtual environment: its Django pins conflict with ours) is talked
to over its REST API with httpx (`client.LabelStudioClient`); label-studio-sdk is not needed. This module
is pure: XML and task payloads out, ratings in.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from pipeline.sg3k.aggregate import Rating
from pipeline.sg3k.questionnaire import QUESTIONS

HEADINGS = {
    "exposure": "Exposure (too dark / too bright)",
    "noise": "Noise (grain, speckles)",
    "blur": "Blur (out of focus, motion)",
    "contrast": "Contrast (flat, hazy / harsh)",
    "colorfulness": "Colourfulness (washed out / oversaturated)",
    "compression": "Compression (blocks, ringing)",
    "quality": "Quality of the region",
    "importance": "Importance of the region to the whole image's quality",
}


def labeling_config() -> str:
    """The Label Studio labeling config (XML): the image with the ROI outlined, then 8 required
    single-choice questions whose choices carry the paper's level numbers as aliases (0..5 / 0..4)."""
    parts = [
        "<View>",
        '  <Header value="Rate only the region inside the yellow outline ($task_id)."/>',
        '  <Image name="image" value="$overlay" zoom="true" zoomControl="true"/>',
    ]
    for question, words in QUESTIONS.items():
        parts.append(f'  <Header value={quoteattr(HEADINGS[question])} size="5"/>')
        parts.append(
            f'  <Choices name="{question}" toName="image" choice="single-radio" required="true" showInline="true">'
        )
        parts += [
            f'    <Choice value={quoteattr(f"{word} ({i})")} alias="{i}"/>' for i, word in enumerate(words)
        ]
        parts.append("  </Choices>")
    parts.append("</View>")
    return "\n".join(parts) + "\n"


def data_uri(path: Path) -> str:
    """A file as a data: URI (JPEG/PNG), so a task carries its image and needs no file serving."""
    kind = "png" if path.suffix.lower() == ".png" else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def task_payload(task: Mapping[str, Any], build: Path, image_url_prefix: str | None = None) -> dict[str, Any]:
    """The Label Studio task of one ROI: {"data": {"overlay", "task_id", "image_id", "roi_id", "split"}}.

    Args:
        image_url_prefix: where the team's server serves the build folder (e.g. Label Studio local
            storage `/data/local-files/?d=sg3k/`); None embeds the overlay as a data URI.
    """
    overlay = (
        f"{image_url_prefix}{task['overlay']}"
        if image_url_prefix
        else data_uri(Path(build) / task["overlay"])
    )
    keys = ("task_id", "image_id", "roi_id", "split")
    return {"data": {"overlay": overlay, **{k: task[k] for k in keys}}}


def annotation_result(answers: Mapping[str, int]) -> list[dict[str, Any]]:
    """An annotation's `result` list for {question: level} (what the Label Studio UI would save)."""
    return [
        {
            "from_name": question,
            "to_name": "image",
            "type": "choices",
            "value": {"choices": [str(answers[question])]},
        }
        for question in QUESTIONS
    ]


def _level(question: str, choice: str) -> int:
    """A choice back to its level: the alias ("3") or the shown value ("minor (3)")."""
    text = str(choice).strip()
    if text.endswith(")") and "(" in text:
        text = text.rsplit("(", 1)[1][:-1]
    if text.isdigit():
        return int(text)
    return QUESTIONS[question].index(text)


def annotator_of(annotation: Mapping[str, Any]) -> str:
    """Label Studio's `completed_by` (an id, or {"id", "email"} in full exports) as a stable string."""
    who = annotation.get("completed_by")
    if isinstance(who, Mapping):
        return str(who.get("email") or f"user-{who.get('id')}")
    return f"user-{who}"


def ratings_from_export(
    export: Iterable[Mapping[str, Any]], source: str = "labelstudio"
) -> tuple[list[Rating], list[dict[str, Any]]]:
    """Ratings from a Label Studio JSON export (the "JSON" export type: tasks with `annotations`).

    Returns:
        (ratings, problems): one Rating per complete, not cancelled annotation; one problem record
        {"task_id", "annotator", "problem"} per cancelled or incomplete one (reported, not aggregated).
    """
    ratings, problems = [], []
    for task in export:
        tid = task.get("data", {}).get("task_id")
        if tid is None:
            problems.append(
                {"task_id": None, "annotator": None, "problem": f"task {task.get('id')} has no data.task_id"}
            )
            continue
        for annotation in task.get("annotations", []):
            who = annotator_of(annotation)
            when = str(annotation.get("updated_at") or annotation.get("created_at") or "")
            if annotation.get("was_cancelled"):
                problems.append(
                    {"task_id": tid, "annotator": who, "problem": "skipped (cancelled) by the annotator"}
                )
                continue
            answers = {}
            for result in annotation.get("result", []):
                question = result.get("from_name")
                if question in QUESTIONS and result.get("value", {}).get("choices"):
                    answers[question] = _level(question, result["value"]["choices"][0])
            missing = [q for q in QUESTIONS if q not in answers]
            if missing:
                problems.append({"task_id": tid, "annotator": who, "problem": f"unanswered: {missing}"})
                continue
            ratings.append(Rating(tid, who, when, answers, source))
    return ratings, problems
