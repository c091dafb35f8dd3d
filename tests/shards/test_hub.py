"""What the Hugging Face Hub and `datasets` see in a shard folder: the card's YAML front matter,
`load_dataset(folder)` yielding the samples, and sample fields whose types do not change between builds."""

from __future__ import annotations

import json

import pytest
import yaml

from pipeline.shards import finalize
from pipeline.shards.card import front_matter
from pipeline.shards.format import stable_provenance


def card_metadata(folder) -> dict:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n"), "the card must open with YAML front matter"
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_card_front_matter_has_the_hub_keys(built):
    meta = card_metadata(built)
    assert meta["license"] == "other" and "RAISE" in meta["license_name"].upper()
    assert meta["license_link"].startswith("http")
    assert "image-text-to-text" in meta["task_categories"]
    assert meta["size_categories"] == ["n<1K"]  # 21 samples
    # one config: `datasets` infers a single builder for all configs of a folder, so a parquet config
    # beside the tars would be read as tars
    assert meta["configs"] == [
        {"config_name": "default", "default": True, "data_files": [{"split": "train", "path": "*.tar"}]}
    ]
    # the card as before follows the front matter
    assert "\n# SEAGULL-100w\n" in (built / "README.md").read_text()


@pytest.mark.parametrize(
    ("count", "category"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (978_720 + 8_156, "100K<n<1M")]
)
def test_size_category(count, category):
    assert front_matter(count)["size_categories"] == [category]


def test_load_dataset_yields_the_samples(built, tmp_path):
    datasets = pytest.importorskip("datasets")
    (built / "build_report.json").write_text("{}")  # a build leaves JSON besides the shards
    try:
        loaded = datasets.load_dataset(str(built), split="train", cache_dir=str(tmp_path / "cache"))
    finally:
        (built / "build_report.json").unlink()
    assert len(loaded) == 3 + 18  # references + distorted images, nothing else
    first = loaded[0]
    assert first["__key__"] == "ref-a_ref" and first["png"].size == (56, 40)
    assert first["json"]["dist_type"] == "reference"
    manifest = datasets.load_dataset(  # as the card shows
        "parquet", data_files=str(built / "manifest.parquet"), split="train", cache_dir=str(tmp_path / "c2")
    )
    assert len(manifest) == 2 * 6 * 3 + 6 * 1


def _nulls(value, path="") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _nulls(item, f"{path}.{key}")]
    return []


def test_provenance_has_no_null_typed_fields():
    without = {
        "segmenter": "boxes",
        "detector": None,
        "metric": "topiq_fr",
        "weights": {"segmenter": None, "detector": None, "metric": {"file": "random", "sha256": None}},
    }
    with_weights = dict(
        without, detector="yolo", weights={"segmenter": {"file": "sam.pth", "sha256": "ab"}, "detector": None}
    )
    stable = stable_provenance(without)
    assert _nulls(stable) == [] and _nulls(stable_provenance(with_weights)) == []
    assert stable["weights"]["metric"] == {"file": "random", "sha256": ""}
    assert stable["weights"]["segmenter"] == {"file": "", "sha256": ""} and stable["detector"] == ""
    assert stable_provenance(with_weights)["weights"]["detector"] == {"file": "", "sha256": ""}


def test_two_builds_with_and_without_weights_have_one_schema(tmp_path, group_factory, build_chunks):
    datasets = pytest.importorskip("datasets")
    features = []
    for name, weights in (("none", None), ("some", {"file": "topiq.pth", "sha256": "ab12"})):
        group = group_factory("ref-a", 1)
        provenance = dict(group.provenance, weights={"segmenter": None, "detector": None, "metric": weights})
        out = tmp_path / name
        build_chunks(out, [[type(group)(**{**group.__dict__, "provenance": provenance})]])
        finalize(out)
        loaded = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / f"cache-{name}"))
        features.append(loaded.features["json"]["provenance"])
        assert (
            json.dumps(loaded[1]["json"]["provenance"]["weights"]["segmenter"])
            == '{"file": "", "sha256": ""}'
        )
    assert features[0] == features[1]
