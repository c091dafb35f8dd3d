"""The declared types of a SEAGULL-100w sample, for readers that would otherwise guess them.

Hugging Face `datasets` infers a folder's schema from the first 5 samples of its first tar. Those are
a reference and 4 variants of one image: when all their ROIs are clean, `severity`,
`severity_level` and `distortions` are inferred as the `null` type and the first distorted ROI
fails the build of the dataset ("Couldn't cast ... to null"); `isp.params` is inferred with the
first type's parameter only, so later types' parameters (noise's `shot`, `read` ...) are silently
dropped; and two builds infer different schemas. The dataset card therefore declares the types
(`dataset_info: features:` in its YAML front matter, `hub_features`), which `load_dataset(folder)`
uses instead of inferring; `null` keeps its meaning ("no severity": a clean ROI) in a typed column.

The writer checks every sample against `SAMPLE_JSON` (`undeclared_fields`), so a new field cannot
reach a shard without its type here (an undeclared field would be dropped by `datasets` unseen).
Types are the `datasets` dtype names; a dict is a struct, a one-element list a list of its element.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

STRING, FLOAT, INT, BOOL, IMAGE = "string", "float64", "int64", "bool", "image"

# The ISP parameter names of the presets (isp_presets/schema.yaml allows no others); a test keeps
# this equal to the union over the packaged presets. Every one is a float (JPEG quality too).
ISP_PARAMETERS = ("ev", "shot", "read", "radius", "contrast", "saturation", "quality")
WEIGHT = {"file": STRING, "sha256": STRING}
INSTRUCTION = {"kind": STRING, "task": STRING, "question": STRING, "answer": STRING}
ROI_FIELDS = {
    # pipeline.records.ROI
    "roi_id": INT,
    "kind": STRING,
    "rle": {"size": [INT], "counts": STRING},
    "bbox": [INT],
    "area": INT,
    "score": FLOAT,
    "segmenter": STRING,
    # pipeline.labels.labelling.ROILabel (absent on reference samples and builds without labels;
    # severity and severity_level are null for a clean ROI)
    "quality": FLOAT,
    "quality_level": STRING,
    "importance": FLOAT,
    "importance_level": STRING,
    "distortion": STRING,
    "severity": FLOAT,
    "severity_level": STRING,
    "metric": STRING,
    "distortions": [{"type": STRING, "severity": FLOAT, "severity_level": STRING}],
    "quality_raw": FLOAT,
    "importance_drop": FLOAT,
    "instructions": [INSTRUCTION],
}
PROVENANCE = {
    "preset_hash": STRING,
    "segmenter": STRING,
    "detector": STRING,
    "metric": STRING,
    "weights": {"segmenter": WEIGHT, "detector": WEIGHT, "metric": WEIGHT},
    "code_version": STRING,
    "seed": INT,
    "size": INT,
    "raw_file": STRING,
}
ISP = {
    "module": STRING,
    "name": STRING,
    "value": FLOAT,
    "unit": STRING,
    "direction": STRING,  # null for one-way types
    "params": dict.fromkeys(ISP_PARAMETERS, FLOAT),
}
SAMPLE_JSON = {
    "key": STRING,
    "ref_id": STRING,
    "dist_type": STRING,
    "level": INT,
    "height": INT,
    "width": INT,
    "reference_key": STRING,
    "split": STRING,
    "format_version": INT,
    "provenance": PROVENANCE,
    "isp": ISP,  # null on reference samples
    "rois": [ROI_FIELDS],
}
# One webdataset sample as `datasets` reads it: the members by extension, then its key and tar.
SAMPLE_FEATURES = {"json": SAMPLE_JSON, "png": IMAGE, "__key__": STRING, "__url__": STRING}


def hub_features(spec: Mapping[str, Any] = SAMPLE_FEATURES) -> list[dict[str, Any]]:
    """`spec` in the Hub card's `dataset_info: features:` notation (what `datasets` reads back)."""
    return [_feature(name, value) for name, value in spec.items()]


