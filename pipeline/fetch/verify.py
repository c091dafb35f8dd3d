"""Check that a downloaded file is a whole RAW image: magic bytes, then LibRaw decodes all its raw data.

LibRaw (rawpy) opens the container and unpacks the sensor data (`RawPy.unpack`: every byte of the
mosaic is read and decompressed), which catches an HTML page, a different file type and, unlike
reading the header alone, a file cut anywhere inside its raw data: LibRaw stops at the unexpected end
of file. No demosaicing or colour processing is done, so it costs a fraction of one `postprocess`
(measured in bench/bench_fetch.py). Limit: bytes after the raw data (trailing metadata) are not
decoded, so a cut there is caught only by the size check of the download.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import rawpy
from PIL.TiffImagePlugin import ImageFileDirectory_v2

# Leading bytes of the RAW containers LibRaw reads. NEF (RAISE), DNG, CR2, ARW, PEF… are TIFF based.
RAW_MAGIC: dict[str, tuple[bytes, ...]] = {
    "tiff": (b"II*\x00", b"MM\x00*"),
    "raf": (b"FUJIFILM",),
    "orf": (b"IIRO", b"IIRS", b"MMOR"),
    "rw2": (b"IIU\x00",),
    "cr3": (b"\x00\x00\x00\x18ftypcrx ",),
}
_HTML_STARTS = (b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<")


class NotRawError(ValueError):
    """The file is not a RAW image (an HTML page, a different type, or unreadable by LibRaw)."""


@dataclass(frozen=True)
class RawInfo:
    """What the ledger keeps about one verified RAW file.

    Attributes:
        bytes: file size.
        sha256: hex digest of the file.
        camera: camera model from the TIFF ``Model`` tag (``NIKON D90``), None for non-TIFF containers.
        width, height: size of the image LibRaw renders, in pixels.
        raw_width, raw_height: size of the sensor mosaic, margins included.
    """

    bytes: int
    sha256: str
    camera: str | None
    width: int
    height: int
    raw_width: int
    raw_height: int


def container_of(head: bytes) -> str:
    """Name the RAW container from a file's first bytes, or raise NotRawError (naming HTML if it is)."""
    for name, magics in RAW_MAGIC.items():
        if any(head.startswith(m) for m in magics):
            return name
    if head.lstrip().lower().startswith(_HTML_STARTS):
        raise NotRawError("the server sent an HTML/XML page, not a RAW file")
    raise NotRawError(f"not a RAW file: it starts with {head[:8]!r}")


def verify_raw(path: str | Path) -> RawInfo:
    """Verify one RAW file and describe it.

    Args:
        path: the file (any name; LibRaw reads by content).

    Returns:
        `RawInfo` with size, sha256, camera model and dimensions.

    Raises:
        NotRawError: wrong magic bytes, LibRaw cannot open it, or cannot decode all its raw data.
    """
    path = Path(path)
    with path.open("rb") as f:
        container = container_of(f.read(16))
    try:
        raw = rawpy.imread(str(path))
    except (rawpy.LibRawError, OSError) as err:
        raise NotRawError(f"LibRaw cannot open it as a RAW file: {err}") from err
    with raw:
        sizes = raw.sizes
        try:
            raw.unpack()  # decodes the whole mosaic; a truncated file ends in LibRawIOError
        except (rawpy.LibRawError, OSError) as err:
            raise NotRawError(
                f"LibRaw cannot decode its raw data (truncated or corrupt file): {err}"
            ) from err
    return RawInfo(
        bytes=path.stat().st_size,
        sha256=sha256_file(path),
        camera=tiff_camera_model(path) if container == "tiff" else None,
        width=int(sizes.width),
        height=int(sizes.height),
        raw_width=int(sizes.raw_width),
        raw_height=int(sizes.raw_height),
    )


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def tiff_camera_model(path: str | Path) -> str | None:
    """The ``Model`` tag (272) of a TIFF-based RAW file's first directory, or None if absent/unreadable."""
    try:
        with Path(path).open("rb") as f:
            ifd = ImageFileDirectory_v2(f.read(8))
            f.seek(ifd.next)
            ifd.load(f)
    except (OSError, SyntaxError, ValueError):  # PIL raises SyntaxError for a bad TIFF prefix
        return None
    model = str(ifd.get(272) or "").strip("\x00 ")
    return model or None
