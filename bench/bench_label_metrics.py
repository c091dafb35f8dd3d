"""Which weight-free metric sees every distortion type? The table behind the default of docs/labels.md.

For each candidate metric, on a few sample references rendered as `make shards` renders them (1,024 px,
the build's masks), per distortion type:
- Spearman of mean ROI quality against level (over the levels measured; -1 = falls steadily),
- share of level-20 labels that carry the distortion (quality <= 0.92),
- share of level-1 labels judged clean (quality > 0.92),
and the cost per reference (seconds for 120 variants x its ROIs, quality crops + importance pastes,
extrapolated from the variants measured). Each metric's `worst` is fitted by pipeline.labels.calibrate's
rule on the measured labels (so every metric is judged with its own best normalisation), except where
metrics.yaml says it is not fitted (`fitted: false`, delta_e: one JND), which keeps its own.
`min(a, b)` rows combine two metrics: the lower of their normalised qualities.

    python bench/bench_label_metrics.py --out bench/results               # ~15 min on 2 shared cores
    python bench/bench_label_metrics.py --out bench/results --refs 1 --levels 1,20   # smoke run

Writes OUT/label_metrics.json and prints the Markdown table pasted into docs/labels.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.stats import spearmanr

from pipeline.labels import create_metric
from pipeline.labels.calibrate import QUANTILE
from pipeline.labels.crops import mask_box
from pipeline.labels.metrics import load_settings
from pipeline.labels.scoring import ScoreConfig, pasted_quality, roi_quality
from pipeline.taxonomy import DISTORTION_TYPES

CANDIDATES = ("gmsd_rgb", "delta_e", "vsi", "fsim_c", "ms_ssim_rgb")
ALL_ROIS: dict[str, int] = {}
SLOW = ("ms_ssim_rgb",)  # ~15x the cost of vsi: measured on fewer ROIs
# min(gmsd_rgb, delta_e) is the registered default `gmsd_rgb_delta_e` (its cost: both parts').
COMBINATIONS = (("gmsd_rgb", "vsi"), ("gmsd_rgb", "delta_e"))
THRESHOLD = 0.92


def sample_inputs(n_refs: int, levels: list[int], size: int, max_rois: int):
    """(ref_id, reference, rois, variants) of the first n sample references, as the build makes them
    (render presets, weight-free masks); at most `max_rois` ROIs each, spread over the ROI list."""
    from pipeline import masks
    from pipeline.decode import decode_raw
    from pipeline.presets import load_presets
    from pipeline.render import render_reference, render_variants
    from pipeline.sample import write_sample

    presets = load_presets()
    segmenter = masks.create_segmenter(masks.DEFAULT_SEGMENTER, None)
    detector = masks.create_detector(masks.DEFAULT_DETECTOR, None) if masks.DEFAULT_DETECTOR else None
    with tempfile.TemporaryDirectory() as folder:
        write_sample(Path(folder), n=8, seed=0)
        paths = sorted(Path(folder).glob("*.dng"))[:n_refs]
        for path in paths:
            decoded = decode_raw(path, size=size)
            reference = render_reference(decoded, presets)
            rois = masks.compute_rois(reference, segmenter, detector, masks.MaskConfig(seed=0))
            ALL_ROIS[path.stem] = len(rois)  # the cost is scaled to every ROI of the reference
            rois = [rois[i] for i in sorted(set(np.linspace(0, len(rois) - 1, max_rois).round().astype(int)))]
            variants = list(render_variants(decoded, presets, levels=levels))
            yield path.stem, reference, rois, variants


def measure(metric_names, inputs, n_variants_full: int = 120, timed_rois: int = 2):
    """{metric: {"distance": (N,), "type": (N,), "level": (N,), "seconds_per_reference": float}}.

    Quality for every (variant, ROI); the importance pastes only for `timed_rois` ROIs, to time them
    (scaled to all ROIs and 120 variants in the cost).
    """
    out = {name: {"distance": [], "type": [], "level": [], "seconds": []} for name in metric_names}
    for ref_id, reference, rois, variants in inputs:
        images = np.stack([v.image for v in variants])
        masks = [roi.mask() for roi in rois]
        types = np.repeat([v.dist_type for v in variants], len(rois))
        levels = np.repeat([v.level for v in variants], len(rois))
        for name in metric_names:
            metric, config = create_metric(name), ScoreConfig()
            start = time.perf_counter()
            raw = np.stack(
                [roi_quality(reference, images, m, mask_box(m), metric, config) for m in masks], axis=1
            )
            quality_seconds = time.perf_counter() - start
            start = time.perf_counter()
            pasted_quality(reference, images, masks[:timed_rois], metric, config)
            paste_seconds = (time.perf_counter() - start) * len(rois) / min(timed_rois, len(rois))
            out[name]["distance"].append(np.abs(raw - metric.settings.best).ravel())  # 0 = identical
            out[name]["type"].append(types)
            out[name]["level"].append(levels)
            per_roi = (quality_seconds + paste_seconds) / len(rois)
            n_rois = ALL_ROIS.get(ref_id, len(rois))
            out[name]["seconds"].append(per_roi * n_rois * n_variants_full / len(variants))
            print(
                f"{ref_id} {name}: {len(rois)} ROIs x {len(variants)} variants: quality {quality_seconds:.1f} s, "
                f"importance (est.) {paste_seconds:.1f} s",
                flush=True,
            )
    return {
        name: {
            "distance": np.concatenate(v["distance"]),
            "type": np.concatenate(v["type"]),
            "level": np.concatenate(v["level"]),
            "seconds_per_reference": float(np.mean(v["seconds"])),
        }
        for name, v in out.items()
    }


def table_row(quality: np.ndarray, types: np.ndarray, levels: np.ndarray) -> dict[str, dict[str, float]]:
    row = {}
    for dist_type in DISTORTION_TYPES:
        here = types == dist_type
        measured = sorted(set(levels[here].tolist()))
        means = [float(quality[here & (levels == k)].mean()) for k in measured]
        row[dist_type] = {
            "spearman": float(spearmanr(measured, means).statistic) if len(measured) > 2 else float("nan"),
            "level20_distorted_pct": 100.0 * float((quality[here & (levels == 20)] <= THRESHOLD).mean()),
            "level1_clean_pct": 100.0 * float((quality[here & (levels == 1)] > THRESHOLD).mean()),
            "mean_quality_by_level": dict(zip(measured, [round(m, 4) for m in means], strict=True)),
        }
    return row


def normalised(distance: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    settings = load_settings()[name]
    span = float(np.quantile(distance, QUANTILE)) if settings.fitted else abs(settings.worst - settings.best)
    return np.clip(1.0 - distance / span, 0.0, 1.0), span


def working_size_evidence(name: str, inputs, span: float, sizes=(128, 256, 384, 512, 1024)):
    """Whole-image quality of level-10 noise and blur at each working size of the importance score,
    pooled as the importance score pools it (tile mean, or the whole image), with the fitted span:
    where it is near 1, the paste of a noisy/blurred ROI is not measured."""
    base = create_metric(name)
    s = base.settings
    worst = s.best + span if s.lower_better else s.best - span
    result = {}
    for _ref_id, reference, _rois, variants in inputs:
        everywhere = np.ones(reference.shape[:2], bool)
        for variant in variants:
            if variant.level != 10 or variant.dist_type not in ("noise", "blur"):
                continue
            for size in sizes:
                base.settings = dataclasses.replace(s, worst=worst, whole_max_side=size)
                pasted, _ = pasted_quality(reference, variant.image[None], [everywhere], base, ScoreConfig())
                result.setdefault(f"{variant.dist_type}@{size}", []).append(float(pasted[0, 0]))
    return {key: round(float(np.mean(values)), 4) for key, values in result.items()}


def markdown(rows: dict[str, dict], costs: dict[str, float]) -> str:
    lines = [
        "| metric | cost s/ref | " + " | ".join(DISTORTION_TYPES) + " |",
        "|---|---|" + "---|" * len(DISTORTION_TYPES),
    ]
    for name, row in rows.items():
        cells = [
            f"{row[t]['spearman']:.2f} / {row[t]['level20_distorted_pct']:.0f} % / {row[t]['level1_clean_pct']:.0f} %"
            for t in DISTORTION_TYPES
        ]
        lines.append(f"| {name} | {costs[name]:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--refs", type=int, default=2, help="sample references measured (of 8)")
    parser.add_argument("--levels", default="1,5,10,15,20", help="levels measured per type")
    parser.add_argument("--size", type=int, default=1024, help="working resolution (long side), as the build")
    parser.add_argument("--metrics", default=",".join(CANDIDATES))
    parser.add_argument("--rois", type=int, default=10, help="ROIs measured per reference (spread)")
    parser.add_argument("--slow-rois", type=int, default=3, help="ROIs for metrics costing > 0.5 s / 512²")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: on a loaded machine more threads spin-wait)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    levels = [int(k) for k in args.levels.split(",")]
    names = args.metrics.split(",")
    inputs = list(sample_inputs(args.refs, levels, args.size, args.rois))
    slow = [name for name in names if name in SLOW]
    measured = measure([n for n in names if n not in SLOW], inputs)
    if slow:
        few = [
            (r, ref, [rois[i] for i in np.linspace(0, len(rois) - 1, args.slow_rois).round().astype(int)], v)
            for r, ref, rois, v in inputs
        ]
        measured.update(measure(slow, few))
    rows, costs, spans = {}, {}, {}
    qualities = {}
    for name, m in measured.items():
        qualities[name], spans[name] = normalised(m["distance"], name)
        rows[name] = table_row(qualities[name], m["type"], m["level"])
        costs[name] = m["seconds_per_reference"]
    for a, b in COMBINATIONS:
        if a in qualities and b in qualities:
            name = f"min({a}, {b})"
            rows[name] = table_row(
                np.minimum(qualities[a], qualities[b]), measured[a]["type"], measured[a]["level"]
            )
            costs[name] = costs[a] + costs[b]
    evidence = {name: working_size_evidence(name, inputs, spans[name]) for name in names if name not in SLOW}
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {torch.get_num_threads()} torch threads, shared 2-core CPU sandbox",
        "references": [ref_id for ref_id, *_ in inputs],
        "rois": [len(rois) for _, _, rois, _ in inputs],
        "levels": levels,
        "size": args.size,
        "fitted_span": spans,
        "table": rows,
        "cost_seconds_per_reference": costs,
        "importance_working_size_level10": evidence,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "label_metrics.json").write_text(json.dumps(result, indent=2))
    print("cells: Spearman(mean quality, level) / level-20 labels with the distortion / level-1 labels clean")
    print(markdown(rows, costs))
    print(json.dumps(evidence, indent=2))


if __name__ == "__main__":
    main()
