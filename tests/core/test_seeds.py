"""`pipeline.seeds`: the seeds of every stage, pinned to the values existing builds were made with (a
changed derivation would change every shard, and finished chunks would no longer match)."""

from __future__ import annotations

from pipeline.seeds import reference_seed, variant_rng


def test_reference_seed_is_pinned_and_depends_on_seed_and_id_only():
    assert reference_seed(0, "astronaut") == 1920048465
    assert reference_seed(3, "r0a1b2c") == 2076131127
    assert len({reference_seed(0, "a"), reference_seed(1, "a"), reference_seed(0, "b")}) == 3


def test_variant_rng_is_pinned_and_independent_of_other_variants():
    assert variant_rng(0, "astronaut", "noise", 20).integers(0, 2**31, 3).tolist() == [
        1783819146,
        108807058,
        622632615,
    ]
    first = variant_rng(0, "a", "noise", 1).random()
    assert variant_rng(0, "a", "noise", 1).random() == first != variant_rng(0, "a", "noise", 2).random()
