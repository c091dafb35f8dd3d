"""Shard samples for training, light enough to shuffle in large buffers.

A local shard is indexed with `tarfile` (headers and the small JSON members only): each sample
keeps its parsed JSON and where its PNG lies (path, offset, size), and the image is read when an
item of it is made (`png_bytes`). A shuffle buffer of thousands of samples then costs their JSON
(mostly ROI RLEs), not their images. Remote shards (`pipe:`, http) cannot seek: their samples
carry the PNG bytes, read by pipeline.shards.loader.

A "light sample" is {"key", "ref_id", "dist_type", "level", "height", "width", "split"?, "rois",
"png": bytes | (path, offset, size)}; reference samples are left out.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.shards.format import IMAGE_EXT, JSON_EXT, REFERENCE_TYPE
from pipeline.shards.loader import _SCHEME, expand_urls

RECORD_KEYS = ("key", "ref_id", "dist_type", "level", "height", "width", "split", "rois")


def light_samples(urls: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Light samples of the shards, in the order given (each shard in its stored order)."""
    for url in urls:
        yield from (_remote_samples(url) if _SCHEME.match(url) else _local_samples(url))


def _local_samples(path: str) -> Iterator[dict[str, Any]]:
    members: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    try:
        with tarfile.open(path, "r:") as tar, open(path, "rb") as raw:
            for member in tar:
                key, _, ext = member.name.partition(".")
                if key not in members:
                    members[key] = {}
                    order.append(key)
                if ext == JSON_EXT:
                    raw.seek(member.offset_data)
                    members[key]["record"] = json.loads(raw.read(member.size))
                elif ext == IMAGE_EXT:
                    members[key]["png"] = (path, member.offset_data, member.size)
    except (tarfile.TarError, OSError) as error:
        raise ValueError(f"{path}: not a readable shard ({error}); check it with `seagull verify`") from error
    for key in order:
        entry = members[key]
        if "record" not in entry or "png" not in entry:
            raise ValueError(f"{path}: sample {key} lacks its .json or .png member; rewrite the shard")
        if entry["record"]["dist_type"] != REFERENCE_TYPE:
            yield _light(entry["record"], entry["png"])


def _remote_samples(url: str) -> Iterator[dict[str, Any]]:
    from pipeline.shards.loader import roi_dataset

    for sample in roi_dataset([url], references="skip", decode=False, split_shards=False):
        yield _light(json.loads(sample[JSON_EXT]), sample[IMAGE_EXT])


def _light(record: dict[str, Any], png: bytes | tuple[str, int, int]) -> dict[str, Any]:
    return {**{k: record[k] for k in RECORD_KEYS if k in record}, "png": png}


def png_bytes(sample: dict[str, Any]) -> bytes:
    """The PNG of a light sample (read from its shard when only its position is kept)."""
    png = sample["png"]
    if isinstance(png, bytes):
        return png
    path, offset, size = png
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def shard_paths(urls) -> list[str]:
    """pipeline.shards.loader.expand_urls (directories, globs, brace patterns)."""
    return expand_urls(urls)
