"""The paper's evaluation (§5, Tables 1-2) and a crop-based no-reference baseline.

Metrics, all from scipy / scikit-learn:
- quality and importance: SROCC and PLCC of predicted scores against the labels' scores
  (PLCC on the raw scores, no logistic fit);
- distortion types: sample-averaged precision / recall / F1 over 7 classes (6 types + "none"),
  and per-type F1 with their mean (Table 2's Average);
- severity: sample-averaged P/R/F1 over 30 classes "<type>:<severity word>", on the ROIs whose
  label has a distortion (a clean ROI has no severity class).
Truth and prediction are sets: a label's `distortions` list (several on SEAGULL-3k, at most one on
SEAGULL-100w; `distortion` when a label has no list) and every type the answer names.

Records (collect_records, predictions.jsonl) keep the two apart:
{"key", "roi_id", "ref_id", "dist_type", "level", "truth": {label fields}, "prediction": {...}}.

Baseline: a weight-free pyiqa no-reference metric on each ROI's bounding-box crop, correlated
with the same labels. Only metrics that build offline are allowed (checked: piqe, entropy;
niqe / brisque / ilniqe fetch parameter files and are refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer
from tqdm import tqdm

from model.bootstrap import paired_interval
from pipeline.levels import SEVERITY_WORDS
from pipeline.pyiqa_metrics import create_pyiqa_metric
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

TYPE_CLASSES: tuple[str, ...] = (*DISTORTION_TYPES, CLEAN)
# Table 2's columns, in the paper's order, and the input descriptions of Table 1.
TABLE2_COLUMNS: dict[str, str] = {
    "blur": "Blur",
    "colorfulness": "Colorfulness",
    "noise": "Noise",
    "compression": "Compression",
    "contrast": "Contrast",
    "exposure": "Exposure",
    CLEAN: "Clean",
}
MODEL_INPUTS = "Mask-based ROI & Full Image & Text"
CROP_INPUTS = "Crop-based ROI"
TRUTH_KEYS = ("quality", "quality_level", "importance", "importance_level", "distortion", "severity_level")
SEVERITY_CLASSES: tuple[str, ...] = tuple(f"{t}:{w}" for t in DISTORTION_TYPES for w in SEVERITY_WORDS)
# pyiqa NR metrics that build without downloading anything, and whether lower is better.
OFFLINE_NR_METRICS: dict[str, bool] = {"piqe": True, "entropy": False}
MIN_CROP = 64  # piqe works on 16x16 blocks; smaller crops are upscaled to this side


def srocc(predicted: Sequence[float], truth: Sequence[float]) -> float:
    """Spearman rank-order correlation."""
    return float(stats.spearmanr(predicted, truth).statistic)


def plcc(predicted: Sequence[float], truth: Sequence[float]) -> float:
    """Pearson linear correlation."""
    return float(stats.pearsonr(predicted, truth).statistic)


def _binarize(truth: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], classes: Sequence[str]):  # noqa: ANN202
    """Indicator matrices (N, len(classes)) of the true and predicted label sets; unknown predictions drop."""
    binarizer = MultiLabelBinarizer(classes=list(classes))
    y_true = binarizer.fit_transform([set(t) for t in truth])
    return y_true, binarizer.transform([set(p) & set(classes) for p in predicted])


def sample_prf(
    truth: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], classes: Sequence[str]
) -> dict[str, float]:
    """Sample-averaged precision, recall and F1 (in %) of label sets over `classes`."""
    y_true, y_pred = _binarize(truth, predicted, classes)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="samples", zero_division=0)
    return {"precision": 100 * float(p), "recall": 100 * float(r), "f1": 100 * float(f)}


def sample_f1s(
    truth: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], classes: Sequence[str]
) -> np.ndarray:
    """Per-ROI F1 (in %) of label sets, 2|T & P| / (|T| + |P|): the terms sample_prf's F1 averages."""
    y_true, y_pred = _binarize(truth, predicted, classes)
    overlap, sizes = (y_true & y_pred).sum(1), y_true.sum(1) + y_pred.sum(1)
    return 100 * np.divide(2 * overlap, sizes, out=np.zeros(len(sizes)), where=sizes > 0)


def per_class_f1(
    truth: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], classes: Sequence[str]
) -> dict[str, float]:
    """F1 (in %) of each class (the paper's Table 2 for types)."""
    y_true, y_pred = _binarize(truth, predicted, classes)
    _, _, f, _ = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    return {name: 100 * float(value) for name, value in zip(classes, f, strict=True)}


