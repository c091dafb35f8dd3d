"""Names shared by every stage: the six distortion types and their spelling in the release layout."""

from __future__ import annotations

# Order matters: it is the order of rows in contact sheets, of manifests and of the model's classes.
DISTORTION_TYPES: tuple[str, ...] = (
    "exposure",
    "noise",
    "blur",
    "contrast",
    "colorfulness",
    "compression",
)
N_LEVELS_PER_TYPE = 20
# The smallest working long side (px) of a rendering: below it the level-1 blur disk shrinks under one
# pixel and renders black (issue 14). The build and `seagull render` both check it.
MIN_WORKING_SIZE = 64

# "without distortion": the label of an ROI whose quality stays above the metric's threshold.
CLEAN = "none"

# The authors' release spells types capitalised: Dist.Images/<Type>/<Type>_<k>/<id>.png
RELEASE_NAMES: dict[str, str] = {name: name.capitalize() for name in DISTORTION_TYPES}


def sample_key(ref_id: str, dist_type: str, level: int) -> str:
    """The WebDataset key of one distorted image: `<ref>_<type>_<level:02d>` (never a dot)."""
    key = f"{ref_id}_{dist_type}_{level:02d}"
    if "." in key:
        raise ValueError(f"sample key {key!r} contains a dot; WebDataset splits keys at dots")
    return key
