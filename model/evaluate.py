"""The paper's evaluation (§5, Tables 1-2) and a crop-based no-reference baseline.

Metrics, all from scipy / scikit-learn:
- quality and importance: SROCC and PLCC of predicted scores against the labels' scores
  (PLCC on the raw scores, no logistic fit);
- distortion types: sample-averaged precision / recall / F1 over 7 classes (6 types + "none"),
  and per-type F1 (Table 2);
- severity: sample-averaged P/R/F1 over 30 classes "<type>:<severity word>", on the ROIs whose
  label has a distortion (a clean ROI has no severity class).
Predictions are sets, so multi-label ground truth (SEAGULL-3k) works the same way.

Baseline: a weight-free pyiqa no-reference metric on each ROI's bounding-box crop, correlated
with the same labels. Only metrics that build offline are allowed (checked: piqe, entropy;
niqe / brisque / ilniqe fetch parameter files and are refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from scipy import stats
from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer
from tqdm import tqdm

from pipeline.levels import SEVERITY_WORDS
from pipeline.pyiqa_metrics import create_pyiqa_metric
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

TYPE_CLASSES: tuple[str, ...] = (*DISTORTION_TYPES, CLEAN)
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


def per_class_f1(
    truth: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]], classes: Sequence[str]
) -> dict[str, float]:
    """F1 (in %) of each class (the paper's Table 2 for types)."""
    y_true, y_pred = _binarize(truth, predicted, classes)
    _, _, f, _ = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    return {name: 100 * float(value) for name, value in zip(classes, f, strict=True)}


def score_metrics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """All metrics of per-ROI records.

    Args:
        records: dicts with the label fields quality, importance, distortion, severity_level and
            the predictions quality_score, importance_score, predicted_distortion,
            predicted_severity_level (model/scoring.assess_items).
    """
    result: dict[str, Any] = {"n_rois": len(records)}
    for task in ("quality", "importance"):
        predicted, truth = [r[f"{task}_score"] for r in records], [r[task] for r in records]
        result[task] = {"srocc": srocc(predicted, truth), "plcc": plcc(predicted, truth)}
    types_true = [{r["distortion"]} for r in records]
    types_pred = [{r["predicted_distortion"]} - {None} for r in records]
    result["type"] = sample_prf(types_true, types_pred, TYPE_CLASSES)
    result["type_f1"] = per_class_f1(types_true, types_pred, TYPE_CLASSES)
    distorted = [r for r in records if r["distortion"] != CLEAN]
    result["severity"] = (
        sample_prf(
            [_severity(r["distortion"], r["severity_level"]) for r in distorted],
            [_severity(r["predicted_distortion"], r["predicted_severity_level"]) for r in distorted],
            SEVERITY_CLASSES,
        )
        if distorted
        else None
    )
    return result


def _severity(distortion: str | None, word: str | None) -> set[str]:
    return {f"{distortion}:{word}"} if distortion not in (None, CLEAN) and word else set()


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
    `limit`), in item order."""
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
    return {
        task: {
            "srocc": srocc(scores, [r[task] for r in records]),
            "plcc": plcc(scores, [r[task] for r in records]),
        }
        for task in ("quality", "importance")
    }


def markdown_table(result: dict[str, Any], model_name: str = "SEAGULL") -> str:
    """Tables 1 and 2 of the paper as Markdown (scores with 4 decimals, P/R/F1 in %)."""

    def row(name: str, entry: dict[str, Any]) -> str:
        cells = [f"{entry[t][m]:.4f}" for t in ("quality", "importance") for m in ("srocc", "plcc")]
        for key in ("severity", "type"):
            prf = entry.get(key)
            cells += [f"{prf[m]:.2f}" for m in ("precision", "recall", "f1")] if prf else ["–"] * 3
        return f"| {name} | " + " | ".join(cells) + " |"

    lines = [
        "| Method | Quality SROCC | Quality PLCC | Importance SROCC | Importance PLCC | Severity P | Severity R "
        "| Severity F1 | Type P | Type R | Type F1 |",
        "|---" * 11 + "|",
        row(model_name, result),
    ]
    if result.get("baseline"):
        lines.append(row(f"{result['baseline']['name']} (crop, NR)", result["baseline"]))
    types = result["type_f1"]
    lines += [
        "",
        "| " + " | ".join(["F1 (%)", *types]) + " |",
        "|---" * (len(types) + 1) + "|",
        "| " + " | ".join([model_name, *(f"{v:.2f}" for v in types.values())]) + " |",
    ]
    lines.append(f"\n{result['n_rois']} ROIs.")
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
    keep = ("quality", "importance", "distortion", "severity_level", "quality_level", "importance_level")
    return [
        {"key": i["key"], "roi_id": i["roi_id"], **{k: i["roi"][k] for k in keep}, **p}
        for i, p in zip(items, predictions, strict=True)
    ]
