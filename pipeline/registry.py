"""The one registry helper: name -> factory, in the spirit of timm's `create_model` / pyiqa's
`create_metric`. Segmenters and detectors (`pipeline.masks`), label-metric builders
(`pipeline.labels.metrics`) and projectors (`model.projector`) each hold one `Registry`.

    SEGMENTERS = Registry("segmenter")

    @SEGMENTERS.register("sam_vit_b", weights="sam_vit_b_01ec64.pth", package="segment_anything")
    def create_sam_vit_b(checkpoint=None, device="cpu"): ...

    SEGMENTERS.create("sam_vit_b", checkpoint="weights/sam_vit_b_01ec64.pth")
    SEGMENTERS.names()      # what `create` accepts here
    SEGMENTERS.entries()    # every known name with what it needs (`seagull list`)

A name whose package is missing is *unavailable*: it is listed by `entries()` but not `names()`, and
`create` raises an ImportError that says what to install instead of a bare "unknown name". Two
registrations of one name are an error, so that two modules cannot shadow each other. Standard library
only: listing names must stay cheap (`seagull build` checks its options with it before anything runs).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One registered name and what it needs.

    Attributes:
        name: the registry name.
        weights: the weight file it loads (its published name), or None when weight-free.
        package: the import name of the optional package it needs beyond the base install, or None.
        unavailable: why it cannot be created here ("install …"), or None when it can.
    """

    name: str
    weights: str | None = None
    package: str | None = None
    unavailable: str | None = None

    def needs(self) -> str:
        """What the entry needs, in words (a line of `seagull list`)."""
        parts = [f"weights {self.weights}" if self.weights else "weight-free"]
        if self.package:
            parts.append(f"package {self.package}")
        if self.unavailable:
            parts.append(f"NOT AVAILABLE: {self.unavailable}")
        return "; ".join(parts)


class Registry:
    """Factories by name, with what each needs; see the module docstring."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "segmenter", "detector", ...: used in error messages
        self._factories: dict[str, Callable[..., Any]] = {}
        self._entries: dict[str, Entry] = {}

    def register(
        self, name: str, *, weights: str | None = None, package: str | None = None, install: str | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register a factory under `name`.

        Args:
            weights: the weight file the factory loads (for `seagull list`).
            package: an optional package the factory imports; when it is not installed the name is
                registered unavailable, with `install` (default: "pip install <package>") as the fix.
        """

        def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
            if package and importlib.util.find_spec(package) is None:
                self.register_unavailable(name, install or f"pip install {package}", weights, package)
            else:
                self._add(Entry(name, weights, package))
                self._factories[name] = factory
            return factory

        return decorator

    def register_unavailable(
        self, name: str, install: str, weights: str | None = None, package: str | None = None
    ) -> None:
        """Record a known name that cannot be built here; `create(name)` raises with `install`."""
        self._add(Entry(name, weights, package, unavailable=install))

    def create(self, name: str, **kwargs: Any) -> Any:
        """Build `name` with the factory's keyword arguments.

        Raises:
            ImportError: the name is known but its package is missing (the message says what to install).
            KeyError: the name is unknown (the message lists the names available).
        """
        entry = self._entries.get(name)
        if entry is not None and entry.unavailable:
            raise ImportError(f"{self.kind} {name!r} is not available here: {entry.unavailable}")
        if name not in self._factories:
            raise KeyError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._factories[name](**kwargs)

    def names(self) -> list[str]:
        """Names `create` accepts here (unavailable ones left out), sorted."""
        return sorted(self._factories)

    def entries(self) -> list[Entry]:
        """Every known name, unavailable ones included, sorted by name."""
        return [self._entries[name] for name in sorted(self._entries)]

    def _add(self, entry: Entry) -> None:
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is already registered")
        self._entries[entry.name] = entry
