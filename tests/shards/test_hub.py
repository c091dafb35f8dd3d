"""What the Hugging Face Hub and `datasets` see in a shard folder: the card's YAML front matter,
`load_dataset(folder)` yielding the samples, and sample fields whose types do not change between builds."""

from __future__ import annotations

import json
import re
import tarfile

import pytest
import yaml

from pipeline.levels import level_word
from pipeline.presets import load_presets
from pipeline.records import Variant
from pipeline.shards import RefGroup, finalize
from pipeline.shards.card import front_matter
from pipeline.shards.features import ISP_PARAMETERS, ROI_FIELDS, hub_features, undeclared_fields
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
    (built / "build_report.json").write_text("{}")  # a build of an earlier version left JSON there
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


def realistic_group(group_factory, ref_id: str, seed: int, clean: bool, weights=None) -> RefGroup:
    """A reference as a build hands it to the writer: variants with their ISP parameters, labels with
    every field of the labels contract; `clean`: every ROI of every variant clean (null severity)."""
    group = group_factory(ref_id, seed)
    presets = load_presets()
    variants = [
        Variant(v.dist_type, v.level, v.image, presets.distortions[v.dist_type].describe(v.level))
        for v in group.variants
    ]
    labels = []
    for label in group.labels:
        severity = None if clean else 0.3
        word = None if clean else level_word("severity", 0.3)
        labels.append(
            {
                **label,
                "quality": 0.95 if clean else 0.4,
                "quality_level": level_word("quality", 0.95 if clean else 0.4),
                "distortion": "none" if clean else label["dist_type"],
                "severity": severity,
                "severity_level": word,
                "distortions": []
                if clean
                else [{"type": label["dist_type"], "severity": severity, "severity_level": word}],
                "quality_raw": 0.5,
                "importance_drop": 0.01,
            }
        )
    provenance = dict(group.provenance, weights={"segmenter": None, "detector": None, "metric": weights})
    provenance.update(size=0, raw_file=f"{ref_id}.NEF")
    return RefGroup(group.ref_id, group.reference, variants, group.rois, labels, provenance)


def test_load_dataset_types_when_the_first_samples_are_clean(tmp_path, group_factory, build_chunks):
    """`datasets` infers types from the first 5 samples; the card's declared features replace that."""
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "shards"
    build_chunks(
        out,
        [
            [
                realistic_group(group_factory, "ref-a", 1, True),
                realistic_group(group_factory, "ref-b", 2, False),
            ]
        ],
    )
    finalize(out)
    loaded = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    rois = loaded.features["json"]["rois"].feature
    assert rois["severity"] == datasets.Value("float64") and rois["severity_level"] == datasets.Value(
        "string"
    )
    records = {row["__key__"]: row["json"] for row in loaded}
    assert records["ref-a_blur_01"]["rois"][0]["severity"] is None  # clean: no severity, still null
    assert records["ref-a_blur_01"]["rois"][0]["distortions"] == []
    distorted = records["ref-b_blur_01"]["rois"][0]
    assert distorted["severity"] == 0.3 and distorted["distortions"][0]["type"] == "blur"
    # the first samples are exposure; later types keep their own ISP parameters
    assert records["ref-b_noise_02"]["isp"]["params"]["shot"] > 0
    assert records["ref-b_noise_02"]["isp"]["params"]["read"] > 0
    assert records["ref-b_blur_01"]["isp"]["params"]["radius"] > 0  # inferred from 5 samples: dropped
    assert records["ref-b_noise_02"]["isp"]["direction"] is None
    assert records["ref-b_exposure_01"]["isp"]["direction"] in ("under", "over")
    assert records["ref-a_ref"]["isp"] is None and records["ref-a_ref"]["rois"][0]["quality"] is None


