"""Evaluation metrics against independent computations, and the crop baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from skimage import data as skdata
from sklearn.metrics import f1_score

from model.evaluate import (
    SEVERITY_CLASSES,
    TYPE_CLASSES,
    baseline_metrics,
    baseline_scores,
    create_baseline,
    floor_comparison,
    markdown_table,
    per_class_f1,
    plcc,
    roi_crop,
    sample_f1s,
    sample_prf,
    score_metrics,
    srocc,
)
from pipeline.taxonomy import CLEAN


def test_correlations_equal_scipy_and_numpy():
    rng = np.random.default_rng(0)
    truth = rng.random(200)
    predicted = truth + rng.normal(0, 0.3, 200)
    ranks = np.corrcoef(stats.rankdata(predicted), stats.rankdata(truth))[0, 1]
    assert srocc(predicted, truth) == pytest.approx(ranks)
    assert plcc(predicted, truth) == pytest.approx(np.corrcoef(predicted, truth)[0, 1])
    assert srocc(truth, truth) == pytest.approx(1.0)


def _explicit_sample_prf(truth, predicted):
    """Sample-averaged P/R/F1 written out per sample (0 where undefined)."""
    p, r, f = [], [], []
    for t, q in zip(truth, predicted, strict=True):
        hit = len(t & q)
        p.append(hit / len(q) if q else 0.0)
        r.append(hit / len(t) if t else 0.0)
        f.append(2 * hit / (len(t) + len(q)) if t or q else 0.0)
    return {"precision": 100 * np.mean(p), "recall": 100 * np.mean(r), "f1": 100 * np.mean(f)}


@pytest.mark.parametrize("classes", [TYPE_CLASSES, SEVERITY_CLASSES])
def test_sample_prf_equals_explicit_computation(classes):
    rng = np.random.default_rng(1)
    truth = [set(rng.choice(classes, size=rng.integers(1, 3), replace=False)) for _ in range(300)]
    predicted = [set(rng.choice(classes, size=rng.integers(0, 3), replace=False)) for _ in range(300)]
    assert sample_prf(truth, predicted, classes) == pytest.approx(_explicit_sample_prf(truth, predicted))


def test_per_class_f1_equals_sklearn_on_single_labels():
    rng = np.random.default_rng(2)
    truth = rng.choice(TYPE_CLASSES, 400)
    predicted = np.where(rng.random(400) < 0.6, truth, rng.choice(TYPE_CLASSES, 400))
    expected = f1_score(truth, predicted, labels=list(TYPE_CLASSES), average=None)
    result = per_class_f1([{t} for t in truth], [{p} for p in predicted], TYPE_CLASSES)
    assert list(result.values()) == pytest.approx(list(100 * expected))


def _record(quality, distortion, severity, predicted_distortion, predicted_severity, score):
    """A single-label record as collect_records writes it (truth without a `distortions` list)."""
    predicted = (
        []
        if predicted_distortion in (None, CLEAN)
        else [{"type": predicted_distortion, "severity_level": predicted_severity}]
    )
    return {
        "truth": {
            "quality": quality,
            "importance": 1 - quality,
            "distortion": distortion,
            "severity_level": severity,
        },
        "prediction": {
            "quality_score": score,
            "importance_score": -score,
            "distortions": predicted,
            "distortion": predicted_distortion,
            "severity_level": predicted_severity,
        },
    }


def test_score_metrics_on_known_predictions():
    records = [
        _record(0.9, CLEAN, "trivial", CLEAN, None, 4.8),
        _record(0.5, "blur", "moderate", "blur", "moderate", 3.1),
        _record(0.2, "noise", "severe", "blur", "severe", 1.2),
        _record(0.4, "noise", "minor", None, None, 2.0),  # an answer that names no type
    ]
    result = score_metrics(records)
    assert result["quality"]["srocc"] == pytest.approx(1.0)
    assert result["importance"]["srocc"] == pytest.approx(1.0)
    assert result["type"] == pytest.approx({"precision": 50.0, "recall": 50.0, "f1": 50.0})
    assert result["severity"]["f1"] == pytest.approx(100 / 3)  # 1 of the 3 distorted ROIs exact
    assert result["type_f1"]["blur"] == pytest.approx(100 * 2 / 3)
    # Table 2's Average: the mean of the 7 classes' F1 (none 100, blur 66.7, the 5 others 0).
    assert result["type_f1_average"] == pytest.approx((100 + 200 / 3) / 7)
    # The constant answer "noise" (2 of 4 ROIs): P = R = F1 = 50 %.
    assert result["majority"]["answer"] == "noise"
    assert result["majority"]["type"]["f1"] == pytest.approx(50.0)
    table = markdown_table(result)
    assert "| SEAGULL | Mask-based ROI & Full Image & Text | 1.0000 |" in table
    assert (
        "| Models | ROI Type | Blur | Colorfulness | Noise | Compression | Contrast | Exposure | Clean | Average |"
        in table
    )
    assert table.splitlines()[-1].endswith(f"| {(100 + 200 / 3) / 7:.2f} |")
    # The model's type F1 (50 %) equals the constant answer's: not above it (the floor must be beaten).
    assert '- Type F1 50.00 % vs always "noise" 50.00 %: NOT above.' in table


def test_floor_comparison_against_the_crop_baseline_and_the_constant_answer():
    """eval.md and eval.json say whether the model beats both reference rows of Table 1."""
    records = [
        _record(0.9, CLEAN, "trivial", CLEAN, None, 4.8),
        _record(0.5, "blur", "moderate", "blur", "moderate", 3.1),
        _record(0.2, "noise", "severe", "noise", "severe", 1.2),
        _record(0.4, CLEAN, "trivial", CLEAN, None, 2.0),
    ]
    result = score_metrics(records)
    result["baseline"] = {"name": "piqe", **baseline_metrics(records, [0.1, 0.3, 0.2, 0.4])}
    floors = floor_comparison(result)
    assert floors["quality_srocc"] == {
        "model": pytest.approx(1.0),
        "baseline": pytest.approx(-0.4),
        "above": True,
        "difference_ci95": result["baseline"]["quality_difference_ci95"],
    }
    # Every answer right: F1 100 % against always "none" (2 of 4): 50 %.
    assert floors["type_f1"] == {
        "model": pytest.approx(100.0),
        "majority": pytest.approx(50.0),
        "above": True,
        "difference_ci95": result["majority"]["difference_ci95"],
    }
    # Per ROI the model is 0 or 100 points above the constant answer: 4 ROIs cannot show which.
    low, high = floors["type_f1"]["difference_ci95"]
    assert 0 <= low < 50 < high <= 100
    assert floors["quality_srocc"]["difference_ci95"] is None  # some resamples of 4 ROIs are constant
    table = markdown_table(result)
    assert "- Quality SROCC 1.0000 vs piqe on crops -0.4000: above." in table
    assert '- Type F1 100.00 % vs always "none" 50.00 %: above.' in table
    assert f"interval of the difference {low:+.2f} to {high:+.2f}: not significant." in table
    del result["baseline"]
    assert floor_comparison(result)["quality_srocc"] is None  # --baseline none: no comparison


def test_multi_label_metrics_against_hand_computed_values():
    """Truth and prediction as sets: a 3k-style ROI with two distortions, one with one, one clean."""
    truth = [
        [{"type": "blur", "severity_level": "severe"}, {"type": "noise", "severity_level": "minor"}],
        [{"type": "exposure", "severity_level": "moderate"}],
        [],
    ]
    predicted = [
        [{"type": "blur", "severity_level": "severe"}, {"type": "contrast", "severity_level": "minor"}],
        [{"type": "exposure", "severity_level": "moderate"}, {"type": "noise", "severity_level": "moderate"}],
        [],
    ]
    records = [
        {
            "truth": {"quality": q, "importance": q, "distortions": t},
            "prediction": {"quality_score": q, "importance_score": q, "distortions": p, "distortion": None},
        }
        for q, t, p in zip((0.1, 0.5, 0.9), truth, predicted, strict=True)
    ]
    records[2]["prediction"]["distortion"] = CLEAN  # "This region is without distortion."
    result = score_metrics(records)
    # Types. ROI 1: {blur, noise} vs {blur, contrast}: P 1/2, R 1/2, F1 1/2.
    # ROI 2: {exposure} vs {exposure, noise}: P 1/2, R 1, F1 2/3. ROI 3: {none} vs {none}: 1, 1, 1.
    assert result["type"]["precision"] == pytest.approx(100 * (1 / 2 + 1 / 2 + 1) / 3)
    assert result["type"]["recall"] == pytest.approx(100 * (1 / 2 + 1 + 1) / 3)
    assert result["type"]["f1"] == pytest.approx(100 * (1 / 2 + 2 / 3 + 1) / 3)
    assert result["type"]["precision"] != result["type"]["recall"]
    # Per class: blur TP 1 -> 100; noise FN 1, FP 1 -> 0; exposure TP 1 -> 100; contrast FP -> 0; none 100.
    assert result["type_f1"] == pytest.approx(
        {
            "exposure": 100,
            "noise": 0,
            "blur": 100,
            "contrast": 0,
            "colorfulness": 0,
            "compression": 0,
            "none": 100,
        }
    )
    assert result["type_f1_average"] == pytest.approx(300 / 7)
    # Severity over the 2 distorted ROIs: ROI 1 {blur:severe, noise:minor} vs {blur:severe, contrast:minor}
    # -> P 1/2 R 1/2; ROI 2 {exposure:moderate} vs {exposure:moderate, noise:moderate} -> P 1/2, R 1.
    assert result["severity"]["precision"] == pytest.approx(50.0)
    assert result["severity"]["recall"] == pytest.approx(75.0)
    assert result["severity"]["f1"] == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)


def test_single_label_truth_is_the_one_element_case():
    """A 100w label without `distortions` scores as the one-element list of its `distortion`."""
    from model.evaluate import truth_distortions

    single = {"distortion": "blur", "severity_level": "minor"}
    listed = {**single, "distortions": [{"type": "blur", "severity": 0.7, "severity_level": "minor"}]}
    assert (
        truth_distortions(single)
        == truth_distortions(listed)
        == [{"type": "blur", "severity_level": "minor"}]
    )
    assert truth_distortions({"distortion": CLEAN, "severity_level": None}) == []
    assert truth_distortions({"distortion": CLEAN, "distortions": []}) == []


def test_piqe_baseline_ranks_noise_below_clean(samples):
    """The weight-free NR baseline scores the clean photo's ROI above its noisy version."""
    metric = create_baseline("piqe")
    photo = (
        torch.from_numpy(skdata.astronaut()[::2, ::2].copy()).permute(2, 0, 1).float() / 255
    )  # (3, 256, 256)
    masks = torch.zeros(1, 256, 256, dtype=torch.bool)
    masks[0, 20:200, 30:220] = True
    clean = dict(samples[0], image=photo, rois=samples[0]["rois"][:1], masks=masks)
    torch.manual_seed(0)
    noisy = dict(clean, image=(photo + 0.1 * torch.randn_like(photo)).clamp(0, 1))
    scores = baseline_scores(metric, "piqe", [clean, noisy])
    assert len(scores) == 2 and scores[0] > scores[1]
    records = [
        _record(0.8, CLEAN, "trivial", CLEAN, None, 4.0),
        _record(0.1, "noise", "severe", "noise", "severe", 1.0),
    ]
    assert baseline_metrics(records, scores)["quality"]["plcc"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="offline"):
        create_baseline("niqe")


