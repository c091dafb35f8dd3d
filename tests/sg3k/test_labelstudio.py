"""Label Studio glue without a server: the labeling config, export parsing, the REST client's auth."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import httpx
import pytest

from pipeline.sg3k.client import LabelStudioClient, LabelStudioError
from pipeline.sg3k.labelstudio import annotation_result, labeling_config, ratings_from_export
from pipeline.sg3k.questionnaire import QUESTIONS

ANSWERS = {
    "exposure": 5,
    "noise": 1,
    "blur": 3,
    "contrast": 5,
    "colorfulness": 0,
    "compression": 4,
    "quality": 2,
    "importance": 4,
}


def test_labeling_config_has_the_questionnaire():
    root = ET.fromstring(labeling_config())
    choices = {c.get("name"): c for c in root.iter("Choices")}
    assert list(choices) == list(QUESTIONS)
    assert [c.get("alias") for c in choices["blur"]] == ["0", "1", "2", "3", "4", "5"]
    assert [c.get("value") for c in choices["blur"]][-1] == "non-existent (5)"
    assert [c.get("value") for c in choices["quality"]] == [
        "bad (0)",
        "poor (1)",
        "fair (2)",
        "good (3)",
        "excellent (4)",
    ]
    assert all(c.get("required") == "true" and c.get("toName") == "image" for c in choices.values())
    assert root.find("Image").get("value") == "$overlay"


def _task(task_id, *annotations):
    return {"id": 11, "data": {"task_id": task_id}, "annotations": list(annotations)}


def test_export_round_trip_and_problems():
    full = {"completed_by": 3, "created_at": "2026-01-01T00:00:00Z", "result": annotation_result(ANSWERS)}
    words = {  # a UI export without aliases: the shown value, and completed_by expanded
        "completed_by": {"id": 4, "email": "a@b.c"},
        "updated_at": "2026-01-02T00:00:00Z",
        "result": [
            {"from_name": q, "type": "choices", "value": {"choices": [f"{QUESTIONS[q][v]} ({v})"]}}
            for q, v in ANSWERS.items()
        ],
    }
    cancelled = {"completed_by": 5, "was_cancelled": True, "result": []}
    partial = {"completed_by": 6, "result": annotation_result(ANSWERS)[:-1]}
    ratings, problems = ratings_from_export(
        [_task("img_roi00", full, words, cancelled, partial)], source="export:x.json"
    )
    assert [(r.annotator, r.created_at, dict(r.answers)) for r in ratings] == [
        ("user-3", "2026-01-01T00:00:00Z", ANSWERS),
        ("a@b.c", "2026-01-02T00:00:00Z", ANSWERS),
    ]
    assert {r.source for r in ratings} == {"export:x.json"}
    assert [(p["annotator"], p["problem"]) for p in problems] == [
        ("user-5", "skipped (cancelled) by the annotator"),
        ("user-6", "unanswered: ['importance']"),
    ]


def test_legacy_token_refused_names_the_fix():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Token abc123"
        return httpx.Response(
            401,
            json={
                "detail": "Authentication token no longer valid: legacy token authentication has been disabled for this organization"
            },
        )

    client = LabelStudioClient("http://ls", "abc123", transport=httpx.MockTransport(handler))
    with pytest.raises(LabelStudioError, match="personal access token.*enable-legacy-api-token"):
        client.find_project("x")


def test_personal_access_token_is_exchanged_and_refreshed_once():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("Authorization")))
        if request.url.path == "/api/token/refresh/":
            assert json.loads(request.content) == {"refresh": "a.b.c"}
            return httpx.Response(200, json={"access": f"acc{len(seen)}"})
        if request.headers["Authorization"] == "Bearer acc1":  # the first access token has expired
            return httpx.Response(401, json={"detail": "expired"})
        return httpx.Response(200, json={"results": [{"id": 7, "title": "SEAGULL-3k"}], "next": None})

    client = LabelStudioClient("http://ls/", "a.b.c", transport=httpx.MockTransport(handler))
    assert client.find_project("SEAGULL-3k") == {"id": 7, "title": "SEAGULL-3k"}
    assert [s[0] for s in seen] == [
        "/api/token/refresh/",
        "/api/projects/",
        "/api/token/refresh/",
        "/api/projects/",
    ]


def test_missing_url_or_token_says_where_to_set_them():
    with pytest.raises(LabelStudioError, match="LABEL_STUDIO_API_KEY"):
        LabelStudioClient("", "")
