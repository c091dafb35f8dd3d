"""The weight-free default (felzenszwalb_rag + region_proposals) gives meaningful, deterministic ROIs."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from pipeline.masks import (
    DEFAULT_DETECTOR,
    DEFAULT_SEGMENTER,
    MaskConfig,
    compute_rois,
    create_detector,
    create_segmenter,
)

# The photographs of the `photos` fixture (tests/masks/conftest.py).
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


@pytest.fixture(scope="module")
def default_rois(photos) -> dict[str, tuple]:
    segmenter, detector = create_segmenter(DEFAULT_SEGMENTER), create_detector(DEFAULT_DETECTOR)
    return {name: (image, compute_rois(image, segmenter, detector)) for name, image in photos.items()}


@pytest.mark.parametrize("name", PHOTOS)
def test_rois_are_non_degenerate(default_rois, name):
    image, rois = default_rois[name]
    kinds = [roi.kind for roi in rois]
    assert 10 <= len(rois) <= MaskConfig().max_rois
    assert kinds.count("object") >= 3 and kinds.count("component") >= 5
    assert kinds == sorted(kinds, key=lambda k: k != "object"), "objects come first"
    assert [roi.roi_id for roi in rois] == list(range(len(rois)))
    masks = np.stack([roi.mask() for roi in rois])
    assert masks.shape[1:] == image.shape[:2]
    assert masks.sum(axis=(1, 2)).min() >= MaskConfig().min_area  # none empty, none under 32x32 px
    assert masks.any(axis=0).mean() > 0.5, "ROIs cover most of the image"
    assert masks.sum(axis=(1, 2)).max() < 0.95 * image.shape[0] * image.shape[1], "no whole-frame ROI"
    assert all(roi.segmenter == DEFAULT_SEGMENTER and 0.0 <= roi.score <= 1.0 for roi in rois)


@pytest.mark.parametrize("name", PHOTOS[:2])
def test_rois_are_not_near_duplicates(default_rois, name):
    _, rois = default_rois[name]
    rles = [{"size": r.rle["size"], "counts": r.rle["counts"].encode()} for r in rois]
    iou = np.asarray(mask_utils.iou(rles, rles, [0] * len(rles)))
    np.fill_diagonal(iou, 0)
    assert iou.max() <= MaskConfig().max_iou


def test_object_regions_are_larger_than_components(default_rois):
    _, rois = default_rois["astronaut"]
    objects = [r.area for r in rois if r.kind == "object"]
    components = [r.area for r in rois if r.kind == "component"]
    assert np.median(objects) > np.median(components)


@pytest.fixture(scope="module")
def small(astronaut):
    """256 px astronaut: enough for the behaviour checks below, at a quarter of the cost."""
    return astronaut[::2, ::2].copy()


def test_same_seed_same_rois_other_seed_other_components(small):
    segmenter = create_segmenter(DEFAULT_SEGMENTER)
    first = compute_rois(small, segmenter, config=MaskConfig(seed=3, n_points=16))
    again = compute_rois(small, create_segmenter(DEFAULT_SEGMENTER), config=MaskConfig(seed=3, n_points=16))
    other = compute_rois(small, segmenter, config=MaskConfig(seed=4, n_points=16))
    assert [r.to_json() for r in first] == [r.to_json() for r in again]
    assert [r.rle for r in first] != [r.rle for r in other]


def test_grayscale_is_replicated_to_rgb(small):
    gray = small[..., 1]
    segmenter = create_segmenter(DEFAULT_SEGMENTER)
    from_2d = compute_rois(gray, segmenter)
    from_rgb = compute_rois(np.repeat(gray[..., None], 3, axis=2), segmenter)
    assert from_2d and [r.rle for r in from_2d] == [r.rle for r in from_rgb]


def test_tiny_image_gives_no_roi_without_calling_the_segmenter():
    class Untouchable:
        def set_image(self, image):
            raise AssertionError("a 1x1 image cannot hold a 32x32 px ROI; the segmenter must not run")

    assert compute_rois(np.zeros((1, 1, 3), np.uint8), Untouchable()) == []


def test_area_floor_scales_with_working_resolution(small):
    segmenter = create_segmenter(DEFAULT_SEGMENTER)
    # As if this 256 px image came from a 2,048 px original: the floor is 1024 / 64 = 16 px.
    scaled = compute_rois(small, segmenter, config=MaskConfig(max_rois=1000), original_shape=(2048, 2048))
    native = compute_rois(small, segmenter, config=MaskConfig(max_rois=1000))
    assert min(r.area for r in native) >= 1024
    assert min(r.area for r in scaled) < 1024 and min(r.area for r in scaled) >= 16


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((8, 8, 3), np.float32), TypeError),
        (np.zeros((8, 8, 4), np.uint8), ValueError),
        (np.zeros((2, 8, 8, 3), np.uint8), ValueError),
    ],
)
def test_bad_images_are_refused_with_a_fix(image, error):
    with pytest.raises(error, match="uint8|alpha|RGB"):
        compute_rois(image, create_segmenter(DEFAULT_SEGMENTER))


def test_weight_free_components_refuse_weights():
    with pytest.raises(ValueError, match="weight-free"):
        create_segmenter(DEFAULT_SEGMENTER, checkpoint="sam_vit_b_01ec64.pth")
    with pytest.raises(ValueError, match="weight-free"):
        create_detector(DEFAULT_DETECTOR, weights="x.pth")


def test_region_proposals_boxes_lie_in_the_image(astronaut):
    detections = create_detector(DEFAULT_DETECTOR).detect(astronaut)
    boxes = detections.boxes
    assert 3 <= len(detections) <= 20 and boxes.dtype == np.float32
    assert (boxes[:, 0] < boxes[:, 2]).all() and (boxes[:, 1] < boxes[:, 3]).all()
    assert boxes.min() >= 0 and boxes[:, 2].max() <= 512 and boxes[:, 3].max() <= 512
    assert (np.diff(detections.scores) <= 0).all(), "best first"


def test_flat_image_is_one_whole_frame_component_and_no_object():
    """A single-colour image has one region and no edges: handled, not a crash in skimage's RAG."""
    flat = np.full((100, 120, 3), 77, np.uint8)
    rois = compute_rois(flat, create_segmenter(DEFAULT_SEGMENTER), create_detector(DEFAULT_DETECTOR))
    assert [(r.kind, r.area, r.bbox) for r in rois] == [("component", 12000, (0, 0, 120, 100))]
