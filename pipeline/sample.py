"""The embedded sample: Bayer-mosaic DNG files made from real photographs that ship in pip packages.

Each photograph (colour photographs bundled in pinned wheels: scikit-image's, scikit-learn's, five
Kodak images in pyiqa's, Grace Hopper in matplotlib's) is "unprocessed" into
what a camera sensor would have recorded, after Brooks et al. (2019), "Unprocessing images for learned
raw denoising", then written as a 16-bit DNG that rawpy/LibRaw decodes like any NEF:

    sRGB uint8 -> upsample 2x -> inverse smoothstep tone curve -> inverse sRGB gamma (linear sRGB)
    -> camera RGB (inverse of the camera colour matrix) -> divide by the as-shot white-balance gains
    -> Bayer mosaic (RGGB by default; any of the four 2x2 orders) -> black level + 14-bit range
    -> DNG (BlackLevel, WhiteLevel, CFAPattern, AsShotNeutral, ColorMatrix1, Orientation)

The 2x upsampling makes the RAW larger than the default 1,024-px working size, so the decode stage
downsamples as it would a real sensor. The files are made at run time (never committed) and, given a
cache folder, cached under a hash of everything that determines their bytes.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pidng.core import RAW2DNG
from pidng.defs import CalibrationIlluminant, DNGVersion, PhotometricInterpretation
from pidng.dng import DNGTags, Tag

from pipeline.isp.color_matrix import cam_from_srgb
from pipeline.isp.tone import inverse_smoothstep, srgb_decode

# Bumped whenever the generator changes what it writes; part of the cache key.
GENERATOR_VERSION = 1

# Adobe's ColorMatrix2 (XYZ D65 -> camera) of the Nikon D7000, one of the three RAISE cameras, as
# listed in dcraw/LibRaw `adobe_coeff` (x 1/10000). It gives the sample a realistic, non-diagonal
# camera colour response that the decoder must undo.
NIKON_D7000_XYZ_TO_CAM = np.array([[8198, -2239, -724], [-4871, 12389, 2798], [-1043, 2050, 7181]]) / 10000.0


@dataclass(frozen=True)
class SampleConfig:
    """How the sample sensor is simulated."""

    upscale: int = 2  # RAW larger than the 1,024-px working size, as a real sensor is
    black_level: int = 600  # a non-zero black level, so the decoder must subtract it
    white_level: int = 16383  # 14-bit ADC range, stored in 16-bit samples (pidng's packing is broken)
    red_gain: tuple[float, float] = (1.8, 2.4)  # range of as-shot R gains (daylight on Nikon sensors)
    blue_gain: tuple[float, float] = (1.3, 1.8)  # range of as-shot B gains
    cfa: str = "RGGB"  # the 2x2 colour-filter order; RAISE's Nikons and other bodies use the other three
    orientation: int = 1  # EXIF orientation tag (1 upright, 3 180 deg, 6 and 8 portrait): how to display it


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _sklearn(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)

    return load


def _motorcycle() -> np.ndarray:
    import skimage.data

    return skimage.data.stereo_motorcycle()[0]


def _site_file(relative: str, package: str) -> Callable[[], np.ndarray]:
    """A photograph that `package`'s pinned wheel installs at `relative` under site-packages."""

    def load() -> np.ndarray:
        import sysconfig

        path = Path(sysconfig.get_paths()["purelib"]) / relative
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: it ships in the wheel of {package} (constraints.txt); "
                "run `make setup` to install the pinned version, or build a smaller --sample"
            )
        return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    return load


def _kodak(number: int) -> Callable[[], np.ndarray]:
    # Kodak PhotoCD images (kodim01-24, free to use), 512 x 384, as TID2013 distributes its
    # references; pyiqa's wheel ships five of them for its result-calibration script.
    return _site_file(f"ResultsCalibra/ref_dir/I{number:02d}.bmp", "pyiqa")


