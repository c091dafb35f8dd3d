"""Loader: reads back exactly what the writer wrote, from files, pipes and http, in DataLoader workers."""

from __future__ import annotations

import functools
import http.server
import shutil
import tarfile
import threading

import numpy as np
import pytest
import torch
import webdataset as wds
from torch.utils.data import DataLoader

from pipeline.shards.loader import Resize, collate_rois, expand_urls, roi_dataset


def expected_samples(chunks) -> dict[str, tuple]:
    """key -> (image uint8 (H, W, 3), masks bool (R, H, W), labels by roi_id) of every distorted image."""
    expected = {}
    for group in (g for chunk in chunks for g in chunk):
        masks = np.stack([roi.mask() for roi in group.rois])
        for variant in group.variants:
            labels = {
                lab["roi_id"]: lab
                for lab in group.labels
                if (lab["dist_type"], lab["level"]) == (variant.dist_type, variant.level)
            }
            expected[f"{group.ref_id}_{variant.dist_type}_{variant.level:02d}"] = (
                variant.image,
                masks,
                labels,
            )
    return expected


def assert_sample_matches(sample, expected):
    image, masks, labels = expected[sample["key"]]
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (3, *image.shape[:2])
    assert torch.equal(
        (sample["image"] * 255).round().to(torch.uint8).permute(1, 2, 0), torch.from_numpy(image)
    )
    assert sample["masks"].dtype == torch.bool and torch.equal(sample["masks"], torch.from_numpy(masks))
    for roi in sample["rois"]:
        label = labels[roi["roi_id"]]
        for name in (
            "quality",
            "quality_level",
            "importance_level",
            "distortion",
            "severity",
            "severity_level",
        ):
            assert roi[name] == label[name]
        assert len(roi["instructions"]) == 9 and "<global><local>" in roi["instructions"][0]["question"]
    assert sample["level"] == int(sample["key"][-2:]) and sample["ref_id"] == sample["key"].split("_")[0]


def test_reads_back_what_was_written(built, chunks):
    expected = expected_samples(chunks)
    samples = list(roi_dataset(built))
    assert sorted(s["key"] for s in samples) == sorted(expected)
    for sample in samples:
        assert_sample_matches(sample, expected)


def test_reference_modes(built, chunks):
    references = {g.ref_id: g.reference for chunk in chunks for g in chunk}
    included = list(roi_dataset(built, references="include"))
    assert [s["key"] for s in included if s["dist_type"] == "reference"] == [
        "ref-a_ref",
        "ref-b_ref",
        "ref-c_ref",
    ]
    assert len(included) == 3 + 18
    for sample in roi_dataset(built, references="attach"):
        restored = (sample["reference"] * 255).round().to(torch.uint8).permute(1, 2, 0)
        assert torch.equal(restored, torch.from_numpy(references[sample["ref_id"]]))
    with pytest.raises(ValueError, match="references must be one of"):
        roi_dataset(built, references="join")


@pytest.mark.skipif(shutil.which("curl") is None, reason="webdataset streams http(s) with curl")
def test_pipe_and_http_urls(built, chunks):
    expected = expected_samples(chunks)
    names = sorted(p.name for p in built.glob("*.tar"))
    handler = functools.partial(_QuietHandler, directory=str(built))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        urls = [f"http://127.0.0.1:{port}/{names[0]}", f"pipe:cat {built / names[1]}"]
        samples = list(roi_dataset(urls))
        missing = f"http://127.0.0.1:{port}/seagull100w-000009.tar"
        with pytest.raises(
            (OSError, tarfile.ReadError), match="seagull100w-000009.tar"
        ):  # curl exit 22 or empty tar
            list(roi_dataset([missing, urls[0]], decode=False))
        skipped = list(roi_dataset([missing, urls[0]], decode=False, handler=wds.ignore_and_continue))
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(s["key"] for s in samples) == sorted(expected)
    for sample in samples:
        assert_sample_matches(sample, expected)
    # the missing shard is skipped, the next one read in full
    assert [s["__key__"] for s in skipped] == [s["key"] for s in samples if not s["key"].startswith("ref-c")]


