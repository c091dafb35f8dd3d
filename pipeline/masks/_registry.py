"""The masks stage's registries; the helper itself (`Registry`, `Entry`) is `pipeline.registry`."""

from __future__ import annotations

from pipeline.registry import Entry, Registry

SEGMENTERS = Registry("segmenter")
DETECTORS = Registry("detector")

__all__ = ["DETECTORS", "SEGMENTERS", "Entry", "Registry"]
