"""ISP presets as data: `isp_presets/reference.yaml` and `isp_presets/distortions.yaml`, validated once.

Both files are checked against `isp_presets/schema.yaml` (JSON Schema). A bad file fails with a
`PresetError` that names the file, the key and the allowed values, e.g.
`distortions.yaml: blur.levels[3].radius: 99 is greater than the maximum of 64 (allowed: 0.5 <= value <= 64)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from isp_presets import PRESETS_DIR
from pipeline.taxonomy import DISTORTION_TYPES

REFERENCE_FILE = "reference.yaml"
DISTORTIONS_FILE = "distortions.yaml"
SCHEMA_FILE = "schema.yaml"


class PresetError(ValueError):
    """An ISP preset file that is missing, not YAML, or does not match the schema."""


@dataclass(frozen=True)
class ReferenceSettings:
    """The camera-default rendering (see isp_presets/reference.yaml for what each setting means)."""

    demosaic: str
    white_balance: str
    tone_curve: str
    exposure_ev: float
    contrast: float
    saturation: float


@dataclass(frozen=True)
class LevelParameter:
    """The parameter a type's levels are known by (isp_presets/distortions.yaml `parameter`).

    Attributes:
        name: its key in each level's mapping (e.g. "ev").
        unit: what its value means (e.g. "EV (stops of gain on linear RGB)").
        neutral: for two-way types, the reference's value; None for one-way types.
        below, above: for two-way types, the direction names of values below / above `neutral`.
    """

    name: str
    unit: str
    neutral: float | None = None
    below: str | None = None
    above: str | None = None

    def direction(self, value: float) -> str | None:
        """The direction of `value` ("under", "over", ...); None for a one-way type."""
        if self.neutral is None:
            return None
        return self.below if value < self.neutral else self.above


@dataclass(frozen=True)
class DistortionPreset:
    """One distortion type: the ISP module it acts in and its 20 levels (level k = levels[k - 1]).

    Attributes:
        dist_type: one of `pipeline.taxonomy.DISTORTION_TYPES`.
        module: the ISP stage that applies it (exposure, mosaic_noise, blur, tone, color, compression).
        ordering: how the 20 levels are ordered (the rule and how it was measured).
        levels: 20 read-only mappings of parameter name -> value.
        parameter: the parameter the levels are known by, with its unit and directions.
    """

    dist_type: str
    module: str
    ordering: str
    levels: tuple[Mapping[str, Any], ...]
    parameter: LevelParameter

    def level(self, k: int) -> Mapping[str, Any]:
        """The parameters of level k (1 = mildest .. 20 = strongest)."""
        if not 1 <= k <= len(self.levels):
            raise ValueError(f"{self.dist_type}: level must be in 1..{len(self.levels)}, got {k}")
        return self.levels[k - 1]

    def describe(self, k: int) -> dict[str, Any]:
        """The ISP parameter that makes level k, as recorded with each distorted sample.

        Returns:
            {"module", "name", "value", "unit", "direction" (None for one-way types), "params" (all of
            the level's parameters, e.g. noise's shot and read)}.
        """
        params = dict(self.level(k))
        value = params[self.parameter.name]
        return {
            "module": self.module,
            "name": self.parameter.name,
            "value": value,
            "unit": self.parameter.unit,
            "direction": self.parameter.direction(value),
            "params": params,
        }


@dataclass(frozen=True)
class ISPPresets:
    """The reference settings and the six distortion presets, in `DISTORTION_TYPES` order."""

    reference: ReferenceSettings
    distortions: Mapping[str, DistortionPreset]
    source: Path


def load_presets(path: Path | str | None = None) -> ISPPresets:
    """Load and validate the presets folder (default: the packaged `isp_presets/`).

    Args:
        path: a folder holding reference.yaml and distortions.yaml (schema.yaml is always the
            packaged one, so a custom folder cannot loosen the rules).

    Raises:
        PresetError: a file is missing, is not valid YAML, or breaks the schema.
    """
    folder = Path(path) if path is not None else PRESETS_DIR
    schema = _read_yaml(PRESETS_DIR / SCHEMA_FILE)
    reference = _validated(folder / REFERENCE_FILE, schema["reference"])
    distortions = _validated(folder / DISTORTIONS_FILE, schema["distortions"])
    presets = {
        name: DistortionPreset(
            dist_type=name,
            module=distortions[name]["module"],
            ordering=" ".join(distortions[name]["ordering"].split()),
            levels=tuple(MappingProxyType(dict(level)) for level in distortions[name]["levels"]),
            parameter=_parameter(folder / DISTORTIONS_FILE, name, distortions[name]),
        )
        for name in DISTORTION_TYPES
    }
    return ISPPresets(ReferenceSettings(**reference), MappingProxyType(presets), folder)


def _parameter(path: Path, dist_type: str, entry: dict[str, Any]) -> LevelParameter:
    parameter = LevelParameter(**entry["parameter"])
    missing = [k + 1 for k, level in enumerate(entry["levels"]) if parameter.name not in level]
    if missing:
        raise PresetError(
            f"{path}: {dist_type}.parameter.name is {parameter.name!r} but level(s) {missing} have no such "
            f"key (allowed: keys {', '.join(sorted(entry['levels'][0]))})"
        )
    return parameter


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise PresetError(
            f"{path}: preset file not found; pass a folder holding {REFERENCE_FILE} and {DISTORTIONS_FILE}"
        )
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PresetError(f"{path}: not valid YAML ({error})") from error


def _validated(path: Path, schema: dict[str, Any]) -> dict[str, Any]:
    data = _read_yaml(path)
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path)
    )
    if errors:
        lines = "\n".join(f"  {_describe(error)}" for error in errors)
        raise PresetError(f"{path}: {len(errors)} problem(s) in the preset file:\n{lines}")
    return data


def _describe(error: jsonschema.ValidationError) -> str:
    """'<key>: <problem> (allowed: <range or names>)' for one schema violation."""
    key = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    ).lstrip(".")
    allowed = _allowed(error)
    return f"{key or '<top level>'}: {error.message}" + (f" (allowed: {allowed})" if allowed else "")


def _allowed(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator in ("minItems", "maxItems"):
        return f"exactly {schema.get('minItems')} levels, level 1 = mildest"
    if error.validator == "dependentRequired":
        return "neutral, below and above together (a two-way type) or none of them (one-way)"
    if error.validator in ("additionalProperties", "required"):
        return "keys " + ", ".join(sorted(schema.get("properties", {})))
    if error.validator in ("enum", "const"):
        return ", ".join(map(str, schema.get("enum", [schema.get("const")])))
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None or high is not None:
        low_op = "<" if "exclusiveMinimum" in schema else "<="
        high_op = "<" if "exclusiveMaximum" in schema else "<="
        return f"{low} {low_op} value {high_op} {high}"
    return str(schema.get("type", ""))
