"""The `seagull-100w` flow's parameters, derived from `BuildConfig` (pipeline/build_config.py).

A deployment run passes the build's parameters one by one (`prefect deployment run … --param
source=sample:8 --param out=shards`), so the flow keeps one parameter per config field rather than a
single `config` object (a pydantic model parameter would nest them all under `config`). Prefect reads a
flow's parameters from its signature: `takes_build_config` gives the flow function a signature made of
the config's fields, each with its type and range (validated by Prefect before the flow starts) and its
help as the description the Prefect UI shows.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from pipeline.build_config import Parameter, build_parameters


def describe(parameter: Parameter) -> str:
    """The help, and what an empty (null) value means."""
    unset = parameter.unset or (f"{parameter.none_word} resolution" if parameter.none_word else None)
    return f"{parameter.help} Empty: {unset}." if unset else parameter.help


def schema_type(parameter: Parameter) -> Any:
    """The field's type with its range, choices or pattern, for Prefect's validation and schema."""
    annotation = parameter.annotation
    optional = isinstance(annotation, types.UnionType)
    kind = next(a for a in typing.get_args(annotation) if a is not type(None)) if optional else annotation
    item = typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else kind
    if parameter.choices:
        item = Literal[tuple(parameter.choices)]
    elif parameter.minimum is not None or parameter.maximum is not None:
        item = Annotated[item, Field(ge=parameter.minimum, le=parameter.maximum)]
    elif parameter.pattern:
        item = Annotated[item, Field(pattern=f"^(?:{parameter.pattern})$")]
    kind = tuple[item, ...] if typing.get_origin(kind) is tuple else item
    return kind | None if optional else kind


def flow_parameter(parameter: Parameter) -> inspect.Parameter:
    default = parameter.default
    return inspect.Parameter(
        parameter.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=Field(
            list(default) if isinstance(default, tuple) else default, description=describe(parameter)
        ),
        annotation=schema_type(parameter),
    )


def takes_build_config(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give `fn(*, <own parameters>, **parameters)` the build's parameters: the BuildConfig fields
    (keyword-only, in the config's order), then `fn`'s own named parameters (e.g. `workers`)."""
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(fn, eval_str=True).parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    derived = [flow_parameter(p) for p in build_parameters()]
    returns = inspect.signature(fn, eval_str=True).return_annotation
    fn.__signature__ = inspect.Signature(derived + own, return_annotation=returns)
    return fn
