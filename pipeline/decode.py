"""Decode a RAW file once: a Bayer mosaic at twice the working resolution plus the camera's metadata.

rawpy (LibRaw) opens any supported RAW (NEF, DNG, CR2, ARW ...). The render stage demosaics the mosaic
kept here and area-downsamples the result to the working size: demosaicing at 2x (`oversample`) keeps
the detail and avoids the colour zipper that demosaicing at 1x leaves. Noise is added per photosite of
this mosaic, before demosaicing, and all 120 variants render from this one decode. Two ways to make it:

- **A RAW of at least 2x the working size** (RAISE's NEFs at 1,024 px): each of the four colour planes
  is black-subtracted, normalised to the white level and area-resampled to the mosaic's size, then
  shifted by the sub-pixel amount that puts its samples back on its own photosites (area resampling
  alone moves each plane's samples toward the plane's centre by a different amount per colour: up to
  half a mosaic pixel between R and B). The planes are re-interleaved in the sensor's own Bayer order
  and the mosaic is rotated upright by quarter turns, a pure permutation that turns the order into
  another Bayer order (recorded in `cfa`). Every colour therefore stays registered as LibRaw's does.
- **A smaller RAW** (or `size=None`): there are fewer photosites than the mosaic needs. LibRaw demosaics
  the sensor once with AHD (its own best general method, plus dcraw's false-colour median filter) and
  rotates it upright; the linear camera
  RGB is resized to the mosaic's size and sampled back into an RGGB mosaic. The chroma artefacts are
  then LibRaw AHD's, not those of demosaicing the native mosaic at 1x, and a level means the same
  on a small RAW as on a large one (noise, blur and JPEG act on the same 2x grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import rawpy

from pipeline.isp.white_balance import neutral_to_gains
from pipeline.raw_files import ref_id_of
from pipeline.taxonomy import MIN_WORKING_SIZE

# LibRaw's `sizes.flip` -> number of counter-clockwise quarter turns that put the image upright.
_FLIP_TO_ROT90 = {0: 0, 3: 2, 5: 1, 6: 3}


class RawDecodeError(Exception):
    """A RAW file that cannot be decoded; says which file, why, and how to fix it.

    Attributes:
        path: the file.
        reason: what went wrong.
        fix: what the user can do about it.
    """

    def __init__(self, path: Path | str, reason: str, fix: str) -> None:
        self.path, self.reason, self.fix = Path(path), reason, fix
        super().__init__(f"{path}: {reason}. Fix: {fix}")

    def to_json(self) -> dict[str, str]:
        """A JSON-ready record for failure reports."""
        return {"path": str(self.path), "reason": self.reason, "fix": self.fix}


@dataclass(frozen=True)
class DecodedRaw:
    """A RAW file decoded once, at the working resolution.

    Attributes:
        path: the RAW file.
        ref_id: the reference id (file stem, dots replaced by '-').
        mosaic: float32 (Hm, Wm), upright Bayer mosaic of order `cfa`, black-subtracted, 1.0 = white
            level; (Hm, Wm) = `oversample` x the working size.
        wb_gains: float32 (3,), the as-shot white-balance gains (R, G, B), G = 1.
        srgb_from_cam: float32 (3, 3), the camera colour matrix: white-balanced camera RGB -> linear sRGB.
        raw_size: (height, width) of the sensor's visible area in sensor orientation, before resampling.
        size: (height, width) of the working resolution (upright), the size of every rendering.
        cfa: the mosaic's 2x2 colour order, row by row: RGGB, BGGR, GRBG or GBRG.
        mosaic_source: "sensor" (the photosites, resampled) or "libraw_ahd" (a RAW smaller than the
            mosaic: LibRaw's AHD demosaic, re-sampled into an RGGB mosaic).
    """

    path: Path
    ref_id: str
    mosaic: np.ndarray
    wb_gains: np.ndarray
    srgb_from_cam: np.ndarray
    raw_size: tuple[int, int]
    size: tuple[int, int]
    cfa: str = "RGGB"
    mosaic_source: str = "sensor"


def decode_raw(path: Path | str, size: int | None = 1024, oversample: int = 2) -> DecodedRaw:
    """Decode a RAW file into an upright Bayer mosaic of `oversample` x the working resolution.

    Args:
        path: any RAW file LibRaw supports.
        size: long side of the working resolution in pixels; None keeps the full resolution. A size
            larger than the sensor also keeps the full resolution (the working image is never upsampled).
        oversample: the mosaic is this many times the working size (see the module docstring).

    Raises:
        RawDecodeError: the file is missing, unreadable, empty, not a RAW LibRaw can read, truncated,
            or not from a Bayer sensor.
    """
    path = Path(path)
    _check_readable(path)
    try:
        with rawpy.imread(str(path)) as raw:
            cfa = _bayer_order(raw, path)
            wb_gains = _as_shot_gains(raw)
            matrix = np.asarray(raw.color_matrix, dtype=np.float32)[:, :3]
            turns = _FLIP_TO_ROT90.get(raw.sizes.flip, 0)
            visible = raw.raw_image_visible
            raw_size = (visible.shape[0] // 2 * 2, visible.shape[1] // 2 * 2)
            upright = raw_size if turns % 2 == 0 else raw_size[::-1]
            working = _working_size(*upright, size)
            mosaic_size = (working[0] * oversample, working[1] * oversample)
            if max(raw_size) >= max(mosaic_size):
                sensor_size = mosaic_size if turns % 2 == 0 else mosaic_size[::-1]
                mosaic = _resampled_mosaic(raw, sensor_size)
                mosaic, cfa = np.ascontiguousarray(np.rot90(mosaic, turns)), _rotated_order(cfa, turns)
                source = "sensor"
            else:
                mosaic, cfa, source = _mosaic_from_libraw(raw, wb_gains, mosaic_size), "RGGB", "libraw_ahd"
    except rawpy.LibRawError as error:
        raise RawDecodeError(path, _libraw_reason(error), _FIX_FORMAT) from error
    if not np.any(mosaic > 0):
        raise RawDecodeError(path, "the mosaic holds no signal (all pixels at black)", _FIX_FORMAT)
    return DecodedRaw(path, ref_id_of(path), mosaic, wb_gains, matrix, raw_size, working, cfa, source)


_FIX_FORMAT = (
    "pass a complete RAW file from a camera LibRaw supports (NEF, DNG, CR2, ARW ...); re-copy it if truncated"
)


# LibRaw error class -> what it means for the user.
_LIBRAW_REASONS: dict[type, str] = {
    rawpy.LibRawFileUnsupportedError: "not a RAW format LibRaw recognises (a JPEG or TIFF renamed to a RAW extension?)",
    rawpy.LibRawIOError: "the RAW data ends early or cannot be read (truncated file?)",
    rawpy.LibRawDataError: "the RAW data is corrupt",
}


def _libraw_reason(error: Exception) -> str:
    for kind, reason in _LIBRAW_REASONS.items():
        if isinstance(error, kind):
            return f"{reason} [LibRaw: {type(error).__name__}]"
    return f"LibRaw cannot decode it ({type(error).__name__}: {error})"


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise RawDecodeError(path, "no such file", "check the path")
    if not path.is_file():
        raise RawDecodeError(path, "not a regular file", "pass a RAW file, not a folder")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as error:
        raise RawDecodeError(
            path, f"cannot be read ({error.strerror})", "give the user read permission"
        ) from error
    if not head:
        raise RawDecodeError(path, "the file is empty (0 bytes)", "re-copy or re-download the RAW file")


def _bayer_order(raw: rawpy.RawPy, path: Path) -> str:
    """The 2x2 colour order of the visible mosaic, row by row ('RGGB', 'BGGR', 'GRBG' or 'GBRG')."""
    pattern = raw.raw_pattern
    colors = raw.color_desc.decode("ascii", "replace")
    order = "" if pattern is None else "".join(colors[c] for c in np.asarray(pattern).ravel())
    if pattern is None or np.asarray(pattern).shape != (2, 2) or sorted(order) != ["B", "G", "G", "R"]:
        raise RawDecodeError(
            path,
            f"not a Bayer RGGB-family sensor (pattern {colors!r})",
            "use a Bayer-sensor RAW (X-Trans and Foveon are not supported)",
        )
    return order


def _rotated_order(order: str, turns: int) -> str:
    """The Bayer order after `turns` counter-clockwise quarter turns of a mosaic with even sides."""
    return "".join(np.rot90(np.array(list(order)).reshape(2, 2), turns).ravel())


def _normalised_plane(raw: rawpy.RawPy, row: int, col: int, height: int, width: int) -> np.ndarray:
    """float32 (height/2, width/2): the photosites at (row, col) of each 2x2 block, 0 = black, 1 = white."""
    index = int(raw.raw_pattern[row, col])
    black = float(raw.black_level_per_channel[index])
    plane = raw.raw_image_visible[row:height:2, col:width:2].astype(np.float32)
    plane = (plane - black) / (float(raw.white_level) - black)
    return np.clip(plane, 0.0, 1.0, out=plane)


def _resampled_mosaic(raw: rawpy.RawPy, size: tuple[int, int]) -> np.ndarray:
    """The sensor's mosaic area-resampled to `size` (even sides, <= the sensor's), same Bayer order.

    Area resampling by f maps the sample at plane index i to mosaic position 2i + o + (0.5 - o)(1 - f)
    for a plane whose photosites sit at offset o (0 or 1) of the 2x2 block; shifting each plane back by
    that amount keeps every colour on its own photosites, as LibRaw's full-resolution demosaic does.
    """
    visible = raw.raw_image_visible
    height, width = visible.shape[0] // 2 * 2, visible.shape[1] // 2 * 2
    scale_y, scale_x = size[0] / height, size[1] / width
    mosaic = np.empty(size, dtype=np.float32)
    for row, col in ((0, 0), (0, 1), (1, 0), (1, 1)):
        plane = _normalised_plane(raw, row, col, height, width)
        if size != (height, width):
            plane = cv2.resize(plane, (size[1] // 2, size[0] // 2), interpolation=cv2.INTER_AREA)
            # Plane pixels are two mosaic pixels: the shift in plane pixels is half the mosaic's.
            shift_y, shift_x = (0.5 - row) * (1 - scale_y) / 2, (0.5 - col) * (1 - scale_x) / 2
            plane = _shifted(plane, shift_y, shift_x)
        mosaic[row::2, col::2] = plane
    return mosaic


def _shifted(plane: np.ndarray, shift_y: float, shift_x: float) -> np.ndarray:
    """The plane resampled at (y - shift_y, x - shift_x): moves its content back by the shift (cubic)."""
    matrix = np.float32([[1, 0, -shift_x], [0, 1, -shift_y]])
    flags = cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP
    moved = cv2.warpAffine(plane, matrix, plane.shape[::-1], flags=flags, borderMode=cv2.BORDER_REFLECT)
    return np.clip(moved, 0.0, 1.0, out=moved)


# dcraw's `-m 3`: median filters on R-G and B-G after AHD remove most of its false colour on fine detail
# (china photograph at 1x: PSNR to the photograph 23.8 -> 25.0 dB; the gap in level PSNR between a 1x
# and a 4x RAW of that scene falls from 4.5 to 1.0 dB at worst, JPEG level 1).
FALSE_COLOUR_MEDIAN_PASSES = 3


def libraw_camera_rgb(
    raw: rawpy.RawPy, wb_gains: np.ndarray, median_passes: int = FALSE_COLOUR_MEDIAN_PASSES
) -> np.ndarray:
    """The whole sensor demosaiced by LibRaw AHD, upright: float32 (H, W, 3) camera RGB, 1.0 = white level.

    `median_passes` of LibRaw's false-colour median filter follow AHD (0: AHD alone).

    LibRaw demosaics white-balanced data (AHD chooses directions by colour differences); the gains are
    scaled so that the largest is 1 and `HighlightMode.Ignore` keeps LibRaw from clipping a channel
    early, then divided out again: the result holds un-balanced camera values like the mosaic.
    """
    relative = np.asarray(wb_gains, dtype=np.float64) / float(np.max(wb_gains))
    rgb = raw.postprocess(
        demosaic_algorithm=rawpy.DemosaicAlgorithm.AHD,
        user_wb=[relative[0], relative[1], relative[2], relative[1]],
        output_color=rawpy.ColorSpace.raw,
        output_bps=16,
        gamma=(1, 1),
        no_auto_bright=True,
        highlight_mode=rawpy.HighlightMode.Ignore,
        adjust_maximum_thr=0.0,
        median_filter_passes=median_passes,
    )
    return rgb.astype(np.float32) / np.float32(65535.0) / relative.astype(np.float32)


def _mosaic_from_libraw(raw: rawpy.RawPy, wb_gains: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGGB mosaic of `size` (upright) sampled from LibRaw's AHD demosaic of the whole sensor."""
    camera = libraw_camera_rgb(raw, wb_gains)
    growing = size[0] > camera.shape[0] or size[1] > camera.shape[1]
    camera = cv2.resize(camera, size[::-1], interpolation=cv2.INTER_CUBIC if growing else cv2.INTER_AREA)
    np.clip(camera, 0.0, 1.0, out=camera)
    mosaic = np.empty(size, dtype=np.float32)
    for site, channel in enumerate((0, 1, 1, 2)):  # RGGB
        row, col = divmod(site, 2)
        mosaic[row::2, col::2] = camera[row::2, col::2, channel]
    return mosaic


def _as_shot_gains(raw: rawpy.RawPy) -> np.ndarray:
    """The camera's as-shot gains (3,), G = 1; the daylight gains if the file records none."""
    gains = np.asarray(raw.camera_whitebalance[:3], dtype=np.float64)
    if not np.all(gains > 0):
        gains = np.asarray(raw.daylight_whitebalance[:3], dtype=np.float64)
    if not np.all(gains > 0):
        return np.ones(3, dtype=np.float32)
    return neutral_to_gains(1.0 / gains)


def _working_size(height: int, width: int, size: int | None) -> tuple[int, int]:
    """(h, w) with long side `size` (even sides, same aspect); the full size if None or larger."""
    if size is None or size >= max(height, width):
        return height, width
    if size < MIN_WORKING_SIZE:
        raise ValueError(f"working size must be >= {MIN_WORKING_SIZE} pixels or None (full), got {size}")
    scale = size / max(height, width)
    return max(2, round(height * scale / 2) * 2), max(2, round(width * scale / 2) * 2)
