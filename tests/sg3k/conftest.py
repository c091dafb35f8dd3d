"""Fixtures of the SEAGULL-3k tests: a Prefect test server and a small demo build (tasks only).

The build is SMALL: the first 3 demo images (2 train, 1 test), 3 ROIs each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from seagull.cli import main

N_IMAGES = 3


@pytest.fixture(scope="session")
def prefect_server() -> str:
    import prefect.settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield prefect.settings.PREFECT_API_URL.value()


def run(*args: str) -> str:
    """Run `seagull …` in-process; fail the test with the command's output when it fails."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="session")
def demo_tasks(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(images folder, build folder) after `seagull 3k demo` and a `seagull 3k build` without ratings."""
    root = tmp_path_factory.mktemp("sg3k")
    run("3k", "demo", str(root / "images"), "-n", str(N_IMAGES))
    output = run("3k", "build", "--images", str(root / "images"), "--build", str(root / "build"))
    assert "no ratings yet" in output
    return root / "images", root / "build"


@pytest.fixture
def build_copy(demo_tasks: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the demo build (tests add ratings and shards to it)."""
    images, build = demo_tasks
    shutil.copytree(build, tmp_path / "build")
    return images, tmp_path / "build"
