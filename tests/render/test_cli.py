"""`seagull sample` and `seagull render`: release layout, contact sheets, failure report, exit status."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from seagull.cli import main
from seagull.commands.render import parse_levels, parse_size, parse_types


def test_sample_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["sample", str(tmp_path / "raw"), "-n", "2", "--cache-dir", str(tmp_path / "cache")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["astronaut.dng", "chelsea.dng"]


def test_sample_command_other_bayer_order_and_portrait(tmp_path: Path) -> None:
    import rawpy

    args = ["sample", str(tmp_path / "raw"), "-n", "1", "--no-cache", "--cfa", "BGGR", "--orientation", "6"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    with rawpy.imread(str(tmp_path / "raw" / "astronaut.dng")) as raw:
        order = "".join(chr(raw.color_desc[c]) for c in raw.raw_pattern.ravel())
        assert (order, raw.sizes.flip) == ("BGGR", 6)


def test_render_writes_release_layout(tmp_path: Path, sample_paths: list[Path]) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in sample_paths[:2]:
        shutil.copyfile(path, raw / path.name)
    out = tmp_path / "out"
    args = ["render", str(raw), str(out), "--types", "blur,noise", "--levels", "1,20", "--size", "128"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ids = sorted(p.stem for p in sample_paths[:2])
    assert sorted(p.stem for p in (out / "Ref.Images").glob("*.png")) == ids
    for name in ("Blur", "Noise"):
        for level in (1, 20):
            assert (
                sorted(p.stem for p in (out / "Dist.Images" / name / f"{name}_{level}").glob("*.png")) == ids
            )
    assert not (out / "Dist.Images" / "Blur" / "Blur_2").exists()
    assert sorted(p.stem for p in (out / "contact_sheets").glob("*.png")) == ids
    report = json.loads((out / "render_report.json").read_text())
    assert report["failed"] == [] and len(report["rendered"]) == 2 and report["levels"] == [1, 20]


def test_render_authors_layout(tmp_path: Path, sample_paths: list[Path]) -> None:
    # The authors' released SEAGULL-100w numbers the level folders 0..19: level k is <Type>_<k-1>.
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copyfile(sample_paths[1], raw / sample_paths[1].name)
    out = tmp_path / "out"
    args = ["render", str(raw), str(out), "--types", "exposure,compression", "--levels", "1,20"]
    result = CliRunner().invoke(main, [*args, "--size", "64", "--layout", "authors", "--no-sheet"])
    assert result.exit_code == 0, result.output
    written = sorted(str(p.relative_to(out / "Dist.Images")) for p in (out / "Dist.Images").rglob("*.png"))
    stem = sample_paths[1].stem
    assert written == [
        f"Compression/Compression_0/{stem}.png",
        f"Compression/Compression_19/{stem}.png",
        f"Exposure/Exposure_0/{stem}.png",
        f"Exposure/Exposure_19/{stem}.png",
    ]
    assert (out / "Ref.Images" / f"{stem}.png").is_file()
    assert json.loads((out / "render_report.json").read_text())["layout"] == "authors"


def test_render_reports_bad_files_and_renders_the_rest(tmp_path: Path, sample_paths: list[Path]) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copyfile(sample_paths[0], raw / "good.dng")
    (raw / "empty.NEF").write_bytes(b"")
    (raw / "cut.dng").write_bytes(sample_paths[1].read_bytes()[:100_000])
    (raw / "notes.txt").write_text("not a RAW file: ignored")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "render",
            str(raw),
            str(out),
            "--types",
            "compression",
            "--levels",
            "5",
            "--size",
            "64",
            "--no-sheet",
        ],
    )
    assert result.exit_code == 1
    report = json.loads((out / "render_report.json").read_text())
    assert report["rendered"] == [str(raw / "good.dng")]
    failed = {Path(f["path"]).name: f for f in report["failed"]}
    assert set(failed) == {"empty.NEF", "cut.dng"}
    assert "empty" in failed["empty.NEF"]["reason"] and "truncated" in failed["cut.dng"]["reason"]
    assert (out / "Dist.Images" / "Compression" / "Compression_5" / "good.png").is_file()
    assert not (out / "contact_sheets").exists()


def test_render_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def refuse(path):  # root ignores chmod, so simulate the OS refusal
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(locked), str(out)])
    assert result.exit_code == 1
    report = json.loads((out / "render_report.json").read_text())
    assert report["failed"][0]["path"] == str(locked) and "Permission denied" in report["failed"][0]["reason"]


def test_render_empty_folder_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render", str(tmp_path), str(tmp_path / "out")])
    assert result.exit_code == 1 and "no RAW files found" in result.output


def test_option_parsers() -> None:
    assert parse_levels("1-3,20") == [1, 2, 3, 20]
    assert parse_types("noise, blur") == ["noise", "blur"]
    assert parse_size("full") is None and parse_size("512") == 512
    for parser, text in (
        (parse_levels, "0-3"),
        (parse_levels, "a"),
        (parse_types, "sharpness"),
        (parse_size, "8"),
    ):
        with pytest.raises(click.BadParameter):
            parser(text)


STAGE_FOLDERS = {
    "render": ["--raw-dir", "--out"],
    "masks": ["--ref-dir", "--out"],
    "label": ["--render-dir", "--masks-dir", "--out"],
}


@pytest.mark.parametrize("name", sorted(STAGE_FOLDERS))
def test_stage_commands_name_folders_as_the_build_does_with_help_on_every_option(name: str) -> None:
    help_text = CliRunner().invoke(main, [name, "--help"]).output
    options = [
        line.strip() for line in help_text.split("Options:")[1].splitlines() if line.strip().startswith("-")
    ]
    assert all(len(line.split(None, 1)) == 2 for line in options), options  # every option has help
    assert all(f"{flag} DIR" in help_text for flag in STAGE_FOLDERS[name])
    assert "deprecated" in help_text  # the positional form of earlier releases, still accepted


def test_positional_folders_still_work_with_a_warning_and_not_beside_the_options(tmp_path: Path) -> None:
    args = ["--types", "blur", "--levels", "1", "--size", "64"]
    old = CliRunner().invoke(main, ["render", str(tmp_path), str(tmp_path / "out"), *args])
    assert old.exit_code == 1 and "DeprecationWarning" in old.output and "no RAW files found" in old.output
    both = CliRunner().invoke(
        main, ["render", str(tmp_path), str(tmp_path / "o"), "--raw-dir", str(tmp_path)]
    )
    assert both.exit_code == 2 and "--raw-dir only" in both.output
    missing = CliRunner().invoke(main, ["render", "--raw-dir", str(tmp_path)])
    assert missing.exit_code == 2 and "--out" in missing.output


def test_stage_commands_name_their_default_components() -> None:
    from pipeline.labels import DEFAULT_METRIC
    from pipeline.masks import DEFAULT_DETECTOR, DEFAULT_SEGMENTER

    masks_help = " ".join(CliRunner().invoke(main, ["masks", "--help"]).output.split())
    assert f"default: {DEFAULT_SEGMENTER}" in masks_help and f"default: {DEFAULT_DETECTOR}" in masks_help
    assert f"default: {DEFAULT_METRIC}" in CliRunner().invoke(main, ["label", "--help"]).output
