"""A small name -> factory registry, in the spirit of timm's `create_model` / pyiqa's `create_metric`.

A name can also be registered as *unavailable* (its optional package is not installed): it is then
left out of `names()`, and `create` raises an error that says what to install instead of a bare
"unknown name".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Registry:
    """Factories by name; duplicates are an error so that two modules cannot shadow each other."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "segmenter" / "detector": used in error messages
        self._factories: dict[str, Callable[..., Any]] = {}
        self._unavailable: dict[str, str] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register `factory` under `name`."""

        def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
            self._check_new(name)
            self._factories[name] = factory
            return factory

        return decorator

    def register_unavailable(self, name: str, reason: str) -> None:
        """Record a known name whose package is missing; `create(name)` raises with `reason`."""
        self._check_new(name)
        self._unavailable[name] = reason

    def create(self, name: str, **kwargs: Any) -> Any:
        if name in self._unavailable:
            raise ImportError(f"{self.kind} {name!r} is not available here: {self._unavailable[name]}")
        if name not in self._factories:
            raise KeyError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._factories[name](**kwargs)

    def names(self) -> list[str]:
        """Registered names whose packages are installed, sorted."""
        return sorted(self._factories)

    def _check_new(self, name: str) -> None:
        if name in self._factories or name in self._unavailable:
            raise ValueError(f"{self.kind} {name!r} is already registered")


SEGMENTERS = Registry("segmenter")
DETECTORS = Registry("detector")
