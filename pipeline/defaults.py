"""The registries' defaults: weight-free components (no download, no weight file), what `make shards`
and a build without weight files use. Names only, so that `seagull build --help` can show them without
importing the registries (numpy, jsonschema, …); tests/core/test_registry.py checks they are registered.
"""

SEGMENTER = "felzenszwalb_rag"  # pipeline/masks/felzenszwalb_rag.py
DETECTOR = "region_proposals"  # pipeline/masks/region_proposals.py
# Fast enough for the budget. It does not yet meet issue 13 on every type (colourfulness and blur at
# level 20, clean ROIs' importance): docs/labels.md has the measured table of candidates and their cost.
METRIC = "gmsd_rgb"  # pipeline/labels/metrics.yaml
