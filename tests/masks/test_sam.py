"""The real segment-anything code path, on a tiny randomly initialised SAM built from its own modules.

The random model's masks mean nothing; these tests check the plumbing: prompting, batching on one
embedding, SAM's quality gates, the area floor, de-duplication, RLE round trip, determinism, and the
checkpoint errors.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from pipeline.masks import MaskConfig, Provenance, compute_rois, create_segmenter
from pipeline.masks._checkpoints import CheckpointSpec
from pipeline.masks.base import Detections, file_sha256
from pipeline.masks.sam import SamConfig, SamSegmenter, load_sam
from pipeline.records import decode_mask

OPEN_GATES = SamConfig(pred_iou_thresh=float("-inf"), stability_score_thresh=0.0)


class FixedBoxes:
    """A detector stub returning fixed boxes (the detector is not under test here)."""

    provenance = Provenance("fixed_boxes")

    def __init__(self, boxes):
        self.boxes = np.asarray(boxes, np.float32)

    def detect(self, image):
        return Detections(self.boxes, np.linspace(1, 0.5, len(self.boxes), dtype=np.float32))


@pytest.fixture(scope="module")
def image(photos) -> np.ndarray:
    return photos["astronaut"][::2, ::2].copy()  # 256 x 256: the tiny model's input size


@pytest.fixture(scope="module")
def tiny(stand_ins):
    """tiny(config, seed) -> a SamSegmenter over the tiny random SAM (tests/support/stand_ins.py)."""

    def make(config: SamConfig = OPEN_GATES, seed: int = 0) -> SamSegmenter:
        model = stand_ins.build_tiny_random_sam(seed)
        return SamSegmenter(model, Provenance("sam_tiny_random"), config=config)

    return make


def points(n: int, size: int = 256, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, size, (n, 2)).astype(np.float32)


def test_image_is_embedded_once_for_all_prompts(image, tiny):
    segmenter = tiny(replace(OPEN_GATES, points_per_batch=8))
    calls = []
    segmenter.predictor.model.image_encoder.register_forward_hook(lambda *args: calls.append(1))
    boxes = FixedBoxes([[0, 0, 128, 128], [64, 64, 250, 250], [10, 100, 90, 250]])
    rois = compute_rois(image, segmenter, boxes, MaskConfig(n_points=50))  # 7 point batches + 1 box batch
    assert rois and len(calls) == 1
    compute_rois(image[::-1].copy(), segmenter, boxes, MaskConfig(n_points=50))
    assert len(calls) == 2  # one more image, one more embedding


def test_each_point_gives_three_masks_and_batching_changes_nothing(image, tiny):
    batched, single = (
        tiny(replace(OPEN_GATES, points_per_batch=16)),
        tiny(replace(OPEN_GATES, points_per_batch=1)),
    )
    batched.set_image(image)
    single.set_image(image)
    prompts = points(20)
    a, b = batched.segment_points(prompts), single.segment_points(prompts)
    assert len(a) == 3 * len(prompts)
    assert a.rles == b.rles
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)


def test_quality_gates_keep_exactly_the_masks_above_both_thresholds(image, tiny):
    prompts = points(24)
    ungated = tiny()
    ungated.set_image(image)
    everything = ungated.segment_points(prompts)
    iou_t = float(np.median(everything.scores))
    stab_t = float(np.median(everything.stability))
    gated = tiny(SamConfig(pred_iou_thresh=iou_t, stability_score_thresh=stab_t))
    gated.set_image(image)
    kept = gated.segment_points(prompts)
    expected = [
        r
        for r, s, t in zip(everything.rles, everything.scores, everything.stability, strict=True)
        if s >= iou_t and t >= stab_t
    ]
    assert 0 < len(kept) < len(everything)
    assert kept.rles == expected


def test_box_prompt_keeps_the_best_of_three_by_predicted_iou(image, tiny):
    segmenter = tiny()
    segmenter.set_image(image)
    box = np.array([[30, 40, 200, 220]], np.float32)
    predictor = segmenter.predictor
    prompt = predictor.transform.apply_boxes_torch(torch.as_tensor(box), predictor.original_size)
    with torch.inference_mode():
        masks, iou, _ = predictor.predict_torch(None, None, boxes=prompt, multimask_output=True)
    best = int(iou[0].argmax())
    got = segmenter.segment_boxes(box)
    assert len(got) == 1
    assert got.scores[0] == pytest.approx(float(iou[0, best].clamp(0, 1)), abs=1e-6)
    np.testing.assert_array_equal(decode_mask(got.rles[0]), masks[0, best].numpy())  # RLE round trip


def test_rois_respect_floor_dedup_cap_and_are_deterministic(image, tiny):
    config = MaskConfig(n_points=64, min_area=2000, max_iou=0.5, max_rois=12, max_objects=2)
    boxes = FixedBoxes([[0, 0, 128, 128], [64, 64, 250, 250], [0, 0, 130, 130]])
    rois = compute_rois(image, tiny(), boxes, config)
    again = compute_rois(image, tiny(), boxes, config)
    assert [r.to_json() for r in rois] == [r.to_json() for r in again]
    assert 0 < len(rois) <= 12 and sum(r.kind == "object" for r in rois) <= 2
    masks = np.stack([r.mask() for r in rois])
    assert masks.sum(axis=(1, 2)).min() >= 2000
    inter = np.einsum("ihw,jhw->ij", masks.astype(np.int64), masks.astype(np.int64))
    union = masks.sum(axis=(1, 2))[:, None] + masks.sum(axis=(1, 2))[None, :] - inter
    iou = inter / union
    np.fill_diagonal(iou, 0)
    assert iou.max() <= 0.5
    assert all(r.segmenter == "sam_tiny_random" for r in rois)


def test_area_floor_is_scaled_from_the_original_size(image, tiny):
    segmenter = tiny()
    # 256 px working image of a 512 px original: 4,000 original px -> 1,000 working px.
    scaled = compute_rois(
        image, segmenter, config=MaskConfig(min_area=4000, max_rois=500), original_shape=(512, 512)
    )
    native = compute_rois(image, segmenter, config=MaskConfig(min_area=4000, max_rois=500))
    assert min(r.area for r in scaled) >= 1000
    assert min(r.area for r in native) >= 4000
    assert len(scaled) >= len(native)


def test_grayscale_image_runs_through_sam(image, tiny):
    assert compute_rois(image[..., 0].copy(), tiny(), config=MaskConfig(n_points=8, min_area=1))


def test_missing_checkpoint_names_path_expected_file_and_source(tmp_path):
    missing = tmp_path / "weights" / "sam.pth"
    with pytest.raises(FileNotFoundError) as info:
        create_segmenter("sam_vit_b", checkpoint=str(missing))
    message = str(info.value)
    assert (
        str(missing) in message and "sam_vit_b_01ec64.pth" in message and "dl.fbaipublicfiles.com" in message
    )
    with pytest.raises(ValueError, match="needs a checkpoint"):
        create_segmenter("sam_vit_h")


def test_checkpoint_of_another_model_is_refused_by_name(tmp_path, stand_ins):
    tiny_path = tmp_path / "tiny.pth"
    torch.save(stand_ins.build_tiny_random_sam().state_dict(), tiny_path)
    with pytest.raises(ValueError, match=r"is not sam_vit_b.*sam_vit_b_01ec64\.pth") as info:
        create_segmenter("sam_vit_b", checkpoint=str(tiny_path))
    assert str(tiny_path) in str(info.value)
    vit_l_like = tmp_path / "vit_l.pth"
    torch.save({"image_encoder.patch_embed.proj.weight": torch.zeros(1024, 3, 16, 16)}, vit_l_like)
    with pytest.raises(ValueError, match="looks like a sam_vit_l checkpoint"):
        create_segmenter("sam_vit_b", checkpoint=str(vit_l_like))
    not_torch = tmp_path / "notes.pth"
    not_torch.write_text("not weights")
    with pytest.raises(ValueError, match="not a PyTorch state dict"):
        create_segmenter("sam_vit_l", checkpoint=str(not_torch))


def test_real_loader_loads_weights_and_records_their_hash(tmp_path, image, stand_ins):
    source = stand_ins.build_tiny_random_sam(seed=5)
    path = tmp_path / "tiny.pth"
    torch.save(source.state_dict(), path)
    signature = {"image_encoder.patch_embed.proj.weight": (32, 3, 16, 16)}
    spec = CheckpointSpec("sam_tiny", "tiny.pth", "tests", signature)
    loaded = load_sam(
        spec, lambda: stand_ins.build_tiny_random_sam(seed=9), str(path), "cpu", config=OPEN_GATES
    )
    assert loaded.config == OPEN_GATES  # e.g. an interactive click wants no automatic-generator gates
    for key, value in source.state_dict().items():
        torch.testing.assert_close(loaded.predictor.model.state_dict()[key], value)
    assert loaded.provenance == Provenance("sam_tiny", str(path), file_sha256(path))
