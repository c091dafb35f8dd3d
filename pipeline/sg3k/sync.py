"""A 3k build <-> a Label Studio project: push tasks (idempotent), pull ratings, post simulated ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.sg3k.aggregate import Rating
from pipeline.sg3k.client import LabelStudioClient, LabelStudioError
from pipeline.sg3k.labelstudio import annotation_result, labeling_config, ratings_from_export, task_payload
from pipeline.sg3k.simulate import SOURCE as SIMULATED
from pipeline.sg3k.store import save_raw_export, write_ratings
from pipeline.sg3k.tasks import read_tasks

BATCH = 100  # tasks per import request (data URIs make each task ~100 kB)
SIMULATED_DOMAIN = "simulated.invalid"  # e-mail domain of simulated annotators' accounts


def _project(client: LabelStudioClient, title: str) -> dict[str, Any]:
    project = client.find_project(title)
    if project is None:
        raise LabelStudioError(
            f"no Label Studio project titled {title!r} at {client.url}; run `seagull 3k push` first"
        )
    return project


def task_pks(client: LabelStudioClient, project_id: int) -> dict[str, int]:
    """Our task id -> Label Studio's task id, for every task already in the project."""
    return {
        t["data"]["task_id"]: t["id"] for t in client.export(project_id) if "task_id" in t.get("data", {})
    }


def push_tasks(
    client: LabelStudioClient,
    build: Path,
    title: str,
    min_ratings: int = 7,
    image_url_prefix: str | None = None,
) -> dict[str, Any]:
    """Create the project if it is missing and import the build's tasks that it does not hold yet."""
    project = client.find_project(title) or client.create_project(title, labeling_config(), min_ratings)
    existing = task_pks(client, project["id"])
    new = [t for t in read_tasks(build) if t["task_id"] not in existing]
    added = 0
    for start in range(0, len(new), BATCH):
        payloads = [task_payload(t, build, image_url_prefix) for t in new[start : start + BATCH]]
        added += client.import_tasks(project["id"], payloads)
    record = {"url": client.url, "project_id": project["id"], "title": title}
    (Path(build) / "labelstudio.json").write_text(json.dumps(record, indent=1) + "\n")
    return {"project_id": project["id"], "added": added, "existing": len(existing)}


def pull_ratings(client: LabelStudioClient, build: Path, title: str) -> dict[str, int]:
    """Export the project, keep the export as it came, store its ratings (replacing the build's)."""
    export = client.export(_project(client, title)["id"])
    save_raw_export(build, export)
    ratings, problems = ratings_from_export(export, source="labelstudio")
    simulated = _simulated_users(client)
    write_ratings(build, [_mark_simulated(r, simulated) for r in ratings], problems)
    return {"ratings": len(ratings), "problems": len(problems)}


def _simulated_users(client: LabelStudioClient) -> dict[str, str]:
    """ "user-<id>" -> "simulated-<k>" for the accounts `post_ratings` made for simulated annotators."""
    return {
        f"user-{u['id']}": u["email"].split("@")[0]
        for u in client.list_users()
        if u.get("email", "").endswith("@" + SIMULATED_DOMAIN)
    }


def _mark_simulated(rating: Rating, simulated: dict[str, str]) -> Rating:
    """A rating by a simulated annotator's account says so: its annotator id and source "simulated"."""
    if rating.annotator not in simulated:
        return rating
    return replace(rating, annotator=simulated[rating.annotator], source=SIMULATED)


def post_ratings(client: LabelStudioClient, title: str, ratings: Sequence[Rating]) -> int:
    """Post ratings as annotations, each by an account of its annotator (created as needed).

    For SIMULATED annotators in tests and demos: real annotators rate in the web UI."""
    project = _project(client, title)
    pks = task_pks(client, project["id"])
    users = {u["email"]: u["id"] for u in client.list_users()}
    posted = 0
    for rating in ratings:
        if rating.task_id not in pks:
            raise LabelStudioError(f"task {rating.task_id} is not in project {title!r}; push the build first")
        email = f"{rating.annotator}@{SIMULATED_DOMAIN}"
        if email not in users:
            users[email] = client.create_user(email, first_name=rating.annotator)["id"]
        client.create_annotation(
            pks[rating.task_id], annotation_result(rating.answers), completed_by=users[email]
        )
        posted += 1
    return posted