def _feature(name: str, spec: Any) -> dict[str, Any]:
    if isinstance(spec, str):
        return {"name": name, "dtype": spec}
    if isinstance(spec, Mapping):
        return {"name": name, "struct": hub_features(spec)}
    (element,) = spec
    inner = _feature(name, element)
    return {"name": name, "list": inner.get("dtype", inner.get("struct"))}


def require_declared(
    record: Mapping[str, Any],
    spec: Mapping[str, Any] = SAMPLE_JSON,
    declared_in: str = "SAMPLE_JSON (pipeline/shards/features.py)",
) -> None:
    """Raise ValueError naming the sample and its fields that `spec` (defined in `declared_in`) does not
    declare: `datasets` would drop such a field unseen, or fail on a changed type."""
    problems = undeclared_fields(record, spec)
    if problems:
        raise ValueError(
            f"{record.get('key')}: sample fields without a declared type: {', '.join(problems[:5])}; "
            f"declare them in {declared_in}, whose types the dataset card publishes"
        )


def undeclared_fields(record: Mapping[str, Any], spec: Mapping[str, Any] = SAMPLE_JSON) -> list[str]:
    """Paths (e.g. `rois[].foo`) of the values of `record` that `spec` does not declare, or declares
    with another type; null is allowed everywhere. Empty when the record conforms."""
    if _conforms(record, spec):  # the writer's every-sample path: no paths built
        return []
    return _struct_problems(record, spec, "")


# Exact Python types of conforming JSON values; the numbers ABCs (numpy scalars) are the slow path.
_EXACT = {STRING: (str,), INT: (int,), FLOAT: (float, int), BOOL: (bool,)}


def _conforms(value: Any, spec: Any) -> bool:
    """Whether `value` conforms to `spec` (undeclared_fields without the paths, leaves inlined: the
    writer checks every ROI of every sample)."""
    if value is None:
        return True
    if isinstance(spec, str):
        return type(value) in _EXACT.get(spec, ()) or _is_a(value, spec)
    if isinstance(spec, dict):
        if not isinstance(value, Mapping):
            return False
        for name, item in value.items():
            kind = spec.get(name)
            if kind is None:
                return False
            if item is None or (type(kind) is str and type(item) in _EXACT[kind]):
                continue
            if not _conforms(item, kind):
                return False
        return True
    return isinstance(value, list | tuple) and all(_conforms(item, spec[0]) for item in value)


def _struct_problems(record: Mapping[str, Any], spec: Mapping[str, Any], path: str) -> list[str]:
    problems = []
    for name, value in record.items():
        where = f"{path}.{name}" if path else name
        if name not in spec:
            problems.append(f"{where} (not declared)")
        else:
            problems += _value_problems(value, spec[name], where)
    return problems


def _value_problems(value: Any, spec: Any, path: str) -> list[str]:
    if value is None:
        return []
    if isinstance(spec, Mapping):
        if isinstance(value, Mapping):
            return _struct_problems(value, spec, path)
        return [f"{path} (a {type(value).__name__}, declared an object)"]
    if isinstance(spec, list):
        if isinstance(value, list | tuple):
            return list(
                dict.fromkeys(p for item in value for p in _value_problems(item, spec[0], f"{path}[]"))
            )
        return [f"{path} (a {type(value).__name__}, declared a list)"]
    if _is_a(value, spec):
        return []
    return [f"{path} (a {type(value).__name__}, declared {spec})"]


def _is_a(value: Any, dtype: str) -> bool:
    if isinstance(value, bool):  # a bool is an Integral: it is only ever a declared bool
        return dtype == BOOL
    if dtype == STRING:
        return isinstance(value, str)
    if dtype == INT:
        return isinstance(value, Integral)
    return dtype == FLOAT and isinstance(value, Real)