# name -> loader of an sRGB uint8 (H, W, 3) photograph; the first n are the sample of size n. New
# photographs go at the end: a sample of the first n keeps its bytes (white balance drawn by index).
# The last six (2026-12-07) are more distinct scenes for `--sample 14`; make shards keeps the first 8.
SAMPLE_PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "motorcycle": _motorcycle,
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
    "retina": _skimage("retina"),
    "kodim03": _kodak(3),
    "kodim04": _kodak(4),
    "kodim06": _kodak(6),
    "kodim08": _kodak(8),
    "kodim19": _kodak(19),
    # public domain (US Navy); matplotlib's sample data
    "grace_hopper": _site_file("matplotlib/mpl-data/sample_data/grace_hopper.jpg", "matplotlib"),
}


# The 2x2 colour-filter orders of Bayer sensors: the colour (0 R, 1 G, 2 B) of each site, row by row.
CFA_ORDERS: dict[str, tuple[int, int, int, int]] = {
    "RGGB": (0, 1, 1, 2),
    "BGGR": (2, 1, 1, 0),
    "GRBG": (1, 0, 2, 1),
    "GBRG": (1, 2, 0, 1),
}
EXIF_ORIENTATIONS = (1, 3, 6, 8)  # the rotations (no mirroring) that cameras write
# EXIF orientation -> counter-clockwise quarter turns from the upright photograph to the sensor's frame:
# a camera held in portrait records the scene turned, and the tag tells viewers how to turn it back.
_SENSOR_TURNS = {1: 0, 3: 2, 6: 1, 8: 3}


def unprocess(rgb: np.ndarray, wb_gains: np.ndarray, config: SampleConfig) -> np.ndarray:
    """Turn an sRGB photograph into the Bayer mosaic (order `config.cfa`) a camera would have recorded.

    Args:
        rgb: uint8 (H, W, 3) sRGB photograph.
        wb_gains: (3,) as-shot white-balance gains (R, G, B), G = 1, R and B >= 1.
        config: the simulated sensor.

    Returns:
        uint16 (H', W') Bayer mosaic in the sensor's frame (the photograph turned as orientation
        `config.orientation` undoes), H' and W' = even crop of the upsampled size, values in
        [black_level, white_level].
    """
    if config.orientation not in _SENSOR_TURNS:
        raise ValueError(f"EXIF orientation must be one of {EXIF_ORIENTATIONS}, got {config.orientation}")
    image = rgb.astype(np.float32) / 255.0
    if config.upscale != 1:
        size = (image.shape[1] * config.upscale, image.shape[0] * config.upscale)
        image = np.clip(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    image = np.rot90(
        image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2], _SENSOR_TURNS[config.orientation]
    )
    linear = srgb_decode(inverse_smoothstep(image))
    camera = np.clip(linear @ cam_from_srgb(NIKON_D7000_XYZ_TO_CAM).T, 0.0, 1.0) / wb_gains
    if config.cfa not in CFA_ORDERS:
        raise ValueError(f"unknown CFA order {config.cfa!r}; choose one of {sorted(CFA_ORDERS)}")
    mosaic = np.empty(camera.shape[:2], dtype=np.float64)
    for site, colour in enumerate(CFA_ORDERS[config.cfa]):
        row, col = divmod(site, 2)
        mosaic[row::2, col::2] = camera[row::2, col::2, colour]
    span = config.white_level - config.black_level
    return np.round(config.black_level + mosaic * span).astype(np.uint16)


