"""`seem`: the detector of the paper (SEEM, "Segment Everything Everywhere All at Once").

SEEM ships no installable package with a stable API (its repository is run from a checkout, with
top-level modules such as `modeling` and `utils`), so no adapter is included here: the name is
registered as unavailable and asking for it explains the alternatives. An adapter belongs in this
file, registered when an importable `seem` package and its weight file are present.
"""

from __future__ import annotations

from pipeline.masks._registry import DETECTORS

NAME = "seem"

DETECTORS.register_unavailable(
    NAME,
    "SEEM has no installable package here (https://github.com/UX-Decoder/Segment-Everything-Everywhere-"
    "All-At-Once, weights seem_focall_v1.pt); use --detector fasterrcnn_resnet50_fpn with its local "
    "COCO weights, or the weight-free region_proposals",
    weights="seem_focall_v1.pt",
    package="seem",
)
