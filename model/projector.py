"""Projectors from image features to the LLM width, built from a spec string (LLaVA style).

Example:
    >>> create_projector("mlp2x_gelu", 768, 4096)
    Sequential(...)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from torch import nn

from pipeline.registry import Registry

ProjectorBuilder = Callable[[re.Match[str], int, int], nn.Module]
PROJECTORS = Registry("projector")
_PATTERNS: dict[str, re.Pattern[str]] = {}  # name -> the specs it builds (a full-match regex)


def register_projector(name: str, pattern: str) -> Callable[[ProjectorBuilder], ProjectorBuilder]:
    """Register a builder for specs matching `pattern` (a full-match regex)."""

    def wrap(builder: ProjectorBuilder) -> ProjectorBuilder:
        PROJECTORS.register(name)(builder)  # raises on a duplicate name
        _PATTERNS[name] = re.compile(pattern)
        return builder

    return wrap


def list_projectors() -> list[str]:
    return PROJECTORS.names()


def create_projector(spec: str, in_dim: int, out_dim: int) -> nn.Module:
    """A projector (…, in_dim) -> (…, out_dim) from a spec: 'linear', 'identity', 'mlp<N>x_gelu'."""
    for name, pattern in _PATTERNS.items():
        match = pattern.fullmatch(spec)
        if match:
            return PROJECTORS.create(name, match=match, in_dim=in_dim, out_dim=out_dim)
    raise ValueError(f"unknown projector spec {spec!r}: registered {list_projectors()} (e.g. 'mlp2x_gelu')")


@register_projector("linear", r"linear")
def _linear(match: re.Match[str], in_dim: int, out_dim: int) -> nn.Module:
    return nn.Linear(in_dim, out_dim)


@register_projector("identity", r"identity")
def _identity(match: re.Match[str], in_dim: int, out_dim: int) -> nn.Module:
    if in_dim != out_dim:
        raise ValueError(f"identity projector needs in_dim == out_dim, got {in_dim} and {out_dim}")
    return nn.Identity()


@register_projector("mlp_gelu", r"mlp(\d+)x_gelu")
def _mlp_gelu(match: re.Match[str], in_dim: int, out_dim: int) -> nn.Module:
    depth = int(match.group(1))
    layers: list[nn.Module] = [nn.Linear(in_dim, out_dim)]
    for _ in range(depth - 1):
        layers += [nn.GELU(), nn.Linear(out_dim, out_dim)]
    return nn.Sequential(*layers)
