"""The options of `seagull build`, derived from `BuildConfig` (pipeline/build_config.py).

Names, defaults, ranges and help come from the config's fields; this module only says how each kind
of field is typed on a command line (comma lists, `full` for the full resolution, paths).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import click

from pipeline.build_config import Parameter, build_parameters


def _csv(kind: type) -> click.ParamType:
    class CommaList(click.ParamType):
        name = f"{kind.__name__},..."

        def convert(self, value, param, ctx):
            if isinstance(value, list | tuple):
                return list(value)
            try:
                return [kind(v.strip()) for v in value.split(",") if v.strip()]
            except ValueError:
                self.fail(f"{value!r} is not a comma-separated list of {kind.__name__}", param, ctx)

    return CommaList()


class IntOrWord(click.ParamType):
    """An integer >= `minimum`, or `word` (None): the working size's `full`."""

    def __init__(self, minimum: int, word: str) -> None:
        self.minimum, self.word = minimum, word
        self.name = f"PX|{word}"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() == self.word:
            return None
        if not str(value).strip().isdigit() or int(value) < self.minimum:
            self.fail(
                f"{value!r}: give the long side in pixels (>= {self.minimum}) or '{self.word}'", param, ctx
            )
        return int(value)


def _value_type(annotation: Any) -> Any:
    """`int | None` -> int; `tuple[int, ...] | None` -> tuple[int, ...]."""
    if isinstance(annotation, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def click_type(parameter: Parameter) -> click.ParamType | type:
    """How a command line spells a value of `parameter`."""
    kind = _value_type(parameter.annotation)
    if parameter.none_word:
        return IntOrWord(parameter.minimum or 0, parameter.none_word)
    if parameter.path == "file":
        return click.Path(dir_okay=False, exists=True)
    if parameter.path == "dir":
        return click.Path(file_okay=False)
    if typing.get_origin(kind) is tuple:
        return _csv(typing.get_args(kind)[0])  # items' ranges: BuildConfig checks them
    if kind is int and (parameter.minimum is not None or parameter.maximum is not None):
        return click.IntRange(parameter.minimum, parameter.maximum)
    return kind


def config_option(parameter: Parameter) -> Callable:
    """The `--name` option of one build parameter; its help shows the default by name."""
    default = parameter.default
    if isinstance(default, tuple):
        default = list(default)
    shown = parameter.unset if default is None else True  # click shows a string default in parentheses
    return click.option(
        "--" + parameter.name.replace("_", "-"),
        parameter.name,
        type=click_type(parameter),
        default=default,
        show_default=shown,
        help=parameter.help,
    )


def config_options(command: Callable) -> Callable:
    """Every build parameter but `source` (--sample / --raw-dir / --raise-csv), in the config's order."""
    for parameter in reversed(build_parameters()):
        if parameter.name != "source":
            command = config_option(parameter)(command)
    return command
