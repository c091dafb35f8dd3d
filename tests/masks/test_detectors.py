"""Detectors with weights: torchvision Faster R-CNN from a local file; SEEM's unavailability."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models.detection import fasterrcnn_resnet50_fpn

from pipeline.masks import create_detector, list_detectors
from pipeline.masks.base import file_sha256
from pipeline.masks.fasterrcnn import FasterRcnnConfig


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> tuple[str, dict]:
    """A Faster R-CNN state dict with random weights (the COCO file cannot be downloaded in tests)."""
    torch.manual_seed(0)
    model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
    path = tmp_path_factory.mktemp("weights") / "frcnn.pth"
    torch.save(model.state_dict(), path)
    return str(path), model.state_dict()


def test_fasterrcnn_loads_local_weights_and_returns_boxes(random_weights, photos):
    path, state = random_weights
    detector = create_detector(
        "fasterrcnn_resnet50_fpn",
        weights=path,
        config=FasterRcnnConfig(min_score=0.0, max_boxes=5, min_size=160),
    )
    torch.testing.assert_close(
        detector.model.state_dict()["roi_heads.box_predictor.cls_score.weight"],
        state["roi_heads.box_predictor.cls_score.weight"],
    )
    assert detector.provenance.sha256 == file_sha256(path)
    image = photos["chelsea"][::2, ::2].copy()
    found = detector.detect(image)
    assert found.boxes.shape == (len(found), 4) and found.boxes.dtype == np.float32 and len(found) <= 5
    assert (np.diff(found.scores) <= 0).all()
    if len(found):
        assert (
            found.boxes[:, 2].max() <= image.shape[1] + 1e-3
            and found.boxes[:, 3].max() <= image.shape[0] + 1e-3
        )


def test_fasterrcnn_errors_name_the_path_and_the_expected_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.pth.*fasterrcnn_resnet50_fpn_coco-258fb6c6\.pth"):
        create_detector("fasterrcnn_resnet50_fpn", weights=str(tmp_path / "nope.pth"))
    with pytest.raises(ValueError, match="needs a weights path"):
        create_detector("fasterrcnn_resnet50_fpn")
    sam_like = tmp_path / "sam.pth"
    torch.save({"image_encoder.patch_embed.proj.weight": torch.zeros(768, 3, 16, 16)}, sam_like)
    with pytest.raises(ValueError, match="looks like a sam_vit_b checkpoint"):
        create_detector("fasterrcnn_resnet50_fpn", weights=str(sam_like))
    partial = tmp_path / "partial.pth"
    torch.save({"backbone.body.conv1.weight": torch.zeros(64, 3, 7, 7)}, partial)
    with pytest.raises(ValueError, match=r"does not fit fasterrcnn_resnet50_fpn.*Missing key"):
        create_detector("fasterrcnn_resnet50_fpn", weights=str(partial))


def test_seem_is_known_but_explains_why_it_is_unavailable():
    assert "seem" not in list_detectors()
    with pytest.raises(ImportError, match="seem_focall_v1.pt"):
        create_detector("seem")
