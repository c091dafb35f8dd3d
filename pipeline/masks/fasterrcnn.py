"""`fasterrcnn_resnet50_fpn`: torchvision's Faster R-CNN (ResNet-50 FPN, COCO) from a local weight file.

Why this detector: torchvision is already a pinned dependency (no new package), its COCO weights
are one published .pth file (fasterrcnn_resnet50_fpn_coco-258fb6c6.pth, the hash prefix in its
name), the model and its API have been stable for years, and it runs on CPU. Its 80 COCO "thing"
classes cover the everyday objects that SEEM's boxes cover in the paper; boxes are used
class-agnostically, since only the box prompts SAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline.masks._checkpoints import checkpoint_specs, load_into
from pipeline.masks._registry import DETECTORS
from pipeline.masks.base import Detections, Provenance

if TYPE_CHECKING:
    import torch

# torch and torchvision are imported where a model is built or run: `import pipeline.masks` and listing the registries'
# names (`seagull build --segmenter/--detector` checks them) must not cost their ~10 s import.

NAME = "fasterrcnn_resnet50_fpn"


@dataclass(frozen=True)
class FasterRcnnConfig:
    min_score: float = 0.5  # COCO detections under 0.5 are mostly duplicates and false positives
    max_boxes: int = 20  # twice the ~10 object ROIs kept per image, so de-duplication can choose
    min_size: int = 800  # torchvision's default input scale (shorter side), the one it was trained at


class TorchvisionDetector:
    """A torchvision detection model behind the `Detector` interface.

    Args:
        model: a torchvision detection model in eval mode, weights loaded.
        provenance: name and weight file.
        config: score gate and box cap.
    """

    def __init__(self, model: torch.nn.Module, provenance: Provenance, config: FasterRcnnConfig) -> None:
        self.model = model.eval()
        self.provenance = provenance
        self.config = config

    def detect(self, image: np.ndarray) -> Detections:
        """XYXY boxes float32 (N, 4) on uint8 RGB (H, W, 3), best first, N <= config.max_boxes."""
        import torch

        device = next(self.model.parameters()).device
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255).to(device)
        with torch.inference_mode():
            out = self.model([tensor])[0]
        keep = out["scores"] >= self.config.min_score
        boxes, scores = out["boxes"][keep], out["scores"][keep]
        order = torch.argsort(scores, descending=True)[: self.config.max_boxes]
        return Detections(
            boxes[order].cpu().numpy().astype(np.float32), scores[order].cpu().numpy().astype(np.float32)
        )


@DETECTORS.register(NAME, weights=checkpoint_specs()[NAME].file)
def create_fasterrcnn(
    weights: str | None = None, device: str = "cpu", config: FasterRcnnConfig | None = None
) -> TorchvisionDetector:
    spec = checkpoint_specs()[NAME]
    if weights is None:
        raise ValueError(f"{NAME} needs a weights path (nothing is downloaded); {spec.hint()}")
    from torchvision.models.detection import fasterrcnn_resnet50_fpn

    config = config or FasterRcnnConfig()
    # weights=None and weights_backbone=None: build the architecture only, never fetch anything.
    model = fasterrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, num_classes=91, min_size=config.min_size
    )
    load_into(model, weights, spec)
    return TorchvisionDetector(model.to(device), Provenance.of_file(NAME, weights), config)
