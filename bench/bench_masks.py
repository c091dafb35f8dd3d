"""Cost of the masks stage per reference, by segmenter, and the gain of batched point prompts.

Writes DIR/masks.json. Images: skimage photographs resized to a 1,024 px long side (the sample's
sources). Rows:
- `felzenszwalb_rag + region_proposals`: the weight-free default of the build;
- `sam_tiny_random + region_proposals`: the segment-anything code path on a tiny RANDOM SAM (a stand-in
  for timing the plumbing only; its masks mean nothing);
- `sam_vit_b (random weights, timing only)`: vit_b's real architecture with random weights, so the
  compute per image (embedding + decoder) is the real model's; skipped with --quick;
- `sam_<variant>` from a real checkpoint when --sam-checkpoint is given.
Point batching: the same 64 point prompts on one embedding, 64 per decoder call vs one per call. On
CPU the ratio comes out below 1 (one per call is faster: the full-resolution logits of a big call
dominate), which is why SamConfig uses one prompt per call on CPU and 64 on a GPU.

    python bench/bench_masks.py --out bench/results [--quick] [--sam-checkpoint sam_vit_b_01ec64.pth]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch
from segment_anything import sam_model_registry
from skimage import data

from pipeline.masks import (
    DEFAULT_DETECTOR,
    DEFAULT_SEGMENTER,
    MaskConfig,
    Provenance,
    compute_rois,
    create_detector,
    create_segmenter,
)
from pipeline.masks.sam import SamConfig, SamSegmenter

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for masks.json")
    parser.add_argument("--size", type=int, default=1024, help="working long side (px)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = cost per core)")
    parser.add_argument("--quick", action="store_true", help="skip the vit_b-sized timing row")
    parser.add_argument("--sam-checkpoint", type=Path, help="a real SAM checkpoint to time")
    parser.add_argument("--sam-variant", default="vit_b", choices=("vit_b", "vit_l", "vit_h"))
    return parser.parse_args()


def photos(size: int) -> dict[str, np.ndarray]:
    out = {}
    for name in PHOTOS:
        image = getattr(data, name)()
        scale = size / max(image.shape[:2])
        out[name] = cv2.resize(
            image,
            (round(image.shape[1] * scale), round(image.shape[0] * scale)),
            interpolation=cv2.INTER_AREA,
        )
    return out


def time_rois(label: str, segmenter, detector, images: dict[str, np.ndarray]) -> dict:
    """Seconds (wall and CPU) and ROI counts per reference for one segmenter + detector."""
    rows = []
    for name, image in images.items():
        wall, cpu = time.perf_counter(), time.process_time()
        rois = compute_rois(image, segmenter, detector, MaskConfig())
        rows.append(
            {
                "image": name,
                "shape": list(image.shape[:2]),
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "objects": sum(r.kind == "object" for r in rois),
                "components": sum(r.kind == "component" for r in rois),
            }
        )
        print(
            f"{label:55s} {name:10s} {rows[-1]['wall_s']:6.2f} s wall {rows[-1]['cpu_s']:6.2f} s cpu  {len(rois)} ROIs"
        )
    return {
        "segmenter": label,
        "mean_wall_s": float(np.mean([r["wall_s"] for r in rows])),
        "mean_cpu_s": float(np.mean([r["cpu_s"] for r in rows])),
        "per_image": rows,
    }


def batching_ratio(model: torch.nn.Module, label: str, image: np.ndarray, n_points: int = 64) -> dict:
    """The same point prompts on one embedding: all in one decoder call vs one per call (CPU time)."""
    open_gates = SamConfig(pred_iou_thresh=float("-inf"), stability_score_thresh=0.0)
    segmenter = SamSegmenter(model, Provenance(label), config=open_gates)
    segmenter.set_image(image)
    points = np.random.default_rng(0).uniform(0, 1, (n_points, 2)) * [image.shape[1], image.shape[0]]
    times = {}
    for batch in (n_points, 1):
        segmenter.config = replace(open_gates, points_per_batch=batch)
        start = time.process_time()
        segmenter.segment_points(points.astype(np.float32))
        times[batch] = time.process_time() - start
    print(
        f"point batching on {label}: {n_points} per call {times[n_points]:.2f} s, one per call {times[1]:.2f} s"
    )
    return {
        "model": label,
        "device": "cpu",
        "n_points": n_points,
        "batched_cpu_s": times[n_points],
        "one_at_a_time_cpu_s": times[1],
        "ratio_one_at_a_time_over_batched": times[1] / times[n_points],
    }


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    images = photos(args.size)
    detector = create_detector(DEFAULT_DETECTOR)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    from stand_ins import build_tiny_random_sam  # the tests' stand-in, never a build's segmenter

    tiny = build_tiny_random_sam()
    rows = [
        time_rois(
            f"{DEFAULT_SEGMENTER} + {DEFAULT_DETECTOR}", create_segmenter(DEFAULT_SEGMENTER), detector, images
        ),
        time_rois(
            f"sam_tiny_random (code path only, random weights) + {DEFAULT_DETECTOR}",
            SamSegmenter(tiny, Provenance("sam_tiny_random")),
            detector,
            images,
        ),
    ]
    batching = [batching_ratio(tiny, "sam_tiny_random (random weights)", images["coffee"])]
    if not args.quick:
        vit_b = sam_model_registry["vit_b"]().eval()  # architecture only: no checkpoint, nothing downloads
        first = {"coffee": images["coffee"]}
        rows.append(
            time_rois(
                f"sam_vit_b (random weights, timing only) + {DEFAULT_DETECTOR}",
                SamSegmenter(vit_b, Provenance("sam_vit_b_random")),
                detector,
                first,
            )
        )
        batching.append(batching_ratio(vit_b, "sam_vit_b (random weights, timing only)", images["coffee"]))
    if args.sam_checkpoint:
        real = create_segmenter(f"sam_{args.sam_variant}", checkpoint=str(args.sam_checkpoint))
        rows.append(time_rois(f"sam_{args.sam_variant} + {DEFAULT_DETECTOR}", real, detector, images))
    result = {
        "machine": {"platform": platform.platform(), "torch_threads": torch.get_num_threads()},
        "size": args.size,
        "per_reference": rows,
        "point_batching": batching,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "masks.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out / 'masks.json'}")


if __name__ == "__main__":
    main()
