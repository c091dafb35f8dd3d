"""Decode once: working resolution, metadata, and a clear error for every kind of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.decode import DecodedRaw, RawDecodeError, decode_raw, ref_id_of


def test_working_size_and_metadata(sample_paths: list[Path]) -> None:
    path = next(p for p in sample_paths if p.stem == "motorcycle")  # 1482 x 1000 sensor
    decoded = decode_raw(path, size=1024)
    assert decoded.size == (690, 1024)
    assert decoded.raw_size == (1000, 1482)
    # The mosaic is twice the working size; a sensor with fewer photosites goes through LibRaw's AHD.
    assert decoded.mosaic.shape == (1380, 2048)
    assert decoded.mosaic_source == "libraw_ahd" and decoded.cfa == "RGGB"
    assert decoded.mosaic.dtype == np.float32 and 0.0 <= decoded.mosaic.min() and decoded.mosaic.max() <= 1.0
    assert decoded.wb_gains[1] == pytest.approx(1.0) and decoded.wb_gains[0] > 1.5
    assert decoded.srgb_from_cam.shape == (3, 3)
    # Rows of the camera->sRGB matrix sum to 1: white-balanced white stays white.
    np.testing.assert_allclose(decoded.srgb_from_cam.sum(axis=1), 1.0, atol=1e-3)


def test_small_size_oversamples_the_mosaic_2x(sample_paths: list[Path]) -> None:
    decoded = decode_raw(next(p for p in sample_paths if p.stem == "motorcycle"), size=256)
    assert decoded.size == (172, 256)
    assert decoded.mosaic.shape == (344, 512)
    assert decoded.mosaic_source == "sensor"  # 1482 photosites >= 2 x 256: the planes are resampled


def test_full_resolution(sample_paths: list[Path]) -> None:
    decoded = decode_raw(next(p for p in sample_paths if p.stem == "chelsea"), size=None)
    assert decoded.size == decoded.raw_size == (600, 902)
    assert decoded.mosaic.shape == (1200, 1804) and decoded.mosaic_source == "libraw_ahd"


def test_planes_are_black_subtracted_and_normalised(sample_paths: list[Path]) -> None:
    decoded = decode_raw(sample_paths[0], size=512)  # astronaut: 1024 photosites = the 2x mosaic, as is
    assert decoded.mosaic_source == "sensor" and decoded.mosaic.shape == (1024, 1024)
    # The sample maps white to the white level in green: the brightest green photosite is ~1.
    assert decoded.mosaic[0::2, 1::2].max() == pytest.approx(1.0, abs=0.02)
    assert decoded.mosaic.min() == pytest.approx(0.0, abs=0.01)


def test_ref_id_replaces_dots() -> None:
    assert ref_id_of("/data/r0a1b2c.v2.NEF") == "r0a1b2c-v2"


def test_decode_keeps_ref_id(tmp_path: Path, sample_paths: list[Path]) -> None:
    dotted = tmp_path / "shot.2024.dng"
    shutil.copyfile(sample_paths[0], dotted)
    decoded: DecodedRaw = decode_raw(dotted, size=64)
    assert decoded.ref_id == "shot-2024"


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.NEF"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.dng"
    truncated.write_bytes(good.read_bytes()[:200_000])
    jpeg = tmp_path / "photo.NEF"
    ok, data = cv2.imencode(".jpg", np.full((32, 32, 3), 127, np.uint8))
    jpeg.write_bytes(data.tobytes())
    return {
        "empty": empty,
        "truncated": truncated,
        "jpeg": jpeg,
        "missing": tmp_path / "missing.nef",
        "folder": tmp_path,
    }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("empty", "empty"),
        ("truncated", "truncated"),
        ("jpeg", "renamed to a RAW extension"),
        ("missing", "no such file"),
        ("folder", "not a regular file"),
    ],
)
def test_bad_input_names_the_file_and_the_fix(
    tmp_path: Path, sample_paths: list[Path], case: str, reason: str
) -> None:
    path = _bad_files(tmp_path, sample_paths[0])[case]
    with pytest.raises(RawDecodeError, match=reason) as info:
        decode_raw(path)
    assert info.value.path == path
    assert str(path) in str(info.value) and "Fix:" in str(info.value)
    assert set(info.value.to_json()) == {"path", "reason", "fix"}


def test_unreadable_file(tmp_path: Path, sample_paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, for whom chmod 000 does not block reading: simulate the OS refusal.
    path = tmp_path / "locked.dng"
    shutil.copyfile(sample_paths[0], path)
    real_open = Path.open

    def refuse(self: Path, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(RawDecodeError, match="cannot be read .*Permission denied") as info:
        decode_raw(path)
    assert "permission" in info.value.fix
