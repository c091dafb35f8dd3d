"""Label fidelity as properties of a small build (issue 13).

The small build: the first 4 references of the embedded sample, decoded at 512 px (the build's default
is 1,024; half the side keeps this test to minutes on 2 cores), rendered by the build's presets at
levels 1, 10 and 20 of all six types, the build's weight-free masks (at most 8 ROIs per reference,
spread over its ROI list) and the default metric. On it:
1. every type: >= 95 % of level-20 labels carry the distortion; mean quality falls with level;
2. >= 90 % of clean labels are unimportant or minor; in every type damaged ROIs (quality <= 0.5)
   average >= 0.2 more importance than clean ones;
3. a clean label has no severity and an empty `distortions` list; a damaged one mirrors its entry;
4. every label carries the raw metric score and the raw importance drop;
5. `worst` fitted on 2 references labels the other 2 within 5 points of every word share of the
   `worst` fitted on those 2 themselves (the constant transfers); how far the two halves' shares are
   apart (their content differs) is reported, not asserted: the full property (within 5 points
   between the halves) is stated on the `make shards` build, 4 + 4 references, by its card's
   between-halves check (docs/labels.md).
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.labels import DEFAULT_METRIC, create_metric, label_reference
from pipeline.labels.calibrate import TRANSFER_TOLERANCE_PP, halves, report
from pipeline.labels.fidelity import label_fidelity
from pipeline.taxonomy import CLEAN, DISTORTION_TYPES

pytestmark = pytest.mark.slow

N_REFS, SIZE, LEVELS, MAX_ROIS = 4, 512, (1, 10, 20), 8


@pytest.fixture(scope="module")
def small_build(sample_raw_dir):
    """{ref_id: (reference, rois, variants)} made by the build's own stages."""
    from pipeline import masks
    from pipeline.decode import decode_raw
    from pipeline.presets import load_presets
    from pipeline.render import render_reference, render_variants

    presets = load_presets()
    segmenter = masks.create_segmenter(masks.DEFAULT_SEGMENTER)
    detector = masks.create_detector(masks.DEFAULT_DETECTOR) if masks.DEFAULT_DETECTOR else None
    build = {}
    for path in sorted(sample_raw_dir.glob("*.dng"))[:N_REFS]:
        decoded = decode_raw(path, size=SIZE)
        reference = render_reference(decoded, presets)
        rois = masks.compute_rois(reference, segmenter, detector, masks.MaskConfig(seed=0))
        step = max(1, len(rois) // MAX_ROIS)
        variants = list(render_variants(decoded, presets, levels=LEVELS))
        build[path.stem] = (reference, rois[::step][:MAX_ROIS], variants)
    return build


@pytest.fixture(scope="module")
def records(small_build):
    metric = create_metric(DEFAULT_METRIC)
    return [
        {"ref_id": ref_id, **label.to_json()}
        for ref_id, (reference, rois, variants) in small_build.items()
        for label in label_reference(reference, rois, variants, metric)
    ]


@pytest.fixture(scope="module")
def fidelity(records):
    return label_fidelity(pd.DataFrame(records))


@pytest.mark.parametrize("dist_type", DISTORTION_TYPES)
def test_default_metric_sees_every_type(fidelity, dist_type):
    row = fidelity["per_type"][dist_type]
    assert row["level20_distorted_pct"] >= 95.0, row
    assert row["spearman"] <= -0.95, row


def test_clean_rois_are_unimportant(fidelity):
    assert fidelity["clean_labels"] > 50
    assert fidelity["clean_unimportant_or_minor_pct"] >= 90.0, fidelity


@pytest.mark.parametrize("dist_type", DISTORTION_TYPES)
def test_damaged_rois_matter_more_than_clean_ones(fidelity, dist_type):
    assert fidelity["per_type"][dist_type]["importance_gap"] >= 0.2, fidelity["per_type"][dist_type]


def test_severity_and_distortions_only_where_present_and_raw_values_kept(records):
    for record in records:
        assert record["quality_raw"] is not None and record["importance_drop"] is not None
        if record["distortion"] == CLEAN:
            assert record["severity"] is None and record["severity_level"] is None
            assert record["distortions"] == []
        else:
            assert record["distortions"] == [
                {
                    "type": record["dist_type"],
                    "severity": record["severity"],
                    "severity_level": record["severity_level"],
                }
            ]


def test_calibration_fitted_on_half_transfers_to_the_other_half(small_build, fidelity):
    metric = create_metric(DEFAULT_METRIC)
    fit_ids, check_ids = halves(list(small_build))
    result = report(small_build.__getitem__, fit_ids, check_ids, metric)
    assert result["transfer_pp"] <= TRANSFER_TOLERANCE_PP, result["word_shares_pct"]
    assert result["transfers"]
    # The card's between-halves check (every build) splits the references as the calibration does;
    # on these 2 + 2 references it is reported, not asserted (docs/labels.md: content differs).
    card = fidelity["between_halves"]
    assert (card["fit_references"], card["check_references"]) == (fit_ids, check_ids)
    assert card["largest_difference_pp"] >= 0.0