def test_two_builds_have_one_schema(tmp_path, group_factory, build_chunks):
    """A build without weights whose first ROIs are clean and one with weights whose first are not:
    the same features, the ones the card declares."""
    datasets = pytest.importorskip("datasets")
    features = []
    builds = (("none", True, None), ("some", False, {"file": "topiq.pth", "sha256": "ab12"}))
    for name, clean, weights in builds:
        out = tmp_path / name
        build_chunks(out, [[realistic_group(group_factory, "ref-a", 1, clean, weights)]])
        finalize(out)
        loaded = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / f"cache-{name}"))
        features.append(loaded.features)
        assert (
            json.dumps(loaded[1]["json"]["provenance"]["weights"]["segmenter"])
            == '{"file": "", "sha256": ""}'
        )
    assert features[0] == features[1] == datasets.Features._from_yaml_list(hub_features())


def test_card_declares_the_sample_features(built):
    meta = card_metadata(built)
    assert meta["dataset_info"] == {"features": hub_features()}
    declared = {entry["name"]: entry for entry in meta["dataset_info"]["features"]}
    assert declared["png"] == {"name": "png", "dtype": "image"}
    rois = {
        entry["name"]: entry
        for entry in next(e for e in declared["json"]["struct"] if e["name"] == "rois")["list"]
    }
    assert rois["severity"] == {"name": "severity", "dtype": "float64"}


def test_declared_isp_parameters_are_the_presets():
    presets = load_presets()
    names = {name for preset in presets.distortions.values() for level in preset.levels for name in level}
    assert names == set(ISP_PARAMETERS)


def test_declared_roi_fields_cover_the_labels_contract():
    from dataclasses import fields

    from pipeline.labels.labelling import ROILabel
    from pipeline.records import ROI
    from pipeline.shards.format import LABEL_KEYS_DROPPED

    names = {f.name for f in fields(ROILabel)} - set(LABEL_KEYS_DROPPED) | {f.name for f in fields(ROI)}
    assert names | {"instructions"} == set(ROI_FIELDS)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"label": {"grade": "A"}}, "rois[].grade (not declared)"),
        ({"label": {"quality": "0.4"}}, "rois[].quality (a str, declared float64)"),
        ({"provenance": {"gpu": "H100"}}, "provenance.gpu (not declared)"),
    ],
)
def test_writer_refuses_undeclared_fields(tmp_path, group_factory, build_chunks, change, problem):
    group = realistic_group(group_factory, "ref-a", 1, False)
    labels = [{**label, **change.get("label", {})} for label in group.labels]
    provenance = {**group.provenance, **change.get("provenance", {})}
    odd = RefGroup(group.ref_id, group.reference, group.variants, group.rois, labels, provenance)
    with pytest.raises(ValueError, match=re.escape(problem)) as error:
        build_chunks(tmp_path / "out", [[odd]])
    assert "pipeline/shards/features.py" in str(error.value)


def test_undeclared_fields_allows_null_and_ints_for_floats():
    assert undeclared_fields({"isp": {"value": 80, "direction": None}, "rois": [{"severity": None}]}) == []
    assert undeclared_fields({"level": True}) == ["level (a bool, declared int64)"]
    assert undeclared_fields({"rois": {"roi_id": 0}}) == ["rois (a dict, declared a list)"]


def test_the_manifest_cannot_be_a_second_config(built, tmp_path):
    """`datasets` (5.2) picks one builder for a folder from its first config's files, so a parquet
    config beside the tars is read as tars. Should this start to work, add the config to the card."""
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "folder"
    folder.mkdir()
    for path in built.iterdir():
        if path.is_file():
            (folder / path.name).symlink_to(path)
    meta = card_metadata(built)
    meta["configs"].append(
        {"config_name": "manifest", "data_files": [{"split": "train", "path": "manifest.parquet"}]}
    )
    meta["dataset_info"] = [{"config_name": "default", **meta["dataset_info"]}]
    (folder / "README.md").unlink()
    (folder / "README.md").write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n")
    with pytest.raises(
        tarfile.ReadError
    ):  # the parquet file opened as a tar ("invalid header", "bad checksum")
        datasets.load_dataset(str(folder), "manifest", split="train", cache_dir=str(tmp_path / "cache"))


