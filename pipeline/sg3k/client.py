"""A small REST client of Label Studio (>= 1.20) with httpx: projects, task import, export, annotations.

Authentication: a personal access token (a JWT refresh token, the default since Label Studio 1.20) is
exchanged at `/api/token/refresh/` for short-lived access tokens (sent as `Bearer`); a legacy token
(40 hex digits, `Token`) works only where the organisation has legacy tokens enabled - otherwise the
server answers 401 "legacy token authentication has been disabled", which is passed on with the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

PAGE_SIZE = 100


class LabelStudioError(RuntimeError):
    """A Label Studio request failed; the message names the request, the status and the fix."""


def is_personal_access_token(token: str) -> bool:
    """Personal access tokens are JWTs (three dot-separated parts); legacy tokens are plain hex."""
    return token.count(".") == 2


class LabelStudioClient:
    """Label Studio at `url` with `token` (personal access token or legacy token)."""

    def __init__(
        self, url: str, token: str, timeout: float = 120.0, transport: httpx.BaseTransport | None = None
    ):
        if not url or not token:
            raise LabelStudioError(
                "Label Studio needs a URL and a token: pass --url/--token or set LABEL_STUDIO_URL and "
                "LABEL_STUDIO_API_KEY (Account & Settings > Personal Access Token in the web UI)"
            )
        self.url, self.token = url.rstrip("/"), token
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._access: str | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport -------------------------------------------------------------------------------
    def _auth_header(self, refresh: bool = False) -> dict[str, str]:
        if not is_personal_access_token(self.token):
            return {"Authorization": f"Token {self.token}"}
        if self._access is None or refresh:
            response = self.http.post("/api/token/refresh/", json={"refresh": self.token})
            self._check(response, "exchange the personal access token")
            self._access = response.json()["access"]
        return {"Authorization": f"Bearer {self._access}"}

    def request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """One API call; JSON back (None for an empty body). Refreshes an expired access token once."""
        try:
            response = self.http.request(method, path, headers=self._auth_header(), **kwargs)
            if response.status_code == 401 and is_personal_access_token(self.token):
                response = self.http.request(method, path, headers=self._auth_header(refresh=True), **kwargs)
        except httpx.HTTPError as error:
            raise LabelStudioError(
                f"{what}: cannot reach Label Studio at {self.url} ({error}); is it running?"
            ) from error
        self._check(response, what)
        return response.json() if response.content else None

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        detail = response.text[:300]
        hint = ""
        if response.status_code == 401 and "legacy token" in detail:
            hint = (
                " Fix: use a personal access token (Account & Settings), or enable legacy tokens for the "
                "organisation (Organization > API Tokens Settings; `label-studio start --enable-legacy-api-token` "
                "on a new server)."
            )
        elif response.status_code == 401:
            hint = " Fix: check the token (LABEL_STUDIO_API_KEY / --token)."
        raise LabelStudioError(
            f"{what}: HTTP {response.status_code} from {response.request.url}: {detail}{hint}"
        )

    # --- API ---------------------------------------------------------------------------------------
    def find_project(self, title: str) -> dict[str, Any] | None:
        """The first project with exactly this title, or None."""
        page = 1
        while True:
            body = self.request(
                "GET", "/api/projects/", "list projects", params={"page": page, "page_size": PAGE_SIZE}
            )
            projects = body["results"] if isinstance(body, Mapping) else body
            for project in projects:
                if project["title"] == title:
                    return project
            if not isinstance(body, Mapping) or not body.get("next"):
                return None
            page += 1

    def create_project(self, title: str, label_config: str, min_annotations: int) -> dict[str, Any]:
        """A project whose every task is given to `min_annotations` annotators (overlap 100 %)."""
        payload = {
            "title": title,
            "label_config": label_config,
            "maximum_annotations": min_annotations,
            "overlap_cohort_percentage": 100,
            "show_skip_button": True,
            "description": "SEAGULL-3k ROI quality ratings (paper §3.2): rate the outlined region only.",
        }
        return self.request("POST", "/api/projects/", f"create project {title!r}", json=payload)

    def import_tasks(self, project_id: int, tasks: Sequence[Mapping[str, Any]]) -> int:
        """Import task payloads ({"data": ...}); returns how many were added."""
        if not tasks:
            return 0
        body = self.request("POST", f"/api/projects/{project_id}/import", "import tasks", json=list(tasks))
        return int(body.get("task_count", len(tasks)))

    def export(self, project_id: int) -> list[dict[str, Any]]:
        """Every task with its annotations (Label Studio's "JSON" export, tasks without annotations too)."""
        params = {"exportType": "JSON", "download_all_tasks": "true"}
        return self.request("GET", f"/api/projects/{project_id}/export", "export the project", params=params)

    def create_user(self, email: str, first_name: str = "", last_name: str = "") -> dict[str, Any]:
        payload = {"email": email, "username": email, "first_name": first_name, "last_name": last_name}
        return self.request("POST", "/api/users/", f"create user {email}", json=payload)

    def list_users(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/users/", "list users")

    def create_annotation(
        self, task_pk: int, result: list[dict[str, Any]], completed_by: int | None = None
    ) -> dict:
        """An annotation of task `task_pk` (Label Studio's own id), on behalf of user `completed_by`."""
        payload: dict[str, Any] = {"result": result}
        if completed_by is not None:
            payload["completed_by"] = completed_by
        return self.request(
            "POST", f"/api/tasks/{task_pk}/annotations/", f"annotate task {task_pk}", json=payload
        )
