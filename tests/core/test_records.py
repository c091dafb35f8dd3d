"""ROI records: RLE round trip, box and area."""

import json

import numpy as np

from pipeline.records import ROI


def test_roi_round_trips_through_json():
    mask = np.zeros((37, 53), dtype=bool)
    mask[4:20, 10:31] = True
    mask[30, 50] = True
    roi = ROI.from_mask(3, "component", mask, 0.87, "felzenszwalb")
    again = ROI.from_json(json.loads(json.dumps(roi.to_json())))
    assert again == roi
    assert np.array_equal(again.mask(), mask)
    assert roi.area == int(mask.sum())
    assert roi.bbox == (10, 4, 41, 27)
