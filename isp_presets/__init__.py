"""ISP presets as data: the reference settings and the 6 x 20 distortion levels (YAML files)."""

from pathlib import Path

PRESETS_DIR = Path(__file__).resolve().parent
