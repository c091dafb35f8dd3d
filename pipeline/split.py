"""The train/test split by reference image, shared by SEAGULL-100w and SEAGULL-3k.

The paper splits 80/20 by image with no image in both sets. The split of an image is a pure function of
its reference id (a hash), so it is stable across builds, chunkings, machines and dataset sizes: adding
images never moves an existing image from one split to the other.
"""

from __future__ import annotations

import hashlib

SPLITS: tuple[str, ...] = ("train", "test")
DEFAULT_TEST_FRACTION = 0.2  # the paper's 80/20 split by image


def split_of(ref_id: str, test_fraction: float = DEFAULT_TEST_FRACTION) -> str:
    """ "train" or "test" for one reference image, from a sha256 of its id.

    Args:
        ref_id: the reference id (RAW or image stem as the build spells it).
        test_fraction: share of images in the test split, in [0, 1].
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    digest = hashlib.sha256(ref_id.encode("utf-8")).digest()
    # The first 8 bytes as a uniform number in [0, 1).
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if position < test_fraction else "train"
