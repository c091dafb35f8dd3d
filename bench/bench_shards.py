"""Benchmark of the shard stage: writer throughput, PNG level trade-off, loader read throughput.

Synthetic but realistic data: photographs (scikit-image) at the build's working size (long side
1,024 px), variants made by cheap numpy edits (noise, gain, box blur), ~34 ROIs per reference
(the paper's mean) and random labels. Reads are timed on a warm page cache (best of `--repeat`),
so they measure our overhead, not the disk. Ratios compare figures of this one run:

- raw_read_ratio:    roi_dataset(decode=False) samples/s over a plain `tarfile` iteration that reads
                     every member (the issue's target: at least 0.8);
- decode_read_ratio: roi_dataset() (PNG + JSON + RLE masks to tensors) over the same decode done by
                     hand on a plain `tarfile` iteration;
- *_cpu:             the same ratios in process CPU time, which neighbours on a shared machine do not
                     inflate (wall-clock ratios there swing by +-0.2 from run to run);
- *_tuned_malloc:    the raw read in a child process with glibc's trim/mmap thresholds raised (see
                     `raw_read_times_tuned_malloc`): the loader's own overhead without allocator churn.

    python bench/bench_shards.py --out bench/results [--refs 3] [--variants 24] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data as skdata

from pipeline.levels import level_word
from pipeline.records import ROI, Variant
from pipeline.shards import RefGroup, ShardConfig, finalize, write_chunk
from pipeline.shards.features import undeclared_fields
from pipeline.shards.format import decode_image, dump_json, encode_image
from pipeline.shards.loader import decode_sample, roi_dataset
from pipeline.taxonomy import DISTORTION_TYPES

PHOTOS = ("chelsea", "astronaut", "coffee", "rocket", "motorcycle_left")
LONG_SIDE = 1024
ROIS_PER_IMAGE = 34  # the paper's mean


def photo(name: str) -> np.ndarray:
    """A scikit-image photograph resized to a long side of 1,024 px, uint8 (H, W, 3)."""
    image = getattr(skdata, name)()
    scale = LONG_SIDE / max(image.shape[:2])
    return cv2.resize(
        image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )


def variant_image(image: np.ndarray, index: int, rng: np.random.Generator) -> np.ndarray:
    """A cheap stand-in distortion, cycling noise, gain and box blur (compressibility varies like the real ones)."""
    kind = index % 3
    if kind == 0:
        noisy = image + rng.normal(0, 2 + index, image.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8)
    if kind == 1:
        return np.clip(image * (0.5 + index / 30), 0, 255).astype(np.uint8)
    return cv2.blur(image, (1 + index, 1 + index))


def make_group(ref_id: str, image: np.ndarray, n_variants: int, rng: np.random.Generator) -> RefGroup:
    height, width = image.shape[:2]
    rois = []
    for roi_id in range(ROIS_PER_IMAGE):
        mask = np.zeros((height, width), np.uint8)
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(20, 200)), int(rng.integers(20, 200)))
        cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        rois.append(
            ROI.from_mask(roi_id, "object" if roi_id < 10 else "component", mask.astype(bool), 0.9, "bench")
        )
    pairs = [(t, level) for level in range(1, 21) for t in DISTORTION_TYPES][:n_variants]
    variants = [Variant(t, level, variant_image(image, i, rng)) for i, (t, level) in enumerate(pairs)]
    labels = [_label(v, roi, rng) for v in variants for roi in rois]
    provenance = {"preset_hash": "bench", "segmenter": "bench", "metric": "bench", "code_version": "bench"}
    return RefGroup(ref_id, image, variants, rois, labels, provenance)


def _label(variant: Variant, roi: ROI, rng: np.random.Generator) -> dict:
    q, i, s = (float(v) for v in rng.uniform(0, 1, 3))
    return {
        "dist_type": variant.dist_type, "level": variant.level, "roi_id": roi.roi_id, "metric": "bench",
        "quality": q, "quality_level": level_word("quality", q), "importance": i,
        "importance_level": level_word("importance", i), "distortion": variant.dist_type,
        "severity": s, "severity_level": level_word("severity", s),
    }  # fmt: skip


def best_of(repeat: int, fn) -> float:
    """Shortest wall time of `repeat` calls of fn()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def png_levels(image: np.ndarray, repeat: int) -> list[dict]:
    rows = []
    for level in (0, 1, 3, 6, 9):
        encoded = encode_image(image, level)
        rows.append({
            "level": level,
            "kbytes": round(len(encoded) / 1024, 1),
            "encode_ms": round(1e3 * best_of(repeat, lambda lv=level: encode_image(image, lv)), 1),
            "decode_ms": round(1e3 * best_of(repeat, lambda b=encoded: decode_image(b)), 1),
        })  # fmt: skip
    return rows


