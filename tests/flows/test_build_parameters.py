"""One definition of the build's parameters: every `BuildConfig` field is a `seagull build` option
and a parameter of the `seagull-100w` flow (the served deployment's schema), with the same default,
shown by name, and help everywhere."""

from __future__ import annotations

from dataclasses import fields

import click
import pytest
from click.testing import CliRunner

from pipeline.build_config import BuildConfig
from seagull.cli import main

# `source` is one flow parameter but three mutually exclusive options on the command line.
SOURCE_OPTIONS = ("--sample", "--raw-dir", "--raise-csv")
NAMES = [f.name for f in fields(BuildConfig)]


@pytest.fixture(scope="module")
def cli() -> tuple[click.Command, click.Context, str]:
    command = main.get_command(click.Context(main), "build")
    help_text = CliRunner().invoke(main, ["build", "--help"], terminal_width=400).output
    return command, click.Context(command), " ".join(help_text.split())


@pytest.fixture(scope="module")
def flow_schema() -> dict:
    from flows.build_100w import build_100w

    return build_100w.parameters.model_dump()["properties"]


def test_every_field_is_a_flow_parameter_with_the_same_default_and_a_description(flow_schema):
    defaults = BuildConfig().to_json()
    assert set(NAMES) <= set(flow_schema)
    for name in NAMES:
        assert flow_schema[name]["default"] == defaults[name], name
        assert flow_schema[name].get("description"), name


@pytest.mark.parametrize("name", [n for n in NAMES if n != "source"])
def test_every_field_is_an_option_whose_help_shows_the_default_by_name(cli, name):
    command, ctx, help_text = cli
    flag = "--" + name.replace("_", "-")
    option = next(p for p in command.params if flag in p.opts)
    opts, text = option.get_help_record(ctx)
    assert flag in help_text
    default = BuildConfig().to_json()[name]
    if default is not None:
        assert option.default is not None
        shown = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        assert f"[default: {shown}]" in text or f"[default: {shown};" in text, text  # "; x>=1": a range
    else:
        assert option.default is None
        assert "[default: " in text, text  # named in words: "all six", "<out>/_work", ...


def test_the_source_is_the_three_source_options(cli, flow_schema):
    command, _, help_text = cli
    for flag in SOURCE_OPTIONS:
        assert flag in help_text
    assert flow_schema["source"]["default"] == BuildConfig().source == "sample:8"


def _all_options() -> list[tuple[str, click.Option]]:
    options = []
    for name in main.list_commands(click.Context(main)):
        command = main.get_command(click.Context(main), name)
        commands = command.commands.values() if isinstance(command, click.Group) else [command]
        for sub in commands:
            options += [
                (f"{name} {sub.name} {p.opts[0]}", p) for p in sub.params if isinstance(p, click.Option)
            ]
    return options


def test_every_option_of_every_command_has_help():
    assert [where for where, option in _all_options() if not option.hidden and not option.help] == []


def test_every_option_with_a_default_shows_it():
    unshown = [
        where
        for where, option in _all_options()
        if not option.is_flag
        and option.default is not None
        and option.default is not getattr(click.core, "UNSET", None)
        and not option.show_default
    ]
    assert unshown == []


def test_flow_defaults_resolve_to_the_registries_default_names():
    from pipeline import labels, masks

    config = BuildConfig()
    assert (config.segmenter, config.detector, config.metric) == (
        masks.DEFAULT_SEGMENTER,
        masks.DEFAULT_DETECTOR,
        labels.DEFAULT_METRIC,
    )
    # None (what older callers and build plans wrote) means the same default.
    assert BuildConfig(segmenter=None, detector=None, metric=None) == config


def test_ranges_are_checked_by_the_flow_schema_and_the_config(flow_schema):
    assert flow_schema["chunk_size"]["minimum"] == 1
    assert any(choice.get("minimum") == 64 for choice in flow_schema["size"]["anyOf"])
    with pytest.raises(ValueError, match="device"):
        BuildConfig(device="gpu9")
