"""The one registry helper (pipeline/registry.py) and `seagull list`, parametrised over every registry."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipeline.registry import Registry


def test_duplicates_are_refused_and_a_missing_package_says_what_to_install():
    registry = Registry("thing")
    registry.register("a", weights="a.pth")(lambda: 1)
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        registry.register("a")(lambda: 2)
    registry.register("b", package="no_such_package_xyz")(lambda: 3)
    with pytest.raises(ValueError, match="already registered"):
        registry.register_unavailable("b", "again")
    with pytest.raises(ImportError, match="thing 'b' is not available here: pip install no_such_package_xyz"):
        registry.create("b")
    with pytest.raises(KeyError, match="unknown thing 'c'; available: a"):
        registry.create("c")
    assert registry.names() == ["a"] and registry.create("a") == 1
    assert [(e.name, e.needs()) for e in registry.entries()] == [
        ("a", "weights a.pth"),
        ("b", "weight-free; package no_such_package_xyz; NOT AVAILABLE: pip install no_such_package_xyz"),
    ]


def _registries():
    from seagull.commands.registries import registries

    return registries()


@pytest.mark.parametrize("index", range(5))
def test_every_registry_lists_its_names_and_an_unavailable_one_says_why(index):
    title, option, default, entries = _registries()[index]
    names = [e.name for e in entries]
    assert names == sorted(names) and len(names) == len(set(names)), title
    assert default is None or default in names
    for entry in entries:
        assert not entry.unavailable or "install" in entry.unavailable.lower() or "use " in entry.unavailable


def test_the_build_options_registries_are_the_listed_ones():
    from pipeline import labels, masks

    listed = {title: [e.name for e in entries if not e.unavailable] for title, _, _, entries in _registries()}
    assert listed["segmenters"] == masks.list_segmenters()
    assert listed["detectors"] == masks.list_detectors()
    assert listed["label metrics"] == labels.list_metrics()


def test_seagull_list_prints_every_registry_with_what_each_entry_needs():
    from seagull.cli import main

    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    for heading in ("segmenters (--segmenter; default felzenszwalb_rag)", "detectors", "label metrics"):
        assert heading in result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]  # column widths vary
    assert "sam_vit_b weights sam_vit_b_01ec64.pth; package segment_anything" in lines
    assert "topiq_fr weights cfanet_fr_kadid_res50-2c4cc61d.pth; package pyiqa" in lines
    assert "seem" in result.output and "NOT AVAILABLE" in result.output
    assert "mlp_gelu" in result.output and "tiny" in result.output


def test_the_defaults_are_registered_weight_free_names():
    from pipeline import defaults, labels, masks
    from pipeline.labels.metrics import metric_entries

    assert defaults.SEGMENTER in masks.list_segmenters() and defaults.DETECTOR in masks.list_detectors()
    assert defaults.METRIC in labels.list_metrics()
    entries = {e.name: e for e in masks.SEGMENTERS.entries() + masks.DETECTORS.entries() + metric_entries()}
    assert all(
        entries[name].weights is None for name in (defaults.SEGMENTER, defaults.DETECTOR, defaults.METRIC)
    )
