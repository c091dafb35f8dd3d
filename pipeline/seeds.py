"""Every deterministic seed of the build, in one place: the same inputs give the same bytes.

Two derivations, both kept as they were so that existing builds resume and match byte for byte:

- `reference_seed(seed, ref_id)`: one integer per reference, from sha256 of "seed:ref_id". It seeds the
  masks stage's random point prompts, in the build and in `seagull masks` alike.
- `variant_rng(seed, ref_id, dist_type, level)`: one numpy generator per distorted image, seeded by
  (seed, crc32 of the id, type index, level). It drives the render stage's random parts (noise), so a
  variant is the same whichever subset of types and levels is rendered.

Neither depends on the chunk, the worker or the order a reference is processed in.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

from pipeline.taxonomy import DISTORTION_TYPES


def reference_seed(seed: int, ref_id: str) -> int:
    """A per-reference seed (0 .. 2**31-1) that depends on the base seed and the id only."""
    digest = hashlib.sha256(f"{seed}:{ref_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def variant_rng(seed: int, ref_id: str, dist_type: str, level: int) -> np.random.Generator:
    """The generator of one variant: independent of which other variants are rendered."""
    return np.random.default_rng(
        [seed, zlib.crc32(ref_id.encode()), DISTORTION_TYPES.index(dist_type), level]
    )
