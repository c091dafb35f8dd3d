"""End to end with a real Label Studio server on loopback (its own venv, `make label-studio`):
push tasks, post 7 SIMULATED annotators' ratings through the API, pull, aggregate, shard,
`train --stage 2` a few steps, `evaluate` on the test split."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from pipeline.sg3k.client import LabelStudioClient, LabelStudioError
from tests.sg3k.conftest import run

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
# Label Studio migrates its SQLite database on the first start: ~30 s on a free machine, minutes on a busy one.
STARTUP_TIMEOUT = 1200


def _label_studio_binary() -> Path:
    path = Path(os.environ.get("SEAGULL_LABEL_STUDIO", REPO / ".venv-ls" / "bin" / "label-studio"))
    if not path.exists():
        pytest.skip(f"Label Studio is not installed at {path}: run `make label-studio` (make test does)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    """A fresh Label Studio (SQLite, offline) with an admin whose legacy token is enabled."""
    binary = _label_studio_binary()
    data = tmp_path_factory.mktemp("label_studio")
    port, token = _free_port(), secrets.token_hex(20)
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LATEST_VERSION_CHECK": "false",  # no call to pypi.org
        "COLLECT_ANALYTICS": "false",
    }
    command = [str(binary), "start", "--no-browser", "--port", str(port), "--internal-host", "127.0.0.1"]
    command += ["--username", "admin@seagull.invalid", "--password", secrets.token_hex(8)]
    command += ["--user-token", token, "--enable-legacy-api-token"]
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data)
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while time.monotonic() - started < STARTUP_TIMEOUT:
            assert process.poll() is None, (data / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(2)
        else:
            pytest.fail(f"Label Studio did not answer within {STARTUP_TIMEOUT} s")
        print(f"Label Studio up in {time.monotonic() - started:.0f} s")
        yield url, token
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_push_rate_pull_aggregate_shard_train_evaluate(label_studio, demo_tasks, tmp_path):
    url, legacy = label_studio
    images, tasks_build = demo_tasks
    build = tmp_path / "build"
    shutil.copytree(tasks_build, build)
    # A personal access token (the default kind since Label Studio 1.20) made with the legacy one.
    pat = httpx.post(f"{url}/api/token/", headers={"Authorization": f"Token {legacy}"}).json()["token"]
    server = ["--url", url, "--token", pat]
    n_tasks = len((build / "tasks.jsonl").read_text().splitlines())

    assert f"{n_tasks} tasks added, 0 there already" in run("3k", "push", "--build", str(build), *server)
    assert f"0 tasks added, {n_tasks} there already" in run("3k", "push", "--build", str(build), *server)
    assert f"{7 * n_tasks} SIMULATED annotations posted" in run(
        "3k", "simulate", "--build", str(build), "--post", "--annotators", "7", *server
    )
    output = run("3k", "pull", "--build", str(build), *server)
    assert f"{7 * n_tasks} ratings stored" in output and f"{n_tasks} of {n_tasks} ROIs have >= 7" in output
    assert len(list((build / "ratings" / "raw").glob("labelstudio-*.json"))) == 1
    ratings = [json.loads(line) for line in (build / "ratings" / "ratings.jsonl").read_text().splitlines()]
    assert {r["source"] for r in ratings} == {"simulated"}
    assert {r["annotator"] for r in ratings} == {f"simulated-{k:02d}" for k in range(1, 8)}
    assert all(r["created_at"] for r in ratings)

    run("3k", "build", "--images", str(images), "--build", str(build))
    shards = build / "shards"
    assert "SIMULATED" in (shards / "README.md").read_text()
    run_dir = tmp_path / "run"
    run("train", "--config", "tiny", "--stage", "2", "--shards", str(shards / "seagull3k-train-*.tar"),
        "--out", str(run_dir), "--max-steps", "2", "--device", "cpu")  # fmt: skip
    run("evaluate", "--run", str(run_dir), "--shards", str(shards / "seagull3k-test-*.tar"),
        "--out", str(tmp_path / "eval"), "--batch-size", "4", "--device", "cpu")  # fmt: skip
    report = json.loads((tmp_path / "eval" / "eval.json").read_text())
    tasks = [json.loads(line) for line in (build / "tasks.jsonl").read_text().splitlines()]
    assert report["n_rois"] == sum(t["split"] == "test" for t in tasks)
    assert "| SEAGULL |" in (tmp_path / "eval" / "eval.md").read_text()

    # The measured fact: once the organisation disables legacy tokens, the legacy token gets a 401.
    with LabelStudioClient(url, pat) as client:
        client.request("POST", "/api/jwt/settings", "disable legacy tokens",
                       json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": False})  # fmt: skip
    with (
        LabelStudioClient(url, legacy) as client,
        pytest.raises(LabelStudioError, match="legacy token authentication has been disabled"),
    ):
        client.find_project("SEAGULL-3k")
