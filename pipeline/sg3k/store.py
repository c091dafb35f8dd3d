"""The raw ratings of a 3k build, stored before anything is aggregated.

ratings/ratings.jsonl       one line per rating: task_id, annotator, created_at, answers, source
ratings/raw/<name>.json     every Label Studio export pulled, as the server sent it
ratings/problems.json       cancelled or incomplete annotations (reported, never aggregated)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.atomic_io import write_text_atomic
from pipeline.sg3k.aggregate import Rating

RATINGS_DIR = "ratings"
RATINGS_NAME = "ratings.jsonl"


def ratings_path(build: Path) -> Path:
    return Path(build) / RATINGS_DIR / RATINGS_NAME


def save_raw_export(build: Path, export: Any, name: str | None = None) -> Path:
    """Keep a Label Studio export as it came (name: `labelstudio-<UTC time>.json` by default)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(build) / RATINGS_DIR / "raw" / (name or f"labelstudio-{stamp}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(export, indent=1, ensure_ascii=False))
    return path


def write_ratings(build: Path, ratings: Iterable[Rating], problems: list[dict[str, Any]] = ()) -> Path:
    """Replace the build's ratings (sorted by task, annotator, time) and its problems list."""
    ordered = sorted(ratings, key=lambda r: (r.task_id, r.annotator, r.created_at))
    path = ratings_path(build)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, "".join(json.dumps(r.to_json(), sort_keys=True) + "\n" for r in ordered))
    write_text_atomic(path.with_name("problems.json"), json.dumps(list(problems), indent=1) + "\n")
    return path


def read_ratings(build_or_file: Path) -> list[Rating]:
    """The ratings of a build folder (or of a ratings.jsonl file)."""
    path = Path(build_or_file)
    path = ratings_path(path) if path.is_dir() else path
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: `seagull 3k pull` (Label Studio or an export file) or `seagull 3k simulate` first"
        )
    ratings = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                ratings.append(Rating.from_json(json.loads(line)))
            except (KeyError, json.JSONDecodeError) as error:
                raise ValueError(
                    f"{path}:{number}: not a rating record ({error}); pull the ratings again"
                ) from error
    return ratings


def progress(task_ids: Iterable[str], ratings: Iterable[Rating], min_ratings: int) -> dict[str, Any]:
    """How many ROIs have >= min_ratings distinct annotators, and which have fewer (with their counts)."""
    annotators: dict[str, set[str]] = {tid: set() for tid in task_ids}
    for rating in ratings:
        annotators.setdefault(rating.task_id, set()).add(rating.annotator)
    counts = {tid: len(who) for tid, who in sorted(annotators.items())}
    short = {tid: n for tid, n in counts.items() if n < min_ratings}
    return {
        "rois": len(counts),
        "complete": len(counts) - len(short),
        "min_ratings": min_ratings,
        "below_minimum": short,
        "annotators": len({a for who in annotators.values() for a in who}),
    }
