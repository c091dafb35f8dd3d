"""The demo set's defects and the SIMULATED annotators."""

from __future__ import annotations

import numpy as np

from pipeline.sg3k import defects
from pipeline.sg3k.aggregate import aggregate_roi
from pipeline.sg3k.demo import DEMO_RECIPES, make_image
from pipeline.sg3k.simulate import reference_answers, simulate_ratings
from pipeline.split import split_of


def _photo():
    from skimage.data import astronaut

    return astronaut()[::2, ::2].copy()


def _sharpness(image):
    grey = image.mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def test_defects_move_the_image_the_way_they_say():
    photo = _photo()
    assert _sharpness(defects.motion_blur(photo, 15, 0.0)) < 0.6 * _sharpness(photo)
    dark = defects.underexposed_noisy(photo, stops=3.0, seed=0)
    assert dark.mean() < 0.7 * photo.mean()
    assert np.array_equal(dark, defects.underexposed_noisy(photo, stops=3.0, seed=0))  # seeded
    assert defects.haze(photo, 0.5).std() < 0.6 * photo.std()
    hsv_sat = lambda im: (im.max(2).astype(int) - im.min(2)).mean()  # noqa: E731
    assert hsv_sat(defects.faded_colour(photo, 0.2)) < 0.4 * hsv_sat(photo)
    chained = defects.phone_chain(photo, scale=0.35, qualities=(40, 20))
    assert chained.shape == photo.shape and _sharpness(chained) != _sharpness(photo)


def test_uneven_defect_leaves_the_other_side_alone():
    photo = _photo()
    weight = defects.ramp(photo.shape[:2], side="left", start=0.5, end=0.6)
    out = defects.blend(photo, defects.haze(photo, 0.6), weight)
    half = photo.shape[1] // 2
    assert np.array_equal(out[:, : half - 2], photo[:, : half - 2])
    assert not np.array_equal(out[:, -10:], photo[:, -10:])


def test_demo_holds_both_splits_in_its_first_three():
    assert {split_of(name) for name in list(DEMO_RECIPES)[:3]} == {"train", "test"}


def test_simulated_annotators_are_named_seeded_and_near_the_reference():
    recipe = DEMO_RECIPES["chelsea-shake"]  # blur level 1 over the whole frame
    image = make_image(recipe)
    mask = np.zeros(image.shape[:2], bool)
    mask[50:200, 100:300] = True
    reference = reference_answers(recipe, mask)
    assert reference["blur"] == 1.0 and reference["noise"] == 5.0
    ratings = simulate_ratings("chelsea-shake_roi00", reference, 7, seed=3)
    assert [r.annotator for r in ratings] == [f"simulated-{k:02d}" for k in range(1, 8)]
    assert {r.source for r in ratings} == {"simulated"}
    assert ratings == simulate_ratings("chelsea-shake_roi00", reference, 7, seed=3)
    label = aggregate_roi([r.answers for r in ratings])
    assert label["distortion"] == "blur" and label["severity_level"] in ("extreme", "severe", "moderate")
