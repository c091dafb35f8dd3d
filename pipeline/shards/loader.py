"""Read SEAGULL-100w shards in another IQA project: a WebDataset pipeline that yields decoded samples.

Example:
    >>> from torch.utils.data import DataLoader
    >>> from pipeline.shards.loader import Resize, collate_rois, roi_dataset
    >>> ds = roi_dataset("shards/", shuffle=1000, shardshuffle=100, transform=Resize(512))
    >>> loader = DataLoader(ds, batch_size=8, num_workers=4, collate_fn=collate_rois)

URLs may be local shard paths, directories (all `*.tar` inside), globs, brace patterns
(`shards/seagull100w-{000000..000063}.tar`, also for remote URLs), `pipe:` commands or http(s)
addresses (read with curl, as webdataset does).
Shards are split by node (torch.distributed rank) and by DataLoader worker, so each sample is read
once per epoch across all workers.

Needs only the `loader` extra (numpy, OpenCV, pycocotools, webdataset) for raw samples
(`decode=False`); decoding to tensors, `Resize` and `collate_rois` import torch when called.
"""

from __future__ import annotations

import glob
import json
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import webdataset as wds
from pycocotools import mask as mask_utils
from webdataset.shardlists import expand_urls as wds_expand_urls
from webdataset.tariterators import group_by_keys, tar_file_expander

from pipeline.shards.format import IMAGE_EXT, JSON_EXT, REFERENCE_TYPE, decode_image

if TYPE_CHECKING:
    import torch

REFERENCE_MODES = ("skip", "include", "attach")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def expand_urls(urls: str | Path | Iterable[str | Path]) -> list[str]:
    """Shard URLs as a list: brace patterns expanded (webdataset's rules), local directories and globs
    expanded (sorted), remote URLs (`pipe:`, `http:` ...) kept as they are.

    Raises:
        FileNotFoundError: a local directory, glob or path that names no shard.
    """
    items = [urls] if isinstance(urls, str | Path) else list(urls)
    expanded: list[str] = []
    for url in (url for item in items for url in wds_expand_urls(str(item))):
        if _SCHEME.match(url):
            expanded.append(url)
        elif Path(url).is_dir():
            expanded += _require(sorted(glob.glob(str(Path(url) / "*.tar"))), url)
        elif glob.has_magic(url):
            expanded += _require(sorted(glob.glob(url)), url)
        else:
            expanded += _require([url] if Path(url).exists() else [], url)
    return expanded


def _require(paths: list[str], pattern: str) -> list[str]:
    if not paths:
        raise FileNotFoundError(f"no shards at {pattern!r}; pass a shard directory, a glob or shard paths")
    return paths


def roi_dataset(
    urls: str | Path | Iterable[str | Path],
    shuffle: int = 0,
    shardshuffle: int | bool = False,
    references: str = "skip",
    decode: bool = True,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    resampled: bool = False,
    seed: int | None = None,
    handler: Callable[[Exception], bool] = wds.reraise_exception,
    split_shards: bool = True,
) -> RoiDataset:
    """A webdataset pipeline (a torch IterableDataset) over SEAGULL-100w shards.

    Args:
        urls: see `expand_urls`.
        shuffle: sample shuffle buffer size (0: shard order).
        shardshuffle: shard-list shuffle buffer (False/0: shard order; True means 100).
        references: "skip" (distorted samples only), "include" (reference samples too, with
            dist_type "reference") or "attach" (each distorted sample gets "reference", its
            reference image, which shards store once, just before its variants).
        decode: False yields the raw samples ({"__key__", "png", "json"[, "reference.png"]}).
        transform: applied to each decoded sample (e.g. `Resize(512)`), after decoding.
        resampled: sample shards with replacement, endlessly (for multi-node training).
        seed: seed of the shard and sample shuffles (None: a fresh one each run).
        handler: what to do with a bad shard or sample (webdataset handlers: reraise_exception,
            warn_and_continue, ignore_and_continue).
        split_shards: split the shards by node and DataLoader worker; False when the caller has
            already chosen one process's shards (model/readers.py).

    Yields:
        dicts, see `decode_sample`.
    """
    if references not in REFERENCE_MODES:
        raise ValueError(f"references must be one of {REFERENCE_MODES}, got {references!r}")
    urls = expand_urls(urls)
    if resampled:  # as webdataset: a fresh seed when none is given
        shards = wds.ResampledShards(urls, seed=random.randrange(1 << 31) if seed is None else seed)
    else:
        shards = wds.SimpleShardList(urls)
    stages = [shards, wds.split_by_node, wds.split_by_worker] if split_shards else [shards]
    if shardshuffle and not resampled:
        stages.append(wds.shuffle(100 if shardshuffle is True else int(shardshuffle), seed=seed))
    stages += [
        _OpenShards(handler),
        wds.pipelinefilter(tar_file_expander)(handler=handler),
        wds.pipelinefilter(group_by_keys)(handler=handler),
        _ReferenceStage(references),
    ]
    if shuffle:
        stages.append(wds.shuffle(shuffle, seed=seed))
    if decode:
        stages.append(wds.map(decode_sample, handler=handler))
        if transform is not None:
            stages.append(wds.map(transform, handler=handler))
    return RoiDataset(*stages)


