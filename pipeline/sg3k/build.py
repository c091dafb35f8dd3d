"""The stages of a SEAGULL-3k build folder, each a plain function the flow and the CLI call.

prepare    images -> 2-3 ROIs each -> overlays + tasks.jsonl        (pipeline.sg3k.tasks)
(ratings)  Label Studio pull / export file / simulated annotators -> ratings/ratings.jsonl
aggregate  ratings -> labels.json (the paper's rules) + aggregation.json (left out, agreement)
shard      images + ROIs + labels -> <out>/seagull3k-{train,test}-*.tar, manifest, card, verify
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2

from pipeline.atomic_io import write_text_atomic
from pipeline.masks import read_rois_json
from pipeline.sg3k.aggregate import PAPER_RULES, AggregationRules, Rating, aggregate
from pipeline.sg3k.agreement import agreement
from pipeline.sg3k.card import card_section
from pipeline.sg3k.demo import DEMO_RECIPES
from pipeline.sg3k.shards import SAMPLE_FEATURES_3K, AuthenticGroup, write_split_shards
from pipeline.sg3k.simulate import SOURCE as SIMULATED
from pipeline.sg3k.simulate import AnnotatorModel, reference_answers, simulate_ratings
from pipeline.sg3k.store import progress, read_ratings
from pipeline.sg3k.tasks import read_tasks
from pipeline.taxonomy import DISTORTION_TYPES

LABELS_NAME = "labels.json"
AGGREGATION_NAME = "aggregation.json"


def simulated_ratings(build: Path, n_annotators: int = 7, seed: int = 0) -> list[Rating]:
    """SIMULATED ratings of every task of a build made from the demo set (its recipes are the truth).

    Raises:
        ValueError: a task whose image is not a demo image (simulation needs its recipe).
    """
    ratings = []
    for task in read_tasks(build):
        recipe = DEMO_RECIPES.get(task["image_id"])
        if recipe is None:
            raise ValueError(
                f"{task['image_id']} is not a demo image: simulated annotators exist only for the demo set "
                "(`seagull 3k demo`); real images need people (docs/seagull-3k.md)"
            )
        roi = next(
            r
            for r in read_rois_json(Path(build) / "rois" / f"{task['image_id']}.json").rois
            if r.roi_id == task["roi_id"]
        )
        reference = reference_answers(recipe, roi.mask(), AnnotatorModel())
        ratings += simulate_ratings(task["task_id"], reference, n_annotators, seed)
    return ratings


def aggregate_build(build: Path, rules: AggregationRules = PAPER_RULES) -> dict[str, Any]:
    """Aggregate the build's ratings: writes labels.json and aggregation.json; returns the latter.

    ROIs with fewer than `rules.min_ratings` annotators are listed under "excluded" (never aggregated);
    ratings of ROIs that are not tasks of this build are an error (a pull from the wrong project).
    """
    build = Path(build)
    tasks = {t["task_id"]: t for t in read_tasks(build)}
    ratings = read_ratings(build)
    strangers = sorted({r.task_id for r in ratings} - set(tasks))
    if strangers:
        raise ValueError(
            f"{build}: ratings of {len(strangers)} ROIs that are not tasks of this build (e.g. {strangers[:3]}); "
            "pull from the project that `seagull 3k push` made for this build"
        )
    result = aggregate(ratings, rules)
    unrated = sorted(set(tasks) - {r.task_id for r in ratings})
    excluded = result.excluded + [{"task_id": t, "n_ratings": 0, "reason": "no ratings"} for t in unrated]
    summary = {
        "rules": asdict(rules),
        "n_tasks": len(tasks),
        "n_ratings": len(ratings),
        "n_labelled": len(result.labels),
        "replaced_ratings": result.replaced,
        "excluded": sorted(excluded, key=lambda e: e["task_id"]),
        "sources": sorted({r.source for r in ratings}),
        "annotators": len({r.annotator for r in ratings}),
        "progress": progress(tasks, ratings, rules.min_ratings),
        "agreement": agreement(ratings, result.labels),
        # multi-label: ROIs carrying each type (an ROI may count under several)
        "type_counts": {
            t: sum(any(e["type"] == t for e in lab["distortions"]) for lab in result.labels.values())
            for t in DISTORTION_TYPES
        },
        "clean_rois": sum(not lab["distortions"] for lab in result.labels.values()),
    }
    write_text_atomic(build / LABELS_NAME, json.dumps(result.labels, indent=1, sort_keys=True) + "\n")
    write_text_atomic(build / AGGREGATION_NAME, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return summary


def shard_build(build: Path, out: Path) -> Path:
    """Write the labelled ROIs as shards into `out`, merge the manifest, write the card; returns it."""
    from pipeline import shards

    build, out = Path(build), Path(out)
    labels = json.loads((build / LABELS_NAME).read_text())
    summary = json.loads((build / AGGREGATION_NAME).read_text())
    tasks = read_tasks(build)
    simulated = SIMULATED in summary["sources"]
    annotators = "simulated" if simulated else "human"
    groups = []
    for image_id in sorted({t["image_id"] for t in tasks}):
        mine = [t for t in tasks if t["image_id"] == image_id and t["task_id"] in labels]
        if not mine:
            continue
        roi_file = read_rois_json(build / "rois" / f"{image_id}.json")
        keep = {t["roi_id"]: {**labels[t["task_id"]], "metric": f"{annotators}-annotators"} for t in mine}
        image = cv2.imread(str(build / "images" / f"{image_id}.png"), cv2.IMREAD_COLOR_RGB)
        provenance = {
            "dataset": "SEAGULL-3k",
            "annotators": annotators,
            "rating_sources": summary["sources"],
            "aggregation_rules": summary["rules"],
            "segmenter": roi_file.segmenter,
            "detector": roi_file.detector,
            "source_file": mine[0]["source"],
        }
        rois = [r for r in roi_file.rois if r.roi_id in keep]
        groups.append(AuthenticGroup(image_id, image, rois, keep, mine[0]["split"], provenance))
    if not groups:
        raise ValueError(f"{build}: no ROI has enough ratings to be labelled ({AGGREGATION_NAME} lists them)")
    write_split_shards(out, groups)
    title = "SEAGULL-3k (SIMULATED annotators: demo only)" if simulated else "SEAGULL-3k"
    card = shards.finalize(out, title=title, features=SAMPLE_FEATURES_3K)
    with open(card, "a") as handle:
        handle.write("\n" + card_section(summary, simulated))
    return card


def import_ratings_file(build: Path, path: Path) -> dict[str, Any]:
    """Store the ratings of a Label Studio JSON export (kept under ratings/raw/) or of a ratings.jsonl
    in the build, replacing its ratings; returns {"ratings", "problems"} counts."""
    from pipeline.sg3k.labelstudio import ratings_from_export
    from pipeline.sg3k.store import save_raw_export, write_ratings

    path = Path(path)
    if path.suffix == ".jsonl":
        ratings, problems = read_ratings(path), []
    else:
        try:
            export = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path}: not JSON ({error}); export the project as 'JSON' in Label Studio"
            ) from error
        if not isinstance(export, list):
            raise ValueError(f"{path}: a Label Studio 'JSON' export is a list of tasks; this is not one")
        save_raw_export(build, export, name=path.name)
        ratings, problems = ratings_from_export(export, source=f"export:{path.name}")
    write_ratings(build, ratings, problems)
    return {"ratings": len(ratings), "problems": len(problems)}
