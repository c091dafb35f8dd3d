"""End-to-end cost of the SEAGULL-100w build per reference, by stage (one core, no Prefect).

Runs `pipeline.chunk.process_chunk` on the embedded sample and writes DIR/build.json: seconds per
reference for decode, render, masks, labels and write, the ROIs, labels and shard bytes per reference,
and the derived cost per label and per variant. docs/SCALING.md extrapolates the full build from it.

    python bench/bench_build.py --out bench/results     # 1 ref x 30 variants (6 types x 5 levels), 1,024 px
    python bench/bench_build.py --out bench/results --refs 2 --levels 1-20          # every variant
    python bench/bench_build.py --out /tmp/b --refs 1 --size 256 --types blur --levels 1,20   # quick
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from pipeline.build_config import BuildConfig
from pipeline.build_state import parts_dir
from pipeline.chunk import ChunkSpec, process_chunk
from pipeline.sample import write_sample


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for build.json")
    parser.add_argument("--refs", type=int, default=1, help="sample references to build")
    parser.add_argument("--size", type=int, default=1024, help="working long side (px)")
    parser.add_argument("--types", default=None, help="comma-separated types (default: all six)")
    # 5 of the 20 levels: render, labels and write cost the same per variant at every level, so the
    # per-reference cost at 120 variants is extrapolated linearly (`seconds_per_reference_120`).
    parser.add_argument("--levels", default="1,5,10,15,20", help="comma-separated levels, or 1-20 for all")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = cost per core)")
    parser.add_argument("--device", default="cpu", help="torch device of segmenter, detector, metric")
    for name in ("segmenter", "checkpoint", "detector", "detector-weights", "metric", "metric-weights"):
        parser.add_argument(f"--{name}", default=None, help=f"as `seagull build --{name}`")
    return parser.parse_args()


def run(args: argparse.Namespace, work: Path) -> dict:
    raw = work / "raw"
    paths = write_sample(raw, n=args.refs, seed=0)
    config = BuildConfig(
        source=str(raw),
        out=str(work / "shards"),
        size=args.size,
        types=tuple(args.types.split(",")) if args.types else None,
        levels=None if args.levels == "1-20" else tuple(int(v) for v in args.levels.split(",")),
        chunk_size=len(paths),
        device=args.device,
        segmenter=args.segmenter,
        checkpoint=args.checkpoint,
        detector=args.detector,
        detector_weights=args.detector_weights,
        metric=args.metric,
        metric_weights=args.metric_weights,
    )
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = process_chunk(ChunkSpec(0, tuple(str(p) for p in sorted(paths))), config)
    wall = time.perf_counter() - start
    return summarise(config, result, wall, work / "shards")


def summarise(config: BuildConfig, result, wall: float, shards: Path) -> dict:
    n_refs = len(result.refs)
    if n_refs == 0:
        raise SystemExit(f"no reference was built: {result.failures}")
    parts = parts_dir(shards)
    rows = sum(_parquet_rows(p) for p in sorted(parts.glob("*.parquet"))) if parts.exists() else None
    variants = len(config.types or range(6)) * len(config.levels or range(20))
    per_ref = {
        stage: round(seconds / n_refs, 3) for stage, seconds in result.timings.items() if stage != "load"
    }
    labels_per_ref = rows / n_refs if rows else None
    return {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
        },
        "config": config.to_json(),
        "references": n_refs,
        "variants_per_reference": variants,
        "seconds_per_reference": per_ref,
        "seconds_per_reference_total": round(sum(per_ref.values()), 3),
        "seconds_per_reference_120": (full := extrapolate(per_ref, variants)),
        "seconds_per_reference_120_total": round(sum(full.values()), 3),
        "seconds_model_load_per_chunk": round(result.timings.get("load", 0.0), 3),
        "wall_seconds": round(wall, 3),
        "roi_labels_per_reference": labels_per_ref,
        "rois_per_reference": labels_per_ref / variants if labels_per_ref else None,
        "labels_seconds_per_roi_label": round(per_ref["labels"] / labels_per_ref, 6)
        if labels_per_ref
        else None,
        "render_seconds_per_variant": round(per_ref["render"] / variants, 5),
        "shard_bytes_per_reference": sum(s["bytes"] for s in result.shards) // n_refs,
        "shard_bytes_per_reference_120": sum(s["bytes"] for s in result.shards)
        // n_refs
        * 121
        // (variants + 1),
        "failures": [f.__dict__ for f in result.failures],
    }


def extrapolate(per_ref: dict[str, float], variants: int) -> dict[str, float]:
    """Per-reference seconds at the full 120 variants: decode and masks are per reference; render and
    labels scale with the variants; write with the images (variants + the reference)."""
    scale = {"render": 120 / variants, "labels": 120 / variants, "write": 121 / (variants + 1)}
    return {stage: round(seconds * scale.get(stage, 1.0), 3) for stage, seconds in per_ref.items()}


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench_build_") as tmp:
        report = run(args, Path(tmp))
    path = args.out / "build.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["seconds_per_reference"]), f"-> {path}")


if __name__ == "__main__":
    main()