def write_dng(path: Path, mosaic: np.ndarray, wb_gains: np.ndarray, config: SampleConfig) -> Path:
    """Write a Bayer uint16 mosaic (H, W) of order `config.cfa` as an uncompressed 16-bit DNG; returns the path."""
    if config.orientation not in EXIF_ORIENTATIONS:
        raise ValueError(f"EXIF orientation must be one of {EXIF_ORIENTATIONS}, got {config.orientation}")
    height, width = mosaic.shape
    neutral = 1.0 / np.asarray(wb_gains, dtype=np.float64)
    tags = DNGTags()
    for tag, value in (
        (Tag.ImageWidth, width),
        (Tag.ImageLength, height),
        (Tag.TileWidth, width),
        (Tag.TileLength, height),
        (Tag.Orientation, config.orientation),
        (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1),
        (Tag.BitsPerSample, 16),
        (Tag.CFARepeatPatternDim, [2, 2]),
        (Tag.CFAPattern, list(CFA_ORDERS[config.cfa])),
        (Tag.BlackLevel, config.black_level),
        (Tag.WhiteLevel, config.white_level),
        (Tag.ColorMatrix1, [[int(round(v * 10000)), 10000] for v in NIKON_D7000_XYZ_TO_CAM.ravel()]),
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[int(round(v * 1_000_000)), 1_000_000] for v in neutral]),
        (Tag.Make, "SEAGULL"),
        (Tag.Model, "Unprocessed sample (Nikon D7000 matrix)"),
        (Tag.DNGVersion, DNGVersion.V1_4),
        (Tag.DNGBackwardVersion, DNGVersion.V1_2),
    ):
        tags.set(tag, value)
    writer = RAW2DNG()
    writer.options(tags, path=str(path.parent), compress=False)
    writer.convert(np.ascontiguousarray(mosaic), filename=path.stem)
    return path


def sample_gains(index: int, seed: int, config: SampleConfig) -> np.ndarray:
    """The as-shot white-balance gains (3,) of sample photo `index` under `seed` (G = 1)."""
    rng = np.random.default_rng([seed, index])
    return np.array([rng.uniform(*config.red_gain), 1.0, rng.uniform(*config.blue_gain)])


def write_sample(
    out_dir: Path | str,
    n: int = 8,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    config: SampleConfig | None = None,
) -> list[Path]:
    """Write the first `n` sample photographs as DNG files `<name>.dng` into `out_dir`.

    Args:
        out_dir: folder to write into (created).
        n: how many photographs, 1..len(SAMPLE_PHOTOS).
        seed: draws each file's as-shot white balance.
        cache_dir: if given, generated files are kept there under a content hash and copied from it.
        config: the simulated sensor (default `SampleConfig()`).

    Returns:
        The written paths, in `SAMPLE_PHOTOS` order.
    """
    config = config or SampleConfig()
    if not 1 <= n <= len(SAMPLE_PHOTOS):
        raise ValueError(f"n must be in 1..{len(SAMPLE_PHOTOS)} (the photographs available), got {n}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [
        _write_one(index, name, seed, out, cache_dir, config)
        for index, name in enumerate(list(SAMPLE_PHOTOS)[:n])
    ]


def _write_one(
    index: int, name: str, seed: int, out: Path, cache_dir: Path | str | None, config: SampleConfig
) -> Path:
    rgb = SAMPLE_PHOTOS[name]()
    gains = sample_gains(index, seed, config)
    target = out / f"{name}.dng"
    if cache_dir is None:
        return write_dng(target, unprocess(rgb, gains, config), gains, config)
    cached = Path(cache_dir) / f"{name}-{_cache_key(rgb, gains, config)}.dng"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(cached.stem + ".partial.dng")
        write_dng(partial, unprocess(rgb, gains, config), gains, config)
        partial.replace(cached)  # atomic: a killed run never leaves a half-written cache entry
    shutil.copyfile(cached, target)
    return target


def _cache_key(rgb: np.ndarray, gains: np.ndarray, config: SampleConfig) -> str:
    digest = hashlib.sha256()
    digest.update(f"v{GENERATOR_VERSION}|{config}|{gains.tolist()}|{rgb.shape}".encode())
    digest.update(np.ascontiguousarray(rgb).tobytes())
    return digest.hexdigest()[:16]
