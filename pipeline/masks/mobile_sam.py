"""`mobile_sam_vit_t`: MobileSAM (TinyViT encoder, SAM's prompt encoder and decoder) from a local file.

Available only when the `mobile_sam` package is importable (it is not on PyPI; users install it
from its repository). Otherwise the name is known but unavailable, and asking for it says what to install.
"""

from __future__ import annotations

from pipeline.masks._checkpoints import checkpoint_specs
from pipeline.masks._registry import SEGMENTERS
from pipeline.masks.sam import SamConfig, SamSegmenter, load_sam  # light: sam.py imports torch lazily

NAME = "mobile_sam_vit_t"


@SEGMENTERS.register(
    NAME,
    weights=checkpoint_specs()[NAME].file,
    package="mobile_sam",
    install="install MobileSAM from https://github.com/ChaoningZhang/MobileSAM (pip install of a pinned "
    "commit) and pass its mobile_sam.pt with --checkpoint",
)
def create_mobile_sam(
    checkpoint: str | None = None, device: str = "cpu", config: SamConfig | None = None
) -> SamSegmenter:
    from mobile_sam import SamPredictor, sam_model_registry

    spec = checkpoint_specs()[NAME]
    return load_sam(
        spec, sam_model_registry["vit_t"], checkpoint, device, predictor_cls=SamPredictor, config=config
    )
