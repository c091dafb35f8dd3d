"""Leave-one-reference-out validation of a tiny-config candidate: how tiny.yaml's settings were chosen.

A diagnostic (docs/model.md, "What make train reaches"), not a benchmark: it needs built shards
(`make shards`) and minutes of training, so `make bench` does not run it. One train-split reference
(`--val-ref`) is left out; the candidate (tiny.yaml with `--set` overrides) trains on the other
train-split references, shuffled as `make train` shuffles; then 360 ROIs drawn as `evaluate --limit`
draws (stratified by type and level) are scored twice:

- "val": ROIs of the held-out reference (transfer to an unseen scene);
- "fit": ROIs of the training references (does the model fit what it trained on?).

Each row gives quality / importance SROCC, type F1 and the always-majority type's F1 (the floor),
and how often each type was answered. The test split is never read. Appends one JSON line to
OUT/validate_tiny.jsonl. Usage:
    python bench/validate_tiny.py --shards 'shards/seagull100w-*.tar' --val-ref coffee --steps 600 \\
        --set mfe.local_grid=2 --set 'mfe.local_channels=[16, 16]'
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from pathlib import Path

import yaml

from model.config import CONFIG_DIR, ModelConfig, parse_config
from model.data import labelled_rois, open_shards, open_training_samples
from model.evaluate import collect_records, score_metrics, stratified_selection
from model.train import RunOptions, load_trained, train


def candidate_config(overrides: list[str], steps: int) -> ModelConfig:
    """tiny.yaml with dotted `key=value` overrides (values parsed as YAML) and `steps` optimizer
    steps (epochs raised to cover them); the run's run.json records the result."""
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    for override in overrides:
        key, _, value = override.partition("=")
        *parents, last = key.split(".")
        node = raw
        for parent in parents:
            node = node.setdefault(parent, {})
        node[last] = yaml.safe_load(value)  # an unknown key is refused by name when the config loads
    stage1 = raw["train"]["stage1"]
    stage1["max_steps"] = steps
    stage1["epochs"] = steps  # every epoch has at least one step: max_steps decides the length
    return parse_config(raw, f"tiny.yaml with --set {overrides}")


def score(model, tokenizer, shards: str, config: ModelConfig, rois: list[dict], count: int) -> dict:
    """Metrics and answer counts of `count` ROIs drawn from `rois` as `evaluate --limit` draws."""
    records = collect_records(
        model, tokenizer, open_shards(shards, config, "train", stratified_selection(rois, count)), config
    )
    metrics = score_metrics(records)
    return {
        "quality_srocc": round(metrics["quality"]["srocc"], 3),
        "importance_srocc": round(metrics["importance"]["srocc"], 3),
        "type_f1": round(metrics["type"]["f1"], 1),
        "majority_type_f1": round(metrics["majority"]["type"]["f1"], 1),
        "answers": dict(Counter(str(r["prediction"].get("distortion")) for r in records).most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", required=True, help="shard glob of a labelled build")
    parser.add_argument("--val-ref", required=True, help="train-split reference held out (e.g. coffee)")
    parser.add_argument("--steps", type=int, required=True, help="optimizer steps of stage 1")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="tiny.yaml override")
    parser.add_argument("--rois", type=int, default=360, help="ROIs scored for fit and for val")
    parser.add_argument("--out", type=Path, default=Path("bench/results/validate_tiny"))
    args = parser.parse_args()
    # Named by what it trains on and with, so a killed run resumes when the same command runs again
    # and a run on other shards never does.
    digest = hashlib.sha256(json.dumps([args.shards, args.set]).encode()).hexdigest()[:8]
    run = args.out / f"{args.val_ref}-{args.steps}-{digest}"
    run.mkdir(parents=True, exist_ok=True)
    config = candidate_config(args.set, args.steps)
    rois = labelled_rois(args.shards, config, "train")
    if not any(r["ref_id"] == args.val_ref for r in rois):
        raise SystemExit(f"{args.val_ref!r} is not a train-split reference of {args.shards}")

    def samples(epoch: int):
        return (
            s for s in open_training_samples(args.shards, config, 0, epoch) if s["ref_id"] != args.val_ref
        )

    started = time.perf_counter()
    train(config, samples, run, RunOptions(stage=1, max_steps=args.steps, progress=False))
    train_s = time.perf_counter() - started
    model, tokenizer = load_trained(run)
    row = {
        "val_ref": args.val_ref,
        "steps": args.steps,
        "set": args.set,
        "train_s": round(train_s),
        "val": score(
            model, tokenizer, args.shards, config, [r for r in rois if r["ref_id"] == args.val_ref], args.rois
        ),
        "fit": score(
            model, tokenizer, args.shards, config, [r for r in rois if r["ref_id"] != args.val_ref], args.rois
        ),
    }
    print(json.dumps(row))
    with open(args.out / "validate_tiny.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