def truth_distortions(roi: dict[str, Any]) -> list[dict[str, str | None]]:
    """A label's distortions as [{"type", "severity_level"}]: its `distortions` list, or the
    single `distortion` of a label without one (ARCHITECTURE.md); [] for a clean ROI."""
    if roi.get("distortions") is not None:
        return [{"type": d["type"], "severity_level": d.get("severity_level")} for d in roi["distortions"]]
    if roi.get("distortion") in (None, CLEAN):
        return []
    return [{"type": roi["distortion"], "severity_level": roi.get("severity_level")}]


def type_set(distortions: list[dict[str, Any]], clean: bool) -> set[str]:
    """Type classes of a list of distortions; {"none"} when `clean` (and the list is empty)."""
    return {CLEAN} if clean and not distortions else {d["type"] for d in distortions}


def severity_set(distortions: list[dict[str, Any]]) -> set[str]:
    """Severity classes "<type>:<word>" of a list of distortions (entries without a word drop)."""
    return {f"{d['type']}:{d['severity_level']}" for d in distortions if d.get("severity_level")}


def score_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """All metrics of per-ROI records.

    Args:
        records: {"truth": {quality, importance, distortions | distortion, severity_level},
            "prediction": {quality_score, importance_score, distortions, distortion}}
            (collect_records; prediction fields from model/scoring.assess_items).
    """
    result: dict[str, Any] = {"n_rois": len(records)}
    truth, pred = [r["truth"] for r in records], [r["prediction"] for r in records]
    for task in ("quality", "importance"):
        predicted, true = [p[f"{task}_score"] for p in pred], [t[task] for t in truth]
        result[task] = {"srocc": srocc(predicted, true), "plcc": plcc(predicted, true)}
    true_lists = [truth_distortions(t) for t in truth]
    types_true = [type_set(d, clean=True) for d in true_lists]
    types_pred = [type_set(p["distortions"], clean=p["distortion"] == CLEAN) for p in pred]
    result["type"] = sample_prf(types_true, types_pred, TYPE_CLASSES)
    result["type_f1"] = per_class_f1(types_true, types_pred, TYPE_CLASSES)
    result["type_f1_average"] = sum(result["type_f1"].values()) / len(TYPE_CLASSES)
    distorted = [i for i, d in enumerate(true_lists) if d]
    result["severity"] = (
        sample_prf(
            [severity_set(true_lists[i]) for i in distorted],
            [severity_set(pred[i]["distortions"]) for i in distorted],
            SEVERITY_CLASSES,
        )
        if distorted
        else None
    )
    result["majority"] = majority_baseline(types_true)
    constant = [{result["majority"]["answer"]}] * len(types_true)
    result["majority"]["difference_ci95"] = paired_interval(  # model F1 - constant answer's F1
        lambda model, floor: float(np.mean(model - floor)),
        sample_f1s(types_true, types_pred, TYPE_CLASSES),
        sample_f1s(types_true, constant, TYPE_CLASSES),
    )
    return result


def majority_baseline(types_true: list[set[str]]) -> dict[str, Any]:
    """Type P/R/F1 of always answering the most frequent true type set (ties: the first in
    TYPE_CLASSES order), the floor a model's type identification has to beat."""
    counts = {name: sum(name in t for t in types_true) for name in TYPE_CLASSES}
    answer = max(TYPE_CLASSES, key=lambda name: counts[name])
    return {"answer": answer, "type": sample_prf(types_true, [{answer}] * len(types_true), TYPE_CLASSES)}


