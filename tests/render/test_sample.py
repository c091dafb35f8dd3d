"""The embedded sample: genuine Bayer DNG files that rawpy decodes like any camera RAW."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rawpy

from pipeline.sample import NIKON_D7000_XYZ_TO_CAM, SAMPLE_PHOTOS, SampleConfig, sample_gains, write_sample


def test_sample_decodes_with_rawpy_as_rggb_14_bit(sample_paths: list[Path]) -> None:
    config = SampleConfig()
    for path in sample_paths:
        with rawpy.imread(str(path)) as raw:
            assert raw.raw_type == rawpy.RawType.Flat
            assert raw.color_desc == b"RGBG"
            assert ["".join(chr(raw.color_desc[c]) for c in row) for row in raw.raw_pattern] == ["RG", "GB"]
            assert raw.black_level_per_channel == [config.black_level] * 4
            assert raw.white_level == config.white_level
            mosaic = raw.raw_image_visible
            assert mosaic.min() >= config.black_level and mosaic.max() <= config.white_level
            assert max(mosaic.shape) > 1024 or path.stem in (
                "astronaut",
                "chelsea",
            )  # larger than the working size
            # LibRaw derives its camera->sRGB matrix from our ColorMatrix1: not the identity.
            assert not np.allclose(raw.color_matrix[:, :3], np.eye(3), atol=0.05)
            assert raw.camera_whitebalance[1] == pytest.approx(1.0)


def test_as_shot_neutral_round_trips(sample_paths: list[Path]) -> None:
    config = SampleConfig()
    by_name = {path.stem: path for path in sample_paths}
    for index, name in enumerate(list(SAMPLE_PHOTOS)[: len(sample_paths)]):  # the fixture's first n
        with rawpy.imread(str(by_name[name])) as raw:
            gains = np.asarray(raw.camera_whitebalance[:3])
        np.testing.assert_allclose(gains, sample_gains(index, 0, config), rtol=1e-4)


def test_color_matrix_is_the_nikon_matrix_lib_raw_reads(sample_paths: list[Path]) -> None:
    from pipeline.isp.color_matrix import srgb_from_cam

    with rawpy.imread(str(sample_paths[0])) as raw:
        np.testing.assert_allclose(raw.color_matrix[:, :3], srgb_from_cam(NIKON_D7000_XYZ_TO_CAM), atol=1e-4)


def test_cache_returns_identical_bytes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = write_sample(tmp_path / "a", n=2, seed=3, cache_dir=cache)
    assert len(list(cache.glob("*.dng"))) == 2
    second = write_sample(tmp_path / "b", n=2, seed=3, cache_dir=cache)
    fresh = write_sample(tmp_path / "c", n=2, seed=3)
    for a, b, c in zip(first, second, fresh, strict=True):
        assert a.read_bytes() == b.read_bytes() == c.read_bytes()
    other_seed = write_sample(tmp_path / "d", n=1, seed=4, cache_dir=cache)
    assert other_seed[0].read_bytes() != first[0].read_bytes()  # the seed changes the as-shot white balance
    assert len(list(cache.glob("*.dng"))) == 3


@pytest.mark.parametrize("n", [0, len(SAMPLE_PHOTOS) + 1])
def test_sample_size_out_of_range(tmp_path: Path, n: int) -> None:
    with pytest.raises(ValueError, match="n must be in 1.."):
        write_sample(tmp_path, n=n)


def test_every_photograph_loads_as_an_srgb_photo_of_at_least_300_px() -> None:
    for name, load in SAMPLE_PHOTOS.items():
        rgb = load()
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, name
        assert min(rgb.shape[:2]) >= 300, name  # upsampled 2x, at least the 512-px working size
        assert rgb.std() > 20, name  # a photograph, not a blank or a failed decode


def test_a_photograph_missing_from_its_wheel_names_the_file_and_the_fix(monkeypatch, tmp_path: Path) -> None:
    import sysconfig

    monkeypatch.setattr(sysconfig, "get_paths", lambda: {"purelib": str(tmp_path)})
    with pytest.raises(FileNotFoundError, match=r"ResultsCalibra/ref_dir/I03\.bmp is missing.*make setup"):
        SAMPLE_PHOTOS["kodim03"]()
