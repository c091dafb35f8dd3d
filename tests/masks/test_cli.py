"""`seagull masks REF_DIR OUT_DIR` end to end on small photographs."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

from pipeline.masks import read_rois_json
from seagull.commands.masks import command


def test_masks_cli_writes_json_and_overlays_and_reports_bad_files(tmp_path, photos):
    refs = tmp_path / "render" / "Ref.Images"  # the `seagull render` layout
    refs.mkdir(parents=True)
    Image.fromarray(photos["coffee"][::2, ::2]).save(refs / "r1.nef.png")
    Image.fromarray(photos["rocket"][::2, ::2, 0]).save(refs / "gray.png")  # grayscale file
    (refs / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "masks"
    result = CliRunner().invoke(command, [str(tmp_path / "render"), str(out), "--max-rois", "12"])
    assert result.exit_code == 1, result.output  # broken.png failed, the others went on
    assert "broken.png: cannot read the image" in result.output  # the FAILED line names the file
    assert "felzenszwalb_rag -- WEIGHT-FREE" in result.output
    for ref_id in ("r1-nef", "gray"):
        rois = read_rois_json(out / f"{ref_id}.json")
        assert rois.ref_id == ref_id and rois.segmenter["name"] == "felzenszwalb_rag"
        assert rois.detector["name"] == "region_proposals" and 0 < len(rois.rois) <= 12
        overlay = np.asarray(Image.open(out / "overlays" / f"{ref_id}.png"))
        assert overlay.shape == (rois.height, rois.width, 3)


def test_masks_cli_missing_checkpoint_is_a_clear_error(tmp_path, photos):
    Image.fromarray(photos["coffee"][::4, ::4]).save(tmp_path / "a.png")
    result = CliRunner().invoke(
        command,
        [
            str(tmp_path),
            str(tmp_path / "out"),
            "--segmenter",
            "sam_vit_b",
            "--checkpoint",
            str(tmp_path / "missing.pth"),
            "--detector",
            "none",
        ],
    )
    assert result.exit_code == 1
    assert "missing.pth does not exist" in result.output and "sam_vit_b_01ec64.pth" in result.output