def plain_tar_read(paths: list[Path]) -> int:
    """Iterate the tars with tarfile and read every member's bytes; returns the number of samples."""
    keys = set()
    for path in paths:
        with tarfile.open(path, "r|") as archive:
            for member in archive:
                archive.extractfile(member).read()
                keys.add(member.name.split(".", 1)[0])
    return len(keys)


def plain_tar_decode(paths: list[Path]) -> int:
    """The loader's decode, by hand on a plain tarfile iteration (distorted samples only)."""
    count, sample = 0, {}
    for path in paths:
        with tarfile.open(path, "r|") as archive:
            for member in archive:
                key, ext = member.name.split(".", 1)
                if sample and sample["__key__"] != key:
                    count += _decode_if_distorted(sample)
                    sample = {}
                sample.update({"__key__": key, ext: archive.extractfile(member).read()})
    return count + _decode_if_distorted(sample)


def _decode_if_distorted(sample: dict) -> int:
    if not sample or sample["__key__"].endswith("_ref"):
        return 0
    decode_sample(sample)
    return 1


def count(iterable) -> int:
    return sum(1 for _ in iterable)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for shards.json")
    parser.add_argument("--refs", type=int, default=3, help="references (one chunk each)")
    parser.add_argument("--variants", type=int, default=24, help="variants per reference (the build has 120)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed repetitions (x3 for raw reads); the best counts"
    )
    parser.add_argument("--read-only", type=Path, help=argparse.SUPPRESS)  # the tuned-malloc child
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    if args.read_only:
        print(json.dumps(raw_read_times(sorted(args.read_only.glob("*.tar")), args.repeat)))
        return
    rng = np.random.default_rng(0)
    groups = [
        make_group(f"bench{i}", photo(PHOTOS[i % len(PHOTOS)]), args.variants, rng) for i in range(args.refs)
    ]
    result = {"refs": args.refs, "variants_per_ref": args.variants, "rois_per_image": ROIS_PER_IMAGE}
    result["png_levels"] = png_levels(groups[0].reference, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        stats = [s for i, g in enumerate(groups) for s in write_chunk(out, i, [g], ShardConfig())]
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        finalize(out)
        finalize_s = time.perf_counter() - start
        paths = sorted(out.glob("*.tar"))
        n_samples, n_bytes = sum(s.count for s in stats), sum(s.bytes for s in stats)
        n_distorted = sum(s.n_distorted for s in stats)
        result["writer"] = {
            "samples": n_samples,
            "mbytes": round(n_bytes / 1e6, 1),
            "seconds": round(write_s, 2),
            "samples_per_s": round(n_samples / write_s, 2),
            "mbytes_per_s": round(n_bytes / 1e6 / write_s, 1),
            "finalize_s": round(finalize_s, 2),
            "json_bytes_per_sample": round(_json_bytes(paths[0])),
            **_type_check_cost(paths[0], write_s / n_samples, args.repeat),
        }
        result["reader"] = _reader(paths, n_samples, n_distorted, n_bytes, args.repeat)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "shards.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


def raw_read_times(paths: list[Path], repeat: int) -> dict[str, dict[str, float]]:
    """Plain tar read vs roi_dataset(decode=False), interleaved, best of 3 x repeat (reads take tens of ms)."""
    return best_of_interleaved(
        {
            "tar": lambda: plain_tar_read(paths),
            "loader": lambda: count(roi_dataset(paths, decode=False, references="include")),
        },
        repeat=3 * repeat,
    )


def raw_read_times_tuned_malloc(folder: Path, repeat: int) -> dict[str, dict[str, float]]:
    """`raw_read_times` in a child process whose glibc keeps freed memory (MALLOC_*_THRESHOLD_).

    Any reader that holds a sample's members while it reads the next (webdataset groups a sample's
    files) makes glibc trim and re-fault ~1 MB blocks; a plain loop that drops each member at once
    does not. The child shows the loader's own overhead without that allocator effect.
    """
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(32 << 20), MALLOC_TRIM_THRESHOLD_=str(128 << 20))
    command = [
        sys.executable,
        __file__,
        "--read-only",
        str(folder),
        "--repeat",
        str(repeat),
        "--out",
        str(folder),
    ]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def _reader(paths: list[Path], n_samples: int, n_distorted: int, n_bytes: int, repeat: int) -> dict:
    """Best-of timings, wall and CPU; the plain and the loader read alternate so that both see the same
    machine load. On a shared machine the CPU-time ratio is the steadier one: single-threaded reads
    from a warm page cache wait for nothing but the CPU."""
    raw = raw_read_times(paths, repeat)
    tuned = raw_read_times_tuned_malloc(paths[0].parent, repeat)
    decoded = best_of_interleaved(
        {"tar": lambda: plain_tar_decode(paths), "loader": lambda: count(roi_dataset(paths))}, repeat=repeat
    )
    return {
        "plain_tar_samples_per_s": round(n_samples / raw["tar"]["wall"], 1),
        "plain_tar_mbytes_per_s": round(n_bytes / 1e6 / raw["tar"]["wall"], 1),
        "loader_raw_samples_per_s": round(n_samples / raw["loader"]["wall"], 1),
        "raw_read_ratio": round(raw["tar"]["wall"] / raw["loader"]["wall"], 3),
        "raw_read_ratio_cpu": round(raw["tar"]["cpu"] / raw["loader"]["cpu"], 3),
        "raw_read_ratio_tuned_malloc": round(tuned["tar"]["wall"] / tuned["loader"]["wall"], 3),
        "raw_read_ratio_tuned_malloc_cpu": round(tuned["tar"]["cpu"] / tuned["loader"]["cpu"], 3),
        "plain_tar_decode_samples_per_s": round(n_distorted / decoded["tar"]["wall"], 2),
        "loader_decode_samples_per_s": round(n_distorted / decoded["loader"]["wall"], 2),
        "decode_read_ratio": round(decoded["tar"]["wall"] / decoded["loader"]["wall"], 3),
        "decode_read_ratio_cpu": round(decoded["tar"]["cpu"] / decoded["loader"]["cpu"], 3),
    }


def best_of_interleaved(fns: dict, repeat: int) -> dict[str, dict[str, float]]:
    """Shortest wall and CPU time of each function over `repeat` rounds that call every function once."""
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return {name: {kind: min(values) for kind, values in kinds.items()} for name, kinds in times.items()}


def _type_check_cost(path: Path, write_s_per_sample: float, repeat: int) -> dict[str, float]:
    """The writer's per-sample type check (pipeline.shards.features) against dump_json and the write."""
    with tarfile.open(path) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(".json") and "_ref." not in m.name)
        record = json.loads(archive.extractfile(member).read())
    check = best_of(repeat * 10, lambda: undeclared_fields(record))
    dump = best_of(repeat * 10, lambda: dump_json(record))
    return {
        "type_check_ms_per_sample": round(check * 1e3, 2),
        "type_check_over_dump_json": round(check / dump, 2),
        "type_check_share_of_write": round(check / write_s_per_sample, 3),
    }


def _json_bytes(path: Path) -> float:
    with tarfile.open(path) as archive:
        sizes = [m.size for m in archive.getmembers() if m.name.endswith(".json")]
    return sum(sizes) / len(sizes)


if __name__ == "__main__":
    main()
