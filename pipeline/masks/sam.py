"""Segment Anything (`sam_vit_b`, `sam_vit_l`, `sam_vit_h`) from a local checkpoint.

"Embed once, prompt many": `set_image` runs the image encoder once; point and box prompts then go
through `SamPredictor.predict_torch` in batches on that one embedding. Point masks pass SAM's own
quality gates (predicted IoU and stability score, as in `SamAutomaticMaskGenerator`, computed with
`segment_anything.utils.amg`); a box keeps its best of three masks by predicted IoU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.masks._checkpoints import CheckpointSpec, checkpoint_specs, load_into
from pipeline.masks._registry import SEGMENTERS
from pipeline.masks.base import Candidates, Provenance

if TYPE_CHECKING:
    import torch

# torch and segment_anything are imported where a model is built or run: `import pipeline.masks` and
# listing the registries' names (`seagull build --segmenter` checks them) must not cost their import.


@dataclass(frozen=True)
class SamConfig:
    # Prompts per decoder call; None = 64 on a GPU (SamAutomaticMaskGenerator's default) and 1 on
    # CPU. On CPU the decoder is cheap and the full-resolution logits dominate: 64 prompts x 3 masks
    # of a 1,024 px image are ~540 MB per call, and bench_masks measured larger calls SLOWER there
    # (vit_b dims, 64 points: 23 s CPU at 64 per call, 11.6 s at 1 per call).
    points_per_batch: int | None = None
    pred_iou_thresh: float = 0.88  # SamAutomaticMaskGenerator's default gate on predicted IoU
    stability_score_thresh: float = 0.95  # its default gate on the stability score
    stability_score_offset: float = 1.0  # its default logit offset for the stability score


class SamSegmenter:
    """A SAM-family model behind the `Segmenter` interface (see module docstring).

    Args:
        model: a built `Sam` (or MobileSAM's `Sam`) with weights loaded.
        provenance: name and weight file recorded with every ROI.
        predictor_cls: the predictor class of the model's package (MobileSAM ships its own);
            None: segment_anything's `SamPredictor`.
        config: batching and quality gates.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        provenance: Provenance,
        predictor_cls=None,
        config: SamConfig | None = None,
    ) -> None:
        if predictor_cls is None:
            from segment_anything import SamPredictor as predictor_cls
        self.config = config or SamConfig()
        self.provenance = provenance
        self.predictor = predictor_cls(model.eval())

    def set_image(self, image: np.ndarray) -> None:
        """Embed uint8 RGB (H, W, 3) once; later prompts reuse the embedding."""
        import torch

        with torch.inference_mode():
            self.predictor.set_image(image, image_format="RGB")

    def segment_points(self, points: np.ndarray) -> Candidates:
        """All three masks of each float32 (N, 2) (x, y) point that pass the quality gates."""
        from segment_anything.utils import amg

        batches = amg.batch_iterator(self._batch_size(), np.asarray(points, np.float32).reshape(-1, 2))
        return Candidates.concat([self._point_batch(batch) for (batch,) in batches])

    def segment_boxes(self, boxes: np.ndarray) -> Candidates:
        """The best mask (by predicted IoU) of each XYXY box float32 (N, 4)."""
        from segment_anything.utils import amg

        batches = amg.batch_iterator(self._batch_size(), np.asarray(boxes, np.float32).reshape(-1, 4))
        return Candidates.concat([self._box_batch(batch) for (batch,) in batches])

    def _batch_size(self) -> int:
        if self.config.points_per_batch is not None:
            return self.config.points_per_batch
        return 64 if self.predictor.device.type == "cuda" else 1

    def _point_batch(self, points: np.ndarray) -> Candidates:
        import torch

        p = self.predictor
        coords = torch.as_tensor(p.transform.apply_coords(points, p.original_size), device=p.device)
        labels = torch.ones(len(points), 1, dtype=torch.int, device=p.device)  # 1 = foreground
        with torch.inference_mode():
            logits, iou, _ = p.predict_torch(
                coords[:, None, :], labels, multimask_output=True, return_logits=True
            )
        return self._candidates(logits.flatten(0, 1), iou.flatten(0, 1), gate=True)

    def _box_batch(self, boxes: np.ndarray) -> Candidates:
        import torch

        p = self.predictor
        prompts = p.transform.apply_boxes_torch(torch.as_tensor(boxes, device=p.device), p.original_size)
        with torch.inference_mode():
            logits, iou, _ = p.predict_torch(
                None, None, boxes=prompts, multimask_output=True, return_logits=True
            )
        best = iou.argmax(dim=1)  # (B,): the multimask output SAM itself rates best
        rows = torch.arange(len(boxes), device=iou.device)
        return self._candidates(logits[rows, best], iou[rows, best], gate=False)

    def _candidates(self, logits: torch.Tensor, iou: torch.Tensor, gate: bool) -> Candidates:
        """logits float (N, H, W), iou (N,) -> binarised, gated, RLE-encoded candidates."""
        import torch
        from segment_anything.utils import amg

        cfg, threshold = self.config, self.predictor.model.mask_threshold
        stability = amg.calculate_stability_score(logits, threshold, cfg.stability_score_offset)
        keep = torch.ones_like(iou, dtype=torch.bool)
        if gate:
            keep = (iou >= cfg.pred_iou_thresh) & (stability >= cfg.stability_score_thresh)
        masks = (logits[keep] > threshold).cpu().numpy()
        scores = iou[keep].clamp(0, 1).cpu().numpy()  # predicted IoU can leave 0..1 slightly
        return Candidates.from_masks(masks, scores, stability[keep].cpu().numpy())


def load_sam(
    spec: CheckpointSpec,
    build: Callable[[], torch.nn.Module],
    checkpoint: str | None,
    device: str,
    predictor_cls=None,
    config: SamConfig | None = None,
) -> SamSegmenter:
    """Build a SAM-family model and load its local checkpoint, checked against `spec` first."""
    if checkpoint is None:
        raise ValueError(f"{spec.name} needs a checkpoint path (nothing is downloaded); {spec.hint()}")
    model = load_into(build(), checkpoint, spec).to(device)
    return SamSegmenter(model, Provenance.of_file(spec.name, checkpoint), predictor_cls, config)


def _register(variant: str) -> None:
    name = f"sam_{variant}"

    @SEGMENTERS.register(name, weights=checkpoint_specs()[name].file, package="segment_anything")
    def create(
        checkpoint: str | None = None, device: str = "cpu", config: SamConfig | None = None
    ) -> SamSegmenter:
        """`config`: e.g. SamConfig(pred_iou_thresh=0, stability_score_thresh=0) for one interactive click."""
        from segment_anything import sam_model_registry

        return load_sam(
            checkpoint_specs()[name], sam_model_registry[variant], checkpoint, device, config=config
        )


for _variant in ("vit_b", "vit_l", "vit_h"):
    _register(_variant)
