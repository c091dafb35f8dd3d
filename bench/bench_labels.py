"""Benchmark of the labels stage: labels per second per core for each metric, and the speed-up of
reference-side caching + batching over naive per-pair metric calls.

    python bench/bench_labels.py --out bench/results        # writes bench/results/labels.json

One sample reference (pipeline.sample -> decode -> render -> weight-free masks) at the default
1,024-px working size. Each metric labels a subset of variants (all ROIs) on one thread; labels per
second per core = labels / seconds. The speed-up compares `score_reference` with the metric as
built (prepared reference, batches) against `NaiveMetric` (one pyiqa call per pair, reference
recomputed) on the same crops, within this run. TOPIQ-FR uses random weights: timing only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from pipeline.labels import DEFAULT_METRIC, RANDOM_WEIGHTS, create_metric, list_metrics, score_reference


def sample_reference(name: str = "chelsea"):
    """(reference, ROIs, variants) of one sample photograph, through the real stages."""
    from pipeline.decode import decode_raw
    from pipeline.masks import (
        DEFAULT_DETECTOR,
        DEFAULT_SEGMENTER,
        compute_rois,
        create_detector,
        create_segmenter,
    )
    from pipeline.presets import load_presets
    from pipeline.render import render_reference, render_variants
    from pipeline.sample import SAMPLE_PHOTOS, write_sample

    with tempfile.TemporaryDirectory() as folder:
        index = list(SAMPLE_PHOTOS).index(name)
        path = write_sample(folder, n=index + 1)[index]
        decoded = decode_raw(path)
    presets = load_presets()
    reference = render_reference(decoded, presets)
    variants = list(render_variants(decoded, presets))
    rois = compute_rois(reference, create_segmenter(DEFAULT_SEGMENTER), create_detector(DEFAULT_DETECTOR))
    return reference, rois, variants


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def metric_rates(reference, rois, variants) -> dict:
    """Labels per second on one core for every registered metric, on 2 levels per type."""
    subset = [variant for variant in variants if variant.level in (5, 15)]
    rates = {}
    for name in list_metrics():
        weights = RANDOM_WEIGHTS if name == "topiq_fr" else None
        metric = create_metric(name, weights)
        use = subset[:2] if name == "topiq_fr" else subset  # ResNet-50 on CPU: a few variants suffice
        seconds, _ = timed(lambda m=metric, u=use: score_reference(reference, rois, u, m))
        labels = len(use) * len(rois)
        rates[name] = {
            "labels": labels,
            "seconds": round(seconds, 2),
            "labels_per_s_per_core": round(labels / seconds, 2),
        }
        print(
            f"{name:10s} {labels:5d} labels  {seconds:7.2f} s  {labels / seconds:8.2f} labels/s/core",
            flush=True,
        )
    return rates


def speedups(reference, rois, variants) -> dict:
    """Cached + batched vs naive per-pair calls, same crops, same run."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    from stand_ins import NaiveMetric  # the tests' stand-in: one pyiqa call per pair

    # TOPIQ: many variants of few ROIs, as in a build (one reference preparation serves 120 variants).
    cases = {
        DEFAULT_METRIC: (None, variants[::10], rois),
        "topiq_fr": (RANDOM_WEIGHTS, variants[::10], rois[:2]),
    }
    result = {}
    for name, (weights, use, use_rois) in cases.items():
        metric = create_metric(name, weights)
        fast, cached = timed(lambda m=metric, u=use, r=use_rois: score_reference(reference, r, u, m))
        slow, naive = timed(
            lambda m=metric, u=use, r=use_rois: score_reference(reference, r, u, NaiveMetric(m))
        )
        difference = float(abs(cached.quality - naive.quality).max())
        result[name] = {
            "pairs": len(use) * len(use_rois),
            "cached_batched_s": round(fast, 2),
            "naive_s": round(slow, 2),
            "speedup": round(slow / fast, 2),
            "max_abs_difference": difference,
        }
        print(
            f"{name:10s} speed-up {slow / fast:.2f}x ({slow:.1f} s naive / {fast:.1f} s), max |diff| {difference:.1e}",
            flush=True,
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for labels.json")
    args = parser.parse_args()
    torch.set_num_threads(1)  # per-core figures
    reference, rois, variants = sample_reference()
    print(f"reference {reference.shape}, {len(rois)} ROIs, {len(variants)} variants", flush=True)
    report = {
        "reference_shape": list(reference.shape),
        "rois": len(rois),
        "variants": len(variants),
        "threads": 1,
    }
    report["metrics"] = metric_rates(reference, rois, variants)
    report["caching_and_batching"] = speedups(reference, rois, variants)
    torch.set_num_threads(2)
    seconds, _ = timed(lambda: score_reference(reference, rois, variants, create_metric(DEFAULT_METRIC)))
    report["full_reference_default_metric_2_threads_s"] = round(seconds, 2)
    print(f"one full reference with {DEFAULT_METRIC} on 2 threads: {seconds:.1f} s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "labels.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