def roi_crop(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The ROI's bounding-box crop, float (3, h, w), sides at least MIN_CROP (upscaled if needed)."""
    rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
    crop = image[:, int(rows[0]) : int(rows[-1]) + 1, int(cols[0]) : int(cols[-1]) + 1]
    scale = max(1.0, MIN_CROP / min(crop.shape[-2:]))
    if scale > 1.0:
        size = (round(crop.shape[-2] * scale), round(crop.shape[-1] * scale))
        crop = F.interpolate(crop[None], size=size, mode="bilinear", align_corners=False)[0].clamp(0, 1)
    return crop


def create_baseline(name: str):
    """A pyiqa NR metric that builds offline (see OFFLINE_NR_METRICS), on the CPU."""
    if name not in OFFLINE_NR_METRICS:
        raise ValueError(
            f"baseline {name!r} is not known to build offline; use one of {sorted(OFFLINE_NR_METRICS)}"
        )
    return create_pyiqa_metric(name, device="cpu", as_loss=False)


@torch.no_grad()
def baseline_scores(
    metric,
    name: str,
    samples: Iterable[dict[str, Any]],
    limit: int | None = None,
    progress: bool = False,
) -> list[float]:
    """Higher-is-better scores of the baseline metric on the labelled ROIs' crops (the first
    `limit`), in item order (the order of collect_records on the same samples)."""
    sign = -1.0 if OFFLINE_NR_METRICS[name] else 1.0
    scores = []
    with tqdm(total=limit, unit="roi", desc=f"baseline {name}", disable=not progress) as bar:
        for sample in samples:
            for roi, mask in zip(sample["rois"], sample["masks"], strict=True):
                if "quality_level" in roi:
                    scores.append(sign * float(metric(roi_crop(sample["image"], mask)[None])))
                    bar.update()
                    if limit is not None and len(scores) >= limit:
                        return scores
    return scores


def baseline_metrics(records: list[dict[str, Any]], scores: list[float]) -> dict[str, Any]:
    """SROCC/PLCC of baseline scores against the records' quality and importance."""
    if len(scores) != len(records):
        raise ValueError(f"{len(scores)} baseline scores for {len(records)} ROIs")
    result: dict[str, Any] = {
        task: {
            "srocc": srocc(scores, [r["truth"][task] for r in records]),
            "plcc": plcc(scores, [r["truth"][task] for r in records]),
        }
        for task in ("quality", "importance")
    }
    result["quality_difference_ci95"] = paired_interval(  # model's quality SROCC - the baseline's
        lambda model, baseline, truth: srocc(model, truth) - srocc(baseline, truth),
        [r["prediction"]["quality_score"] for r in records],
        scores,
        [r["truth"]["quality"] for r in records],
    )
    return result


def floor_comparison(result: dict[str, Any]) -> dict[str, Any]:
    """The model against the two reference rows: its quality SROCC against the crop baseline's and
    its type F1 against the most-frequent-type answer's (a comparison is None where a row is missing).

    Returns:
        {"quality_srocc": {"model", "baseline", "above", "difference_ci95"} | None,
         "type_f1": {"model", "majority", "above", "difference_ci95"} | None}; difference_ci95 is
        the paired-bootstrap interval of model minus floor (model/bootstrap.py), None when not known.
    """
    baseline, majority = result.get("baseline"), result.get("majority")
    return {
        "quality_srocc": _versus(
            result["quality"]["srocc"],
            baseline["quality"]["srocc"] if baseline else None,
            "baseline",
            baseline.get("quality_difference_ci95") if baseline else None,
        ),
        "type_f1": _versus(
            result["type"]["f1"],
            majority["type"]["f1"] if majority else None,
            "majority",
            majority.get("difference_ci95") if majority else None,
        ),
    }


def _versus(
    model: float, other: float | None, name: str, interval: list[float] | None
) -> dict[str, Any] | None:
    """{"model", name, "above", "difference_ci95"}; None where the reference row is missing."""
    if other is None:
        return None
    return {"model": model, name: other, "above": bool(model > other), "difference_ci95": interval}


def _interval_words(interval: list[float] | None, unit: str) -> str:
    """' 95 % paired-bootstrap interval of the difference LOW to HIGH: above|below|not significant.'
    ("" without an interval); above / below only where the interval excludes 0."""
    if interval is None:
        return ""
    low, high = interval
    verdict = "above" if low > 0 else "below" if high < 0 else "not significant"
    return f" 95 % paired-bootstrap interval of the difference {low:+.{unit}} to {high:+.{unit}}: {verdict}."


def _floor_lines(result: dict[str, Any]) -> list[str]:
    floors = floor_comparison(result)
    lines = []
    if floors["quality_srocc"]:
        q = floors["quality_srocc"]
        verdict = "above" if q["above"] else "NOT above"
        lines.append(
            f"- Quality SROCC {q['model']:.4f} vs {result['baseline']['name']} on crops {q['baseline']:.4f}: {verdict}."
            + _interval_words(q["difference_ci95"], "4f")
        )
    if floors["type_f1"]:
        t = floors["type_f1"]
        verdict = "above" if t["above"] else "NOT above"
        lines.append(
            f'- Type F1 {t["model"]:.2f} % vs always "{result["majority"]["answer"]}" {t["majority"]:.2f} %: {verdict}.'
            + _interval_words(t["difference_ci95"], "2f")
        )
    return ["", *lines] if lines else []


def markdown_table(result: dict[str, Any], model_name: str = "SEAGULL") -> str:
    """Tables 1 and 2 of the paper as Markdown: scores with 4 decimals, P/R/F1 and F1 in %.

    Table 1 has the paper's columns (Models, Inputs, Quality SROCC/PLCC, Importance SROCC/PLCC,
    Severity P/R/F1, Type P/R/F1), with the crop baseline and the most-frequent-type answer as
    reference rows, then whether the model is above each (floor_comparison); Table 2 the per-type
    F1 in the paper's column order and their Average.
    """

    def cell(entry: dict[str, Any] | None, key: str, metric: str, fmt: str) -> str:
        value = (entry or {}).get(key)
        return format(value[metric], fmt) if value else "–"

    def row(name: str, inputs: str, entry: dict[str, Any]) -> str:
        cells = [cell(entry, t, m, ".4f") for t in ("quality", "importance") for m in ("srocc", "plcc")]
        cells += [
            cell(entry, k, m, ".2f") for k in ("severity", "type") for m in ("precision", "recall", "f1")
        ]
        return f"| {name} | {inputs} | " + " | ".join(cells) + " |"

    lines = [
        f"Table 1. ROI-based assessment on {result['n_rois']} ROIs (P/R/F1: sample averages, %).",
        "",
        "| Models | Inputs | Quality SROCC | Quality PLCC | Importance SROCC | Importance PLCC "
        "| Severity P (%) | Severity R (%) | Severity F1 (%) | Type P (%) | Type R (%) | Type F1 (%) |",
        "|---" * 12 + "|",
        row(model_name, MODEL_INPUTS, result),
    ]
    if result.get("baseline"):
        lines.append(row(f"{result['baseline']['name']} (pyiqa NR)", CROP_INPUTS, result["baseline"]))
    if result.get("majority"):
        lines.append(row(f'Always "{result["majority"]["answer"]}"', "–", result["majority"]))
    lines += _floor_lines(result)
    types = result["type_f1"]
    lines += [
        "",
        "Table 2. Distortion type identification, F1 (%).",
        "",
        "| Models | ROI Type | " + " | ".join([*TABLE2_COLUMNS.values(), "Average"]) + " |",
        "|---" * (len(TABLE2_COLUMNS) + 3) + "|",
        f"| {model_name} | Mask-based ROI & Full Image & Text | "
        + " | ".join(f"{types[name]:.2f}" for name in TABLE2_COLUMNS)
        + f" | {result['type_f1_average']:.2f} |",
    ]
    return "\n".join(lines) + "\n"


def collect_records(
    model,
    tokenizer,
    samples: Iterable[dict[str, Any]],
    config,
    batch_size: int = 8,
    limit: int | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Assess every labelled ROI of `samples` (up to `limit`) and join predictions to labels."""
    from model.data import stream_items
    from model.scoring import assess_items

    records: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    with tqdm(total=limit, unit="roi", desc="assess", disable=not progress) as bar:
        for item in stream_items(samples, config, stage=2, seed=0, epoch=0):
            batch.append(item)
            if len(batch) == batch_size or (limit and len(records) + len(batch) >= limit):
                records += _join(batch, assess_items(model, tokenizer, batch))
                bar.update(len(batch))
                batch = []
                if limit and len(records) >= limit:
                    return records
        if batch:
            records += _join(batch, assess_items(model, tokenizer, batch))
            bar.update(len(batch))
    return records


def _join(items: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with the label under "truth" and the model's answer under "prediction"."""
    records = []
    for item, prediction in zip(items, predictions, strict=True):
        roi = item["roi"]
        truth = {k: roi.get(k) for k in TRUTH_KEYS}
        truth["distortions"] = truth_distortions(roi)
        records.append(
            {"key": item["key"], "roi_id": item["roi_id"], "truth": truth, "prediction": prediction}
        )
    return records


def stratified_selection(rois: list[dict[str, Any]], limit: int, seed: int = 0) -> set[tuple[str, int]]:
    """(key, roi_id) of `limit` ROIs dealt evenly across images, then types, then levels
    (model/sampling.stratified_order), never the first N of the shards."""
    import random

    from model.sampling import stratified_order

    keys = (lambda r: r["ref_id"], lambda r: r["dist_type"], lambda r: r["level"])
    order = stratified_order(rois, keys, random.Random(f"evaluate/{seed}"))
    return {(r["key"], r["roi_id"]) for r in order[:limit]}
