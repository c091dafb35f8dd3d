"""The labels stage: quality, importance, distortion and severity rules, metrics and caching."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipeline.labels import (
    DEFAULT_METRIC,
    RANDOM_WEIGHTS,
    LabelConfig,
    ROILabel,
    create_metric,
    label_reference,
    list_metrics,
    score_reference,
)
from pipeline.labels.crops import block_factor, block_mean, mask_box, paste, paste_small, quality_crops
from pipeline.labels.labelling import distortion_label, importance_from_drop, make_label
from pipeline.labels.metrics import load_settings, register_builder
from pipeline.levels import LEVEL_WORDS
from pipeline.records import Variant
from pipeline.taxonomy import CLEAN

# Weight-free metrics that accept the test photo (96 x 144) whole: MS-SSIM needs >= 176 px.
WEIGHT_FREE = [
    name
    for name in list_metrics()
    if load_settings()[name].builder == "pyiqa" and load_settings()[name].min_size <= 96
]
CONTRACT_FIELDS = [
    "dist_type", "level", "roi_id", "quality", "quality_level", "importance", "importance_level",
    "distortion", "severity", "severity_level", "metric", "distortions", "quality_raw", "importance_drop",
]  # fmt: skip


@pytest.fixture(scope="module")
def topiq_random():
    metric = create_metric("topiq_fr", weights=RANDOM_WEIGHTS)
    metric.settings = dataclasses.replace(metric.settings, min_size=32, whole_max_side=64)  # small: fast
    return metric


@pytest.mark.parametrize("name", WEIGHT_FREE)
def test_identical_images_have_maximum_quality_and_no_importance(name, photo, photo_rois):
    metric = create_metric(name)
    labels = label_reference(photo, photo_rois, [Variant("blur", 1, photo.copy())], metric)
    assert [label.quality for label in labels] == pytest.approx([1.0] * len(photo_rois), abs=1e-5)
    assert all(label.importance == 0.0 and label.distortion == CLEAN for label in labels)
    assert all(label.metric == name for label in labels)


@pytest.mark.parametrize("name", WEIGHT_FREE)
def test_quality_falls_with_noise_for_every_metric(name, photo, photo_rois, photo_variants):
    scores = score_reference(photo, photo_rois[:2], photo_variants, create_metric(name))
    mean_by_level = scores.quality.mean(axis=1)
    assert np.all(np.diff(mean_by_level) < 0), mean_by_level
    assert np.all(scores.quality < 1.0)


def test_large_roi_is_more_important_than_small_under_the_same_distortion(photo, photo_rois, make_noisy):
    variant = Variant("noise", 20, make_noisy(photo, 8.0))  # mild: no ROI saturates the mapping
    labels = label_reference(photo, photo_rois, [variant], create_metric(DEFAULT_METRIC))
    large, medium, small = (label.importance for label in labels)
    assert large > medium > small >= 0.0


def test_without_distortion_rule_at_the_threshold():
    settings = load_settings()[DEFAULT_METRIC]
    threshold = settings.clean_threshold
    assert threshold == 0.92
    assert distortion_label(threshold, "blur", threshold) == "blur"  # "above" 0.92, as in the paper
    assert distortion_label(np.nextafter(threshold, 1.0), "blur", threshold) == CLEAN
    variant = Variant("blur", 3, np.zeros((1, 1, 3), np.uint8))
    at = make_label(variant, 0, threshold, 0.0, settings)
    above = make_label(variant, 0, threshold + 1e-5, 0.0, settings)
    assert (at.distortion, above.distortion) == ("blur", CLEAN)
    assert at.severity == 1.0 and at.severity_level == "trivial"
    assert make_label(variant, 0, 0.1 * threshold, 0.0, settings).severity_level == "extreme"


def test_severity_and_distortions_only_where_a_distortion_is_present():
    settings = load_settings()[DEFAULT_METRIC]
    variant = Variant("noise", 7, np.zeros((1, 1, 3), np.uint8))
    clean = make_label(variant, 0, 0.97, 0.0, settings).to_json()
    assert (clean["distortion"], clean["severity"], clean["severity_level"], clean["distortions"]) == (
        CLEAN, None, None, [],
    )  # fmt: skip
    damaged = make_label(variant, 0, 0.3, 0.0, settings).to_json()
    assert damaged["distortions"] == [
        {"type": "noise", "severity": damaged["severity"], "severity_level": damaged["severity_level"]}
    ]
    assert damaged["severity"] == pytest.approx(0.3 / settings.clean_threshold, abs=1e-6)


def test_importance_is_the_drop_over_the_without_distortion_margin():
    # No fitted constants: importance 1 when the paste alone drops the whole image by 1 - 0.92.
    assert importance_from_drop(-0.1, 0.92) == 0.0  # a better pasted image is no drop
    assert importance_from_drop(0.04, 0.92) == pytest.approx(0.5)
    assert importance_from_drop(0.08, 0.92) == pytest.approx(1.0)
    assert importance_from_drop(0.4, 0.92) == 1.0


def test_labels_follow_the_contract_and_eq1(photo, photo_rois, photo_variants):
    labels = label_reference(photo, photo_rois, photo_variants, create_metric(DEFAULT_METRIC))
    assert len(labels) == len(photo_variants) * len(photo_rois)
    assert [(label.level, label.roi_id) for label in labels[:4]] == [(1, 0), (1, 1), (1, 2), (10, 0)]
    for label in labels:
        record = label.to_json()
        assert list(record) == CONTRACT_FIELDS
        assert ROILabel.from_json(record) == label
        assert record["quality_raw"] is not None and record["importance_drop"] is not None
        tasks = (
            ("quality", "importance")
            if record["distortion"] == CLEAN
            else ("quality", "importance", "severity")
        )
        for task in tasks:
            score = record[task]
            assert 0.0 <= score <= 1.0
            assert record[f"{task}_level"] == LEVEL_WORDS[task][min(4, max(0, int(np.ceil(score * 5)) - 1))]


def test_quality_crop_fills_outside_the_mask_and_pads_to_the_minimum(photo, photo_rois):
    mask = photo_rois[2].mask()
    box = mask_box(mask)
    crops = quality_crops(np.stack([photo, photo]), mask, box, fill=0, min_size=32, max_side=None)
    y0, y1, x0, x1 = box
    assert crops.shape == (2, 32, 32, 3) and (y1 - y0, x1 - x0) == (11, 13)
    inside = mask[y0:y1, x0:x1]
    assert np.array_equal(crops[0, : y1 - y0, : x1 - x0][inside], photo[y0:y1, x0:x1][inside])
    assert not crops[0, : y1 - y0, : x1 - x0][~inside].any() and not crops[0, y1 - y0 :].any()


def test_small_paste_equals_paste_then_downsample(photo, photo_rois, make_noisy):
    images = np.stack([make_noisy(photo, 30.0, seed) for seed in range(3)])
    factor = block_factor(photo.shape, 40)
    small_ref, small_images = block_mean(photo, factor), np.stack([block_mean(i, factor) for i in images])
    for roi in photo_rois:
        mask = roi.mask()
        fast = paste_small(small_ref, small_images, photo, images, mask, factor)
        slow = np.stack([block_mean(paste(photo, image, mask, mask_box(mask)), factor) for image in images])
        np.testing.assert_allclose(fast, slow, atol=1e-4)
        assert np.abs(fast - small_ref).max() > 1.0


def test_random_topiq_cached_and_batched_equals_naive(
    photo, photo_rois, photo_variants, topiq_random, stand_ins
):
    rois, variants = photo_rois[1:], photo_variants[::2]  # two crop sizes, two variants: enough, and fast
    cached = score_reference(photo, rois, variants, topiq_random)
    naive = score_reference(photo, rois, variants, stand_ins.NaiveMetric(topiq_random))
    np.testing.assert_allclose(cached.quality, naive.quality, atol=1e-5, rtol=0)
    np.testing.assert_allclose(cached.pasted, naive.pasted, atol=1e-5, rtol=0)
    assert cached.identical == pytest.approx(naive.identical, abs=1e-5)


def test_random_topiq_is_never_a_label_source(photo, photo_rois, photo_variants, topiq_random):
    with pytest.raises(ValueError, match="not a label source"):
        label_reference(photo, photo_rois, photo_variants, topiq_random)
    labels = label_reference(
        photo, photo_rois[:1], photo_variants[:1], topiq_random, LabelConfig(allow_untrained_metric=True)
    )
    assert labels[0].metric == "topiq_fr"


def test_topiq_without_weights_names_the_file_and_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="cfanet_fr_kadid_res50-2c4cc61d.pth.*huggingface"):
        create_metric("topiq_fr")
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "missing.pth")):
        create_metric("topiq_fr", weights=tmp_path / "missing.pth")


def test_registry_errors():
    assert DEFAULT_METRIC in list_metrics() and "topiq_fr" in list_metrics()
    with pytest.raises(KeyError, match="unknown label metric"):
        create_metric("no_such_metric")
    with pytest.raises(ValueError, match="already registered"):
        register_builder("pyiqa")(lambda *args: None)
    with pytest.raises(ValueError, match="weight-free"):
        create_metric(DEFAULT_METRIC, weights="some.pth")


def test_mismatched_shapes_are_rejected(photo, photo_rois, make_roi):
    with pytest.raises(ValueError, match="same working resolution"):
        score_reference(photo, photo_rois, [Variant("blur", 1, photo[:-2])], create_metric(DEFAULT_METRIC))
    small_roi = make_roi((50, 50), 0, (25, 25), (5, 5))
    with pytest.raises(ValueError, match="masks must come from this reference"):
        score_reference(photo, [small_roi], [Variant("blur", 1, photo)], create_metric(DEFAULT_METRIC))


def test_raw_values_re_derive_the_labels(photo, photo_rois, photo_variants):
    metric = create_metric(DEFAULT_METRIC)
    for label in label_reference(photo, photo_rois, photo_variants, metric):
        assert label.quality == pytest.approx(
            float(metric.normalise(np.array([label.quality_raw]))[0]), abs=1e-5
        )
        threshold = metric.settings.clean_threshold
        assert label.importance == pytest.approx(
            importance_from_drop(label.importance_drop, threshold), abs=1e-5
        )


def test_central_roi_is_more_important_than_a_corner_roi_of_equal_size_and_damage(
    photo, make_roi, make_noisy
):
    height, width = photo.shape[:2]
    centre = make_roi((height, width), 0, (width // 2, height // 2), (14, 10))
    corner = make_roi((height, width), 1, (16, 12), (14, 10))
    assert centre.area == corner.area
    labels = label_reference(
        photo, [centre, corner], [Variant("noise", 20, make_noisy(photo, 6.0))], create_metric(DEFAULT_METRIC)
    )
    assert labels[0].importance > labels[1].importance > 0.0
