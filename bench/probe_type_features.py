"""Which input features carry a distortion type that transfers to an unseen image? Linear probes.

A diagnostic for the tiny config (docs/model.md, "What make train reaches"), not a benchmark: it
needs built shards (`make shards`), so `make bench` does not run it. One reference image (the
validation image, `coffee` by default, a train-split reference) is held out; logistic regressions
on fixed features of the other train-split images' ROIs predict the ROI's label type (the six
types and "none") and are scored on the held-out image's ROIs (drawn as `evaluate --limit` draws):

- crop statistics: the ROI crop's colour mean and std, saturation, mean |Laplacian| at the crop's
  scale and at half of it (what a small CNN on the local view could compute);
- the tiny config's random ConvNeXt: each level's channel means and stds over the 128-px overview
  (what the overview's image tokens carry).

Writes OUT/probe_type_features.json. Usage:
    python bench/probe_type_features.py --shards 'shards/seagull100w-*.tar' --out bench/results
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from model.config import create_config
from model.data import labelled_rois, open_shards, open_training_samples, sample_items, shuffled_items
from model.encoder import FrozenEncoder
from model.evaluate import stratified_selection

LAPLACIAN = (
    torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3).repeat(3, 1, 1, 1)
)


def crop_statistics(crops: torch.Tensor) -> np.ndarray:
    """(N, 3, L, L) crops in 0..1 -> (N, 14): colour mean, std, saturation, |Laplacian| at 1 and 1/2 scale."""
    saturation = (crops.max(1).values - crops.min(1).values).mean((1, 2))[:, None]
    detail = [F.conv2d(x, LAPLACIAN, groups=3).abs().mean((2, 3)) for x in (crops, F.avg_pool2d(crops, 2))]
    return torch.cat([crops.mean((2, 3)), crops.std((2, 3)), saturation, *detail], 1).numpy()


@torch.no_grad()
def encoder_statistics(encoder: FrozenEncoder, images: torch.Tensor) -> np.ndarray:
    """(N, 3, S, S) overviews -> each encoder level's channel means and stds, concatenated."""
    levels = encoder(images)
    return torch.cat([torch.cat([f.mean((2, 3)), f.std((2, 3))], 1) for f in levels], 1).numpy()


def probe(train_x: np.ndarray, train_y: list[str], val_x: np.ndarray, val_y: list[str]) -> dict:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(train_x, train_y)
    return {
        "train_accuracy": round(float(model.score(train_x, train_y)), 3),
        "val_accuracy": round(float(model.score(val_x, val_y)), 3),
        "val_answers": sorted(set(map(str, model.predict(val_x)))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", required=True, help="shard glob of a labelled build")
    parser.add_argument("--val-ref", default="coffee", help="train-split reference held out and probed on")
    parser.add_argument(
        "--items", type=int, default=2400, help="training ROIs (the first of make train's order)"
    )
    parser.add_argument("--val-rois", type=int, default=360, help="ROIs of the held-out image, stratified")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    torch.manual_seed(0)
    config = create_config("tiny")
    training = [s for s in open_training_samples(args.shards, config, 0, 0) if s["ref_id"] != args.val_ref]
    train_items = list(itertools.islice(shuffled_items(training, config, 1, 0, 0), args.items))
    ref_of = {s["key"]: s["ref_id"] for s in training}
    rois = [r for r in labelled_rois(args.shards, config, "train") if r["ref_id"] == args.val_ref]
    if not rois:
        raise SystemExit(f"no labelled train-split ROIs of {args.val_ref!r} in {args.shards}: pick --val-ref")
    select = stratified_selection(rois, args.val_rois)
    val_items = [
        i for s in open_shards(args.shards, config, "train", select) for i in sample_items(s, config, 1, 0, 0)
    ]
    label = lambda items: [i["roi"].get("distortion") for i in items]  # noqa: E731
    train_y, val_y = label(train_items), label(val_items)
    stack = lambda items, name: torch.stack([i[name] for i in items])  # noqa: E731
    encoder = FrozenEncoder(config.encoder)
    result = {
        "shards": args.shards,
        "val_ref": args.val_ref,
        "train_rois": len(train_items),
        "train_refs": sorted({ref_of[i["key"]] for i in train_items}),
        "val_rois": len(val_items),
        "val_majority_share": round(max(val_y.count(c) for c in set(val_y)) / len(val_y), 3),
        "probes": {
            "crop_statistics": probe(
                crop_statistics(stack(train_items, "crop")),
                train_y,
                crop_statistics(stack(val_items, "crop")),
                val_y,
            ),
            "tiny_encoder_overview": probe(
                encoder_statistics(encoder, stack(train_items, "image")),
                train_y,
                encoder_statistics(encoder, stack(val_items, "image")),
                val_y,
            ),
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "probe_type_features.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
