"""Fixtures of the render tests: the packaged presets and the sample decoded at a small working size."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.decode import DecodedRaw, decode_raw
from pipeline.presets import ISPPresets, load_presets

# Monotonicity and round-trip checks run at this working size to stay within the test budget; the
# presets were tuned at 512 px and checked at 1,024 px with the same script (see docs/render.md).
TEST_SIZE = 512


@pytest.fixture(scope="session")
def presets() -> ISPPresets:
    return load_presets()


@pytest.fixture(scope="session")
def sample_paths(sample_raw_dir: Path) -> list[Path]:
    paths = sorted(sample_raw_dir.glob("*.dng"))
    assert len(paths) == 8, f"the sample should hold 8 DNG files, found {paths}"
    return paths


@pytest.fixture(scope="session")
def decoded_sample(sample_paths: list[Path]) -> list[DecodedRaw]:
    return [decode_raw(path, size=TEST_SIZE) for path in sample_paths]


@pytest.fixture(scope="session")
def one_decoded(decoded_sample: list[DecodedRaw]) -> DecodedRaw:
    return next(d for d in decoded_sample if d.ref_id == "astronaut")
