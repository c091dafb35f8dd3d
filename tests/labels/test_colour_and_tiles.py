"""The colour-aware default metric (delta_e, min_of) and the tile-mean importance score (issue 13)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from skimage.color import gray2rgb, rgb2gray

from pipeline.labels import DEFAULT_METRIC, create_metric, label_reference
from pipeline.labels.crops import block_factor, block_mean, mask_box, paste, tile_starts, to_tensor
from pipeline.labels.metrics import load_settings
from pipeline.labels.scoring import ScoreConfig, pasted_quality
from pipeline.records import Variant


def test_tiles_cover_the_image_with_real_pixels():
    assert tile_starts(100, 32) == (32, [0, 32, 64, 68])
    assert tile_starts(64, 32) == (32, [0, 32])
    assert tile_starts(20, 32) == (20, [0])


def test_delta_e_is_zero_for_identical_images_and_one_jnd_at_the_threshold(photo):
    metric = create_metric("delta_e")
    ref = to_tensor(photo)
    assert float(metric.raw(ref, metric.prepare(ref))[0]) == 0.0
    settings = metric.settings
    # The threshold 0.92 sits at a mean ΔE*ab of 2.3 (one just-noticeable difference): not fitted.
    assert metric.normalise(np.array([2.3]))[0] == pytest.approx(settings.clean_threshold, abs=1e-6)
    assert not settings.fitted


def test_greyscale_is_a_colour_distortion_pixel_noise_is_not(photo, make_noisy):
    grey = (gray2rgb(rgb2gray(photo)) * 255).round().astype(np.uint8)
    metric = create_metric("delta_e")
    ref = to_tensor(photo)
    prepared = metric.prepare(ref)
    quality = metric.normalise(metric.raw(to_tensor(np.stack([grey, make_noisy(photo, 2.0)])), prepared))
    assert quality[0] <= 0.92 < quality[1]  # greyscale is seen; mild pixel noise is left to GMSD


def test_min_of_is_the_lower_part_quality(photo, make_noisy):
    combined = create_metric(DEFAULT_METRIC)
    assert [part.name for part in combined.parts] == ["gmsd_rgb", "delta_e"]
    grey = (gray2rgb(rgb2gray(photo)) * 255).round().astype(np.uint8)
    images = to_tensor(np.stack([grey, make_noisy(photo, 12.0)]))
    ref = to_tensor(photo)
    parts = [part.normalise(part.raw(images, part.prepare(ref))) for part in combined.parts]
    quality = combined.normalise(combined.raw(images, combined.prepare(ref)))
    np.testing.assert_allclose(quality, np.minimum(*parts), atol=1e-6)
    assert parts[1][0] < parts[0][0] and parts[0][1] < parts[1][1]  # colour sees grey, gradients see noise


@pytest.mark.parametrize(
    ("name", "side", "tile"),
    [("gmsd_rgb", 72, 16), ("delta_e", 72, 16), (DEFAULT_METRIC, 72, 16), (DEFAULT_METRIC, 144, 32)],
)
def test_tile_mean_equals_pasting_then_scoring_every_tile(photo, photo_rois, make_noisy, name, side, tile):
    """Block means (72: factor 2) and the render's own pixels (144: factor 1, no block means)."""
    metric = create_metric(name)
    metric.settings = dataclasses.replace(metric.settings, whole_max_side=side, importance_tile=tile)
    images = np.stack([make_noisy(photo, 8.0), photo[:, ::-1].copy()])
    masks = [roi.mask() for roi in photo_rois]
    pasted, identical = pasted_quality(photo, images, masks, metric, ScoreConfig())
    factor = block_factor(photo.shape, side)
    small = block_mean(photo, factor)
    side_h, rows = tile_starts(small.shape[0], tile)
    side_w, cols = tile_starts(small.shape[1], tile)
    for r, mask in enumerate(masks):
        for v, image in enumerate(images):
            whole = block_mean(paste(photo, image, mask, mask_box(mask)), factor)
            qualities = [
                metric.normalise(
                    metric.raw(
                        to_tensor(whole[y : y + side_h, x : x + side_w]),
                        metric.prepare(to_tensor(small[y : y + side_h, x : x + side_w])),
                    )
                )[0]
                for y in rows
                for x in cols
            ]
            assert pasted[v, r] == pytest.approx(float(np.mean(qualities)), abs=1e-5)
    assert identical == pytest.approx(1.0)


def test_pasting_an_unchanged_roi_has_no_importance(photo, photo_rois):
    labels = label_reference(
        photo, photo_rois, [Variant("noise", 1, photo.copy())], create_metric(DEFAULT_METRIC)
    )
    assert all(label.importance == 0.0 and label.distortion == "none" for label in labels)


def test_default_metric_batched_equals_naive_per_pair_calls(photo, photo_rois, photo_variants, stand_ins):
    from pipeline.labels import score_reference

    metric = create_metric(DEFAULT_METRIC)
    rois, variants = photo_rois[1:], photo_variants[::2]
    batched = score_reference(photo, rois, variants, metric)
    naive = score_reference(photo, rois, variants, stand_ins.NaiveMetric(metric))
    np.testing.assert_allclose(batched.quality, naive.quality, atol=1e-5, rtol=0)
    np.testing.assert_allclose(batched.pasted, naive.pasted, atol=1e-5, rtol=0)


def test_quality_is_scored_at_least_as_finely_as_importance():
    """For every metric, the quality crop is never shrunk below the importance working size."""
    for name, settings in load_settings().items():
        if settings.crop_max_side is not None:
            assert settings.crop_max_side >= settings.whole_max_side, name


def test_an_roi_judged_clean_does_not_take_the_whole_image_past_the_clean_margin():
    """A large ROI with mild JPEG damage on a 1,024-px render (the build's size): either its quality sees
    the damage, or its paste leaves the whole image within the "without distortion" margin (importance
    < 1). With quality crops shrunk to 384 px but importance scored at 512, JPEG quality 40 left this ROI
    "clean" (0.934) with importance 1.0 — the clean-but-important labels that kept compression's
    importance gap under 0.2 in `make shards` (issue 13; docs/labels.md)."""
    import cv2
    from skimage import data

    from pipeline.isp.compression import jpeg_roundtrip
    from pipeline.records import ROI

    photo = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_AREA)
    mask = np.ones(photo.shape[:2], bool)
    mask[:102] = False  # 90 % of the frame
    roi = ROI.from_mask(0, "component", mask, 1.0, "test")
    variants = [Variant("compression", level, jpeg_roundtrip(photo, q)) for level, q in ((2, 65), (4, 40))]
    labels = label_reference(photo, [roi], variants, create_metric(DEFAULT_METRIC))
    assert labels[1].quality < labels[0].quality and labels[1].importance > labels[0].importance > 0.2
    for label in labels:
        assert label.distortion != "none" or label.importance < 1.0, label