def test_roi_crop_is_the_bounding_box_at_least_min_side():
    image = torch.rand(3, 100, 120)
    mask = torch.zeros(100, 120, dtype=torch.bool)
    mask[10:90, 20:110] = True
    assert tuple(roi_crop(image, mask).shape) == (3, 80, 90)
    torch.testing.assert_close(roi_crop(image, mask), image[:, 10:90, 20:110])
    small = torch.zeros(100, 120, dtype=torch.bool)
    small[5:21, 5:37] = True
    assert min(roi_crop(image, small).shape[-2:]) == 64


def test_sample_f1s_are_the_terms_of_the_sample_average():
    truth = [{"blur", "noise"}, {"none"}, {"blur"}, {"contrast"}]
    predicted = [{"blur"}, {"none"}, set(), {"blur", "contrast"}]
    # 2*1/(2+1), 2*1/2, 0 (nothing answered), 2*1/(1+2)
    assert sample_f1s(truth, predicted, TYPE_CLASSES) == pytest.approx([200 / 3, 100, 0, 200 / 3])
    assert np.mean(sample_f1s(truth, predicted, TYPE_CLASSES)) == pytest.approx(
        sample_prf(truth, predicted, TYPE_CLASSES)["f1"]
    )


def test_floor_intervals_separate_a_real_margin_from_noise():
    """A model right on 30 of 40 ROIs is above the constant answer (right on 10) at 95 %; one right
    on 11, others than the constant answer's, is above it but not significantly."""
    types = ["none", "blur", "noise", "contrast"] * 10
    truth_quality = np.linspace(0, 1, 40)
    better = [
        _record(q, t, None if t == CLEAN else "moderate", t if i < 30 else "exposure", "moderate", q)
        for i, (q, t) in enumerate(zip(truth_quality, types, strict=True))
    ]
    result = score_metrics(better)
    low, _ = result["majority"]["difference_ci95"]
    assert result["majority"]["answer"] in ("none", "blur", "noise", "contrast") and low > 0
    assert "%: above. 95 % paired-bootstrap interval of the difference" in markdown_table(result)
    barely = [
        _record(q, t, None, t if (t == "none" or i == 1) else "exposure", "moderate", q)
        for i, (q, t) in enumerate(zip(truth_quality, types, strict=True))
    ]
    result = score_metrics(barely)
    low, high = result["majority"]["difference_ci95"]
    assert result["type"]["f1"] > result["majority"]["type"]["f1"] and low <= 0 < high
    assert ": above. 95 % paired-bootstrap interval" in markdown_table(result)
    assert markdown_table(result).count("not significant") == 1
    # The quality floor: the model's scores follow the truth, the baseline's are noise.
    noise = list(np.random.default_rng(0).random(40))
    result["baseline"] = {"name": "piqe", **baseline_metrics(barely, noise)}
    low, high = result["baseline"]["quality_difference_ci95"]
    assert 0 < low < high <= 2
