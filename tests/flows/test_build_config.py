"""BuildConfig validation, fingerprint and chunk planning (no stages run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.build_config import BuildConfig
from pipeline.chunk import plan_chunks
from pipeline.seeds import reference_seed


def test_types_and_levels_are_canonical():
    a = BuildConfig(source="raw", types=("blur", "noise"), levels=(20, 1, 1))
    b = BuildConfig(source="raw", types=["noise", "blur"], levels=[1, 20])
    assert a.types == b.types == ("noise", "blur")  # the order of DISTORTION_TYPES
    assert a.levels == b.levels == (1, 20)
    assert a.fingerprint() == b.fingerprint()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"types": ("fog",)}, "unknown distortion types"),
        ({"levels": (0, 21)}, "outside 1..20"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"size": 10}, "size"),
        ({"source": "sample:x"}, "sample:N"),
    ],
)
def test_bad_parameters_say_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BuildConfig(**{"source": "raw", **kwargs})


def test_fingerprint_ignores_locations_but_not_content():
    base = BuildConfig(source="a", out="x")
    assert base.fingerprint() == BuildConfig(source="b", out="y", work_dir="w", limit=3).fingerprint()
    for change in (
        {"seed": 1},
        {"size": 512},
        {"metric": "psnr"},
        {"chunk_size": 3},
        {"types": ("blur",)},
        {"device": "cuda"},
    ):
        assert BuildConfig(source="a", **change).fingerprint() != base.fingerprint(), change


def test_json_round_trip_and_unknown_parameter():
    config = BuildConfig(source="sample:2", types=("blur",), levels=(3,))
    assert BuildConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown build parameters"):
        BuildConfig.from_json({"source": "raw", "colour": 1})


def test_reference_seed_depends_on_seed_and_id_only():
    assert reference_seed(0, "a") == reference_seed(0, "a")
    assert len({reference_seed(0, "a"), reference_seed(1, "a"), reference_seed(0, "b")}) == 3


def test_chunks_are_fixed_by_sorted_names():
    paths = [Path(f"/raw/{name}.NEF") for name in "edcba"]
    chunks = plan_chunks(paths, 2)
    assert [c.index for c in chunks] == [0, 1, 2]
    assert [[Path(p).stem for p in c.paths] for c in chunks] == [["a", "b"], ["c", "d"], ["e"]]
    assert plan_chunks(list(reversed(paths)), 2) == chunks
