"""ROI JSON round trip and validation, overlay drawing, and the registries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.masks import (
    DEFAULT_DETECTOR,
    DEFAULT_SEGMENTER,
    Provenance,
    create_detector,
    create_segmenter,
    draw_overlay,
    list_detectors,
    list_segmenters,
    read_rois_json,
    write_rois_json,
)
from pipeline.records import ROI
from pipeline.registry import Registry


def sample_rois() -> list[ROI]:
    a, b = np.zeros((2, 40, 60), bool)
    a[5:30, 10:50] = True
    b[20:38, 2:12] = True
    return [
        ROI.from_mask(0, "object", a, 0.9, "felzenszwalb_rag"),
        ROI.from_mask(1, "component", b, 0.5, "felzenszwalb_rag"),
    ]


PROVENANCE = {
    "segmenter": Provenance("felzenszwalb_rag").to_json(),
    "detector": Provenance("tv", "/w/x.pth", "a" * 64).to_json(),
}


def test_roi_file_round_trip(tmp_path):
    rois = sample_rois()
    path = write_rois_json(tmp_path / "r0.json", "r0", (40, 60, 3), rois, PROVENANCE)
    back = read_rois_json(path)
    assert (back.ref_id, back.height, back.width) == ("r0", 40, 60)
    assert back.segmenter == PROVENANCE["segmenter"] and back.detector == PROVENANCE["detector"]
    assert back.rois == rois
    np.testing.assert_array_equal(back.rois[0].mask(), rois[0].mask())
    assert not list(tmp_path.glob("*.tmp"))


def test_invalid_roi_file_names_the_file_and_the_field(tmp_path):
    path = write_rois_json(tmp_path / "r0.json", "r0", (40, 60), sample_rois(), PROVENANCE)
    record = json.loads(path.read_text())
    record["rois"][1]["kind"] = "blob"
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"r0\.json.*rois/1/kind"):
        read_rois_json(path)
    with pytest.raises(ValueError, match="ref_id"):
        write_rois_json(tmp_path / "bad.json", "ref.1", (40, 60), [], PROVENANCE)
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(ValueError, match="junk.json: not JSON"):
        read_rois_json(tmp_path / "junk.json")


def test_overlay_tints_the_masks_and_leaves_the_rest():
    image = np.full((40, 60, 3), 128, np.uint8)
    out = draw_overlay(image, sample_rois())
    assert out.shape == image.shape and out.dtype == np.uint8
    assert (out[15, 30] != image[15, 30]).any()  # inside ROI 0
    assert (out[2, 58] == image[2, 58]).all()  # outside every ROI


def test_registries_list_defaults_and_sam_variants():
    assert {DEFAULT_SEGMENTER, "sam_vit_b", "sam_vit_l", "sam_vit_h"} <= set(list_segmenters())
    assert DEFAULT_DETECTOR in list_detectors()
    with pytest.raises(KeyError, match="available: .*felzenszwalb_rag"):
        create_segmenter("sam_vit_x")
    with pytest.raises(KeyError, match="unknown detector"):
        create_detector("yolo")


def test_registry_refuses_duplicates_and_explains_missing_packages():
    registry = Registry("thing")
    registry.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(lambda: 2)
    registry.register_unavailable("b", "pip install b-package")
    with pytest.raises(ValueError, match="already registered"):
        registry.register_unavailable("b", "again")
    with pytest.raises(ImportError, match="pip install b-package"):
        registry.create("b")
    assert registry.names() == ["a"] and registry.create("a") == 1
