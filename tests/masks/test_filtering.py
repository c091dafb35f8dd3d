"""Area floor, de-duplication and caps on synthetic masks whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.masks.base import Candidates
from pipeline.masks.filtering import dedup, drop_small, min_area_px
from pipeline.masks.rois import MaskConfig, select_rois


def squares(specs, size=100) -> Candidates:
    """Candidates of filled squares (x, y, side, score) on a size x size canvas."""
    masks = np.zeros((len(specs), size, size), bool)
    for i, (x, y, side, _) in enumerate(specs):
        masks[i, y : y + side, x : x + side] = True
    scores = np.asarray([s[3] for s in specs], np.float32)
    return Candidates.from_masks(masks, scores, np.ones(len(specs)))


def test_min_area_scales_with_the_square_of_the_resize():
    assert min_area_px((683, 1024), None, 1024) == 1024
    assert min_area_px((683, 1024), (2000, 3008), 1024) == pytest.approx(1024 * (1024 / 3008) ** 2)
    assert min_area_px((1024, 683), (4928, 3264), 1024) == pytest.approx(1024 * (1024 / 4928) ** 2)


def test_drop_small_keeps_masks_at_or_above_the_floor_and_never_empty_ones():
    c = squares([(0, 0, 10, 0.9), (0, 0, 9, 0.8), (50, 50, 20, 0.7)])
    assert drop_small(c, 100).areas().tolist() == [100, 400]
    empty = Candidates.from_masks(np.zeros((1, 10, 10), bool), np.ones(1), np.ones(1))
    assert len(drop_small(empty, 0)) == 0


def test_dedup_drops_later_near_duplicates_only():
    # 0 and 1 overlap with IoU 81/100; 2 is disjoint; 3 overlaps 0 with IoU 25/175 ~ 0.14.
    c = squares([(0, 0, 10, 0.9), (1, 1, 9, 0.8), (50, 50, 10, 0.7), (5, 5, 10, 0.6)])
    assert dedup(c, 0.7).tolist() == [0, 2, 3]
    assert dedup(c, 0.85).tolist() == [0, 1, 2, 3]
    assert dedup(c, 0.1).tolist() == [0, 2]
    assert dedup(c, 0.7, limit=2).tolist() == [0, 2]
    assert dedup(Candidates.empty(), 0.7).tolist() == []


def test_select_rois_applies_floor_ranks_and_lets_objects_suppress_components():
    objects = squares([(50, 50, 40, 0.7), (0, 0, 40, 0.9)])
    # duplicate of object (0,0), under the floor, small, medium, one more than the cap allows
    components = squares(
        [(1, 1, 39, 0.99), (45, 5, 10, 0.8), (80, 0, 15, 0.3), (0, 60, 20, 0.5), (60, 0, 13, 0.1)]
    )
    config = MaskConfig(max_iou=0.7, max_rois=4, max_objects=2)
    rois = select_rois(objects, components, 150, config, "squares")
    assert [r.kind for r in rois] == ["object", "object", "component", "component"]
    assert [r.score for r in rois] == pytest.approx([0.9, 0.7, 0.5, 0.3])
    assert [r.bbox for r in rois] == [(0, 0, 40, 40), (50, 50, 40, 40), (0, 60, 20, 20), (80, 0, 15, 15)]
    assert all(r.segmenter == "squares" for r in rois)


def test_component_duplicate_of_a_capped_away_object_survives():
    objects = squares([(0, 0, 40, 0.5), (50, 50, 40, 0.9)])
    components = squares([(1, 1, 39, 0.99), (45, 5, 10, 0.8)])
    rois = select_rois(objects, components, 50, MaskConfig(max_iou=0.7, max_rois=10, max_objects=1), "sq")
    assert [(r.kind, r.bbox) for r in rois] == [
        ("object", (50, 50, 40, 40)),
        ("component", (1, 1, 39, 39)),
        ("component", (45, 5, 10, 10)),
    ]
    rois = select_rois(objects, components, 50, MaskConfig(max_iou=0.7, max_rois=10, max_objects=2), "sq")
    assert [(r.kind, r.bbox) for r in rois] == [
        ("object", (50, 50, 40, 40)),
        ("object", (0, 0, 40, 40)),
        ("component", (45, 5, 10, 10)),
    ]
    assert [r.roi_id for r in rois] == [0, 1, 2]
