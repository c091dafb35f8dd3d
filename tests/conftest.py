"""Fixtures shared by every test folder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

# No test may phone home or touch the user's Prefect home.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def sample_raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the embedded sample: 8 Bayer-mosaic DNG files made from real photographs."""
    from pipeline.sample import write_sample

    out = tmp_path_factory.mktemp("sample_raw")
    write_sample(out, n=8, seed=0)
    return out


@pytest.fixture(scope="session")
def stand_ins() -> ModuleType:
    """tests/support/stand_ins.py (a tiny random SAM, the naive label metric), imported by path."""
    spec = importlib.util.spec_from_file_location(
        "stand_ins", Path(__file__).parent / "support" / "stand_ins.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
