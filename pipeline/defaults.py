"""The registries' defaults: weight-free components (no download, no weight file), what `make shards`
and a build without weight files use. Names only, so that `seagull build --help` can show them without
importing the registries (numpy, jsonschema, …); tests/core/test_registry.py checks they are registered.
"""

SEGMENTER = "felzenszwalb_rag"  # pipeline/masks/felzenszwalb_rag.py
DETECTOR = "region_proposals"  # pipeline/masks/region_proposals.py
NO_DETECTOR = "none"  # the detector word that asks for component-level ROIs only (any case)
# The lower of GMSD on RGB (structure) and a CIELAB ΔE*ab term (colour), chosen by the measured table
# of docs/labels.md (issue 13: gradients alone left greyscale ROIs "without distortion").
METRIC = "gmsd_rgb_delta_e"  # pipeline/labels/metrics.yaml