def test_resampled_draws_endlessly_from_the_shards(built, chunks):
    keys = [s["__key__"] for s in roi_dataset(built, decode=False, resampled=True, seed=3).with_epoch(50)]
    assert len(keys) == 50 and set(keys) <= set(expected_samples(chunks))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


def test_dataloader_two_workers_sees_every_sample_once(built, chunks):
    dataset = roi_dataset(
        f"{built}/seagull100w-{{000000..000001}}.tar", shuffle=8, seed=0, transform=Resize(32)
    )
    loader = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=collate_rois)
    keys, batches = [], list(loader)
    for batch in batches:
        assert batch["image"].shape[1:] == (3, 32, 32) and batch["level"].dtype == torch.int64
        assert all(
            m.shape[1:] == (32, 32) and m.shape[0] == len(r)
            for m, r in zip(batch["masks"], batch["rois"], strict=True)
        )
        keys += batch["key"]
    assert sorted(keys) == sorted(expected_samples(chunks))


def test_shuffle_reorders_but_keeps_the_set(built):
    ordered = [s["__key__"] for s in roi_dataset(built, decode=False)]
    shuffled = [s["__key__"] for s in roi_dataset(built, decode=False, shuffle=100, shardshuffle=10, seed=1)]
    assert sorted(ordered) == sorted(shuffled) and ordered != shuffled


def test_collate_refuses_mixed_sizes(built, group_factory, tmp_path, build_chunks):
    build_chunks(tmp_path, [[group_factory("big", 0, size=(48, 64))]])
    samples = [next(iter(roi_dataset(built))), next(iter(roi_dataset(tmp_path)))]
    with pytest.raises(ValueError, match="Resize"):
        collate_rois(samples)


def test_same_shards_with_plain_webdataset(built):
    dataset = wds.WebDataset(str(built / "seagull100w-000001.tar"), shardshuffle=False).decode("rgb8")
    samples = list(dataset)
    assert samples[0]["__key__"] == "ref-c_ref" and len(samples) == 7
    image, record = samples[1]["png"], samples[1]["json"]
    assert image.shape == (record["height"], record["width"], 3) and record["reference_key"] == "ref-c_ref"


def test_expand_urls(built, tmp_path):
    tars = sorted(str(p) for p in built.glob("*.tar"))
    assert expand_urls(built) == tars and expand_urls(str(built / "*.tar")) == tars
    remote = expand_urls(["pipe:cat x.tar", "https://h/a-{0..2}.tar"])
    assert remote == ["pipe:cat x.tar", "https://h/a-0.tar", "https://h/a-1.tar", "https://h/a-2.tar"]
    assert expand_urls(f"{built}/seagull100w-{{000000..000001}}.tar") == tars
    with pytest.raises(FileNotFoundError, match="seagull100w-000002.tar"):
        expand_urls(f"{built}/seagull100w-{{000000..000002}}.tar")
    with pytest.raises(FileNotFoundError, match="no shards at"):
        expand_urls(tmp_path / "empty-*.tar")
    with pytest.raises(FileNotFoundError, match="no shards at"):
        expand_urls(tmp_path)


def test_resize_scales_image_and_masks():
    image = torch.zeros(3, 40, 56)
    image[:, :20] = 1.0  # top half white
    masks = torch.zeros(2, 40, 56, dtype=torch.bool)
    masks[0, :20, :28] = True  # top-left quadrant
    sample = {
        "key": "k",
        "ref_id": "r",
        "dist_type": "blur",
        "level": 1,
        "image": image,
        "reference": image.clone(),
        "masks": masks,
        "rois": [],
    }
    resized = Resize(20)(sample)
    assert resized["image"].shape == resized["reference"].shape == (3, 20, 20)
    assert (
        torch.allclose(resized["image"][:, :9], torch.ones(3, 9, 20))
        and resized["image"][:, 11:].abs().max() == 0
    )
    assert resized["masks"].dtype == torch.bool and resized["masks"].shape == (2, 20, 20)
    assert (
        resized["masks"][0, :10, :10].all()
        and resized["masks"][0].sum() == 100
        and not resized["masks"][1].any()
    )
    batch = collate_rois([resized, resized])
    assert batch["reference"].shape == (2, 3, 20, 20) and batch["level"].tolist() == [1, 1]