def test_seagull_3k_card_has_its_splits_and_types(tmp_path):
    """SEAGULL-3k writes train and test shards: the card's config gives each its own split, and
    declares the 3k sample's types (a clean first ROI no longer types severity as null)."""
    datasets = pytest.importorskip("datasets")
    import numpy as np

    from pipeline.records import ROI
    from pipeline.sg3k.aggregate import aggregate_roi
    from pipeline.sg3k.shards import SAMPLE_FEATURES_3K, AuthenticGroup, write_split_shards
    from tests.sg3k.test_aggregate import answers

    mask = np.zeros((40, 56), bool)
    mask[5:20, 5:30] = True
    rois = [ROI.from_mask(0, "object", mask, 0.9, "boxes")]
    image = np.zeros((40, 56, 3), np.uint8)
    clean, blurred = aggregate_roi(answers()), aggregate_roi(answers(blur=[1] * 7))
    provenance = {"dataset": "SEAGULL-3k", "annotators": "simulated", "rating_sources": ["simulated"]}
    provenance["aggregation_rules"] = {"min_ratings": 7, "absent_on_tie": False, "score_max": 4.0}
    provenance.update(segmenter={"name": "boxes", "checkpoint": None, "sha256": None}, detector=None)
    groups = [
        AuthenticGroup(image_id, image, rois, {0: label}, split, provenance)
        for image_id, split, label in (
            ("img-a", "train", clean),
            ("img-b", "test", blurred),
            ("img-c", "train", blurred),
        )
    ]
    write_split_shards(tmp_path / "s3k", groups)
    finalize(tmp_path / "s3k", title="SEAGULL-3k", features=SAMPLE_FEATURES_3K)
    meta = card_metadata(tmp_path / "s3k")
    assert meta["configs"][0]["data_files"] == [
        {"split": "train", "path": "*-train-*.tar"},
        {"split": "test", "path": "*-test-*.tar"},
    ]
    assert meta["dataset_info"] == {"features": hub_features(SAMPLE_FEATURES_3K)}
    assert (
        "The Hub's splits are the shards' own: `train`, `test`."
        in (tmp_path / "s3k" / "README.md").read_text()
    )
    loaded = datasets.load_dataset(str(tmp_path / "s3k"), cache_dir=str(tmp_path / "cache"))
    assert {split: sorted(loaded[split]["__key__"]) for split in loaded} == {
        "train": ["img-a_authentic_00", "img-c_authentic_00"],
        "test": ["img-b_authentic_00"],
    }
    train = {row["__key__"]: row["json"] for row in loaded["train"]}
    assert train["img-a_authentic_00"]["rois"][0]["severity"] is None
    blur = train["img-c_authentic_00"]["rois"][0]
    assert blur["severity"] == blurred["severity"] and blur["distortions"][0]["votes_absent"] == 0
    assert train["img-c_authentic_00"]["provenance"]["aggregation_rules"]["absent_on_tie"] is False
    assert train["img-c_authentic_00"]["provenance"]["segmenter"]["name"] == "boxes"


def test_seagull_3k_writer_refuses_undeclared_fields(tmp_path):
    import numpy as np

    from pipeline.records import ROI
    from pipeline.sg3k.aggregate import aggregate_roi
    from pipeline.sg3k.shards import AuthenticGroup, write_split_shards
    from tests.sg3k.test_aggregate import answers

    mask = np.zeros((40, 56), bool)
    mask[5:20, 5:30] = True
    label = {**aggregate_roi(answers()), "annotator_ids": ["u1"]}
    group = AuthenticGroup(
        "img-a",
        np.zeros((40, 56, 3), np.uint8),
        [ROI.from_mask(0, "object", mask, 0.9, "b")],
        {0: label},
        "train",
    )
    with pytest.raises(ValueError, match=re.escape("rois[].annotator_ids (not declared)")):
        write_split_shards(tmp_path, [group])