class RoiDataset(wds.DataPipeline, wds.FluidInterface):
    """What `roi_dataset` returns: a torch IterableDataset made of webdataset stages, with webdataset's
    fluid methods (`.map`, `.shuffle`, `.batched`, `.with_epoch`, ...), like `webdataset.WebDataset`."""


@dataclass(frozen=True)
class _OpenShards:
    """Open each shard URL: local files unbuffered (webdataset opens them buffered, which costs about
    a quarter of the read's CPU time: tarfile already reads in 10 KiB blocks), others with gopen
    (`pipe:`, curl for http/https, ...)."""

    handler: Callable[[Exception], bool]

    def __call__(self, shards: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for shard in shards:
            url = shard["url"]
            parsed = urlparse(url)
            try:
                if parsed.scheme in ("", "file"):
                    stream = open(url2pathname(parsed.path), "rb", buffering=0)
                else:
                    stream = wds.gopen(url, "rb")
            except Exception as error:  # noqa: BLE001 - the handler decides, as in webdataset
                error.args = (*error.args, url)
                if self.handler(error):
                    continue
                break
            try:
                yield dict(shard, stream=stream)
            finally:  # the tar stage has read the whole shard when it asks for the next one
                error = _close(stream, url)
            if error is not None and not self.handler(error):  # e.g. curl's exit status on a 404
                break


def _close(stream: Any, url: str) -> Exception | None:
    """Close a shard stream; a pipe's close reports its command's failure, returned here."""
    try:
        stream.close()
    except Exception as error:  # noqa: BLE001 - handed to the pipeline's handler
        error.args = (*error.args, url)
        return error
    return None


@dataclass(frozen=True)
class _ReferenceStage:
    """Drop, keep or attach reference samples; a plain class so DataLoader workers can pickle it."""

    mode: str

    def __call__(self, samples: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        reference: dict[str, Any] = {}
        for sample in samples:
            is_reference = sample["__key__"].endswith("_ref") and IMAGE_EXT in sample
            if is_reference and json.loads(sample[JSON_EXT])["dist_type"] == REFERENCE_TYPE:
                reference = sample
                if self.mode == "include":
                    yield sample
                continue
            if self.mode == "attach":
                sample = dict(sample, **{"reference." + IMAGE_EXT: _reference_of(sample, reference)})
            yield sample


def _reference_of(sample: dict[str, Any], reference: dict[str, Any]) -> bytes:
    wanted = json.loads(sample[JSON_EXT])["reference_key"]
    if reference.get("__key__") != wanted:
        raise ValueError(
            f"{sample.get('__url__')}: sample {sample['__key__']} has no reference {wanted} before it; "
            "shards written by pipeline.shards store it first: re-write this shard with the shard writer"
        )
    return reference[IMAGE_EXT]


def decode_sample(sample: dict[str, Any]) -> dict[str, Any]:
    """Decode one raw shard sample.

    Returns:
        {"key", "ref_id", "dist_type", "level",
         "image": float32 tensor (3, H, W) in 0..1,
         "masks": bool tensor (R, H, W), R = number of ROIs, in ROI order,
         "rois": [ROI dicts: roi_id, kind, rle, bbox, area, score, segmenter + label fields
                  (quality, quality_level, importance, ..., instructions) when the build labelled them],
         "reference": float32 tensor (3, H, W), only with references="attach"}.
    """
    record = json.loads(sample[JSON_EXT])
    height, width = record["height"], record["width"]
    decoded = {
        "key": record["key"],
        "ref_id": record["ref_id"],
        "dist_type": record["dist_type"],
        "level": record["level"],
        "image": _to_tensor(decode_image(sample[IMAGE_EXT])),
        "masks": decode_masks([roi["rle"] for roi in record["rois"]], height, width),
        "rois": record["rois"],
    }
    if "reference." + IMAGE_EXT in sample:
        decoded["reference"] = _to_tensor(decode_image(sample["reference." + IMAGE_EXT]))
    return decoded


def _torch():
    """torch, imported when a tensor is made: reading raw samples does not need it."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "decoding SEAGULL samples to tensors (decode_sample, Resize, collate_rois) needs torch: "
            "pip install torch, or read raw samples with roi_dataset(..., decode=False)"
        ) from error
    return torch


def decode_masks(rles: list[dict[str, Any]], height: int, width: int) -> torch.Tensor:
    """COCO RLEs to a bool tensor (R, H, W), decoded in one pycocotools call.

    The tensor is a zero-copy view of pycocotools' column-major output (strides (H*W, 1, H)):
    making it C-contiguous would cost as much as the decode itself; call .contiguous() if needed.
    """
    torch = _torch()
    if not rles:
        return torch.zeros((0, height, width), dtype=torch.bool)
    coded = [{"size": list(r["size"]), "counts": r["counts"].encode("ascii")} for r in rles]
    masks = mask_utils.decode(coded)  # uint8 (H, W, R), Fortran order
    return torch.from_numpy(masks).permute(2, 0, 1).view(torch.bool)


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) in 0..1."""
    return _torch().from_numpy(image).permute(2, 0, 1).float().div_(255.0)


@dataclass(frozen=True)
class Resize:
    """Resize a decoded sample's image (bilinear, antialiased) and masks (nearest) to size x size,
    e.g. SEAGULL's 512 x 512 input; ROI JSON (RLE, boxes) keeps the stored resolution."""

    size: int

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        out = dict(sample)
        for name in ("image", "reference"):
            if name in sample:
                out[name] = _resize_image(sample[name], self.size)
        masks = sample["masks"][None].float()  # (1, R, H, W)
        out["masks"] = (
            _torch().nn.functional.interpolate(masks, size=(self.size, self.size), mode="nearest")[0].bool()
        )
        return out


def _resize_image(image: torch.Tensor, size: int) -> torch.Tensor:
    resized = _torch().nn.functional.interpolate(
        image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized[0].clamp_(0.0, 1.0)


def collate_rois(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Collate decoded samples with different numbers of ROIs (a DataLoader `collate_fn`).

    Returns:
        {"image": float32 (B, 3, H, W), "reference": (B, 3, H, W) if attached,
         "level": int64 (B,), "masks": list of bool (R_i, H, W), "rois": list of lists,
         "key", "ref_id", "dist_type": lists}.

    Raises:
        ValueError: images of different sizes (pass transform=Resize(size) to roi_dataset).
    """
    torch = _torch()
    shapes = {tuple(sample["image"].shape) for sample in batch}
    if len(shapes) > 1:
        raise ValueError(
            f"images of different sizes {sorted(shapes)} in one batch; pass transform=Resize(512)"
        )
    collated = {
        name: [sample[name] for sample in batch] for name in ("key", "ref_id", "dist_type", "masks", "rois")
    }
    collated["image"] = torch.stack([sample["image"] for sample in batch])
    collated["level"] = torch.tensor([sample["level"] for sample in batch], dtype=torch.int64)
    if all("reference" in sample for sample in batch):
        collated["reference"] = torch.stack([sample["reference"] for sample in batch])
    return collated
