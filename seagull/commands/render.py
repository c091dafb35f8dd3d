"""`seagull render RAW_DIR OUT_DIR`: references and distorted images in a release layout.

Writes `Ref.Images/<id>.png`, `Dist.Images/<Type>/<Type>_<k>/<id>.png` (k = level 1..20; with
`--layout authors` the authors' release names, k = 0..19), one contact sheet per image
(`contact_sheets/<id>.png`) and `render_report.json` (what rendered, what failed and why). A file that
fails is reported and skipped; the exit status is 1 if any file failed.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from seagull.commands._report import failure, finish, unexpected

# Extensions of RAW formats LibRaw reads (compared case-insensitively).
RAW_EXTENSIONS = frozenset(
    ".nef .nrw .dng .cr2 .cr3 .crw .arw .srf .sr2 .orf .rw2 .raf .pef .srw .3fr .erf .kdc .dcr .mos .mef .raw .rwl .iiq".split()
)
REPORT_NAME = "render_report.json"


def parse_levels(text: str) -> list[int]:
    """'1-20', '1,5,10' or '3-5,20' -> sorted unique levels; raises click.BadParameter outside 1..20."""
    levels: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            levels.update(range(int(low), int(high or low) + 1))
    except ValueError as error:
        raise click.BadParameter(f"{text!r}: use numbers and ranges such as 1-20 or 1,5,10") from error
    if not levels or min(levels) < 1 or max(levels) > 20:
        raise click.BadParameter(f"{text!r}: levels must lie in 1..20")
    return sorted(levels)


def parse_types(text: str) -> list[str]:
    """'all' or comma-separated distortion types -> types in `DISTORTION_TYPES` order."""
    from pipeline.taxonomy import DISTORTION_TYPES

    if text.strip().lower() == "all":
        return list(DISTORTION_TYPES)
    names = {p.strip().lower() for p in text.split(",") if p.strip()}
    unknown = sorted(names - set(DISTORTION_TYPES))
    if unknown or not names:
        raise click.BadParameter(
            f"unknown type(s) {unknown}; choose from {', '.join(DISTORTION_TYPES)} or 'all'"
        )
    return [name for name in DISTORTION_TYPES if name in names]


MIN_SIZE = 64  # smaller sizes shrink the level-1 blur disk below one pixel: black images (issue 14)


def parse_size(text: str) -> int | None:
    """'full' -> None (full resolution), else the long side in pixels (>= MIN_SIZE)."""
    if text.strip().lower() == "full":
        return None
    if not text.isdigit() or int(text) < MIN_SIZE:
        raise click.BadParameter(f"{text!r}: give the long side in pixels (>= {MIN_SIZE}) or 'full'")
    return int(text)


def find_raw_files(raw_dir: Path) -> list[Path]:
    """RAW files directly in `raw_dir`, sorted by name; raises RawDecodeError if it cannot be listed."""
    from pipeline.decode import RawDecodeError

    try:
        entries = sorted(os.scandir(raw_dir), key=lambda entry: entry.name)
    except OSError as error:
        raise RawDecodeError(
            raw_dir,
            f"cannot list the folder ({error.strerror})",
            "give the user read and execute permission on it",
        ) from error
    return [Path(entry.path) for entry in entries if Path(entry.name).suffix.lower() in RAW_EXTENSIONS]


def render_file(
    path: Path, out_dir: Path, presets, types, levels, size, seed, sheet: bool, layout: str = "default"
) -> int:  # noqa: ANN001
    """Decode one RAW file and write its reference, variants and contact sheet; returns images written."""
    from pipeline.decode import decode_raw
    from pipeline.render import contact_sheet, prepare_reference, release_path, render_variants, write_png

    decoded = decode_raw(path, size=size)
    ref = prepare_reference(decoded, presets)
    write_png(release_path(out_dir, decoded.ref_id), ref.image)
    variants = []
    for variant in render_variants(decoded, presets, types, levels, seed, reference=ref):
        where = release_path(out_dir, decoded.ref_id, variant.dist_type, variant.level, layout)
        write_png(where, variant.image)
        if sheet:
            variants.append(variant)
    if sheet:
        write_png(out_dir / "contact_sheets" / f"{decoded.ref_id}.png", contact_sheet(ref.image, variants))
    return 1 + len(types) * len(levels)


@click.command("render")
@click.argument("raw_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--types",
    "types_text",
    default="all",
    show_default=True,
    help="Comma-separated distortion types, or 'all'.",
)
@click.option("--levels", "levels_text", default="1-20", show_default=True, help="Levels, e.g. 1-20, 1,5,10.")
@click.option(
    "--size",
    "size_text",
    default="1024",
    show_default=True,
    help="Long side of the working resolution, or 'full'.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the random parts (noise).")
@click.option(
    "--presets",
    "presets_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Preset folder (default: the packaged isp_presets/).",
)
@click.option(
    "--layout",
    type=click.Choice(["default", "authors"]),
    default="default",
    show_default=True,
    help="Folder names: default <Type>_1.._20 (= level); authors = the authors' release, <Type>_0.._19.",
)
@click.option("--no-sheet", is_flag=True, help="Skip the contact sheets.")
def command(
    raw_dir: Path,
    out_dir: Path,
    types_text: str,
    levels_text: str,
    size_text: str,
    seed: int,
    presets_dir: Path | None,
    layout: str,
    no_sheet: bool,
) -> None:
    """Render every RAW file in RAW_DIR into OUT_DIR (release layout, contact sheets, JSON report).

    \b
    seagull sample raw/ && seagull render raw/ out/ --types blur,noise --levels 1,10,20
    """
    from tqdm import tqdm

    from pipeline.decode import RawDecodeError
    from pipeline.presets import PresetError, load_presets

    types, levels, size = parse_types(types_text), parse_levels(levels_text), parse_size(size_text)
    try:
        presets = load_presets(presets_dir)
    except PresetError as error:
        raise click.ClickException(str(error)) from error
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered, failed = [], []
    try:
        files = find_raw_files(raw_dir)
    except RawDecodeError as error:
        files, failed = [], [error.to_json()]
    with tqdm(total=len(files) * (1 + len(types) * len(levels)), unit="img", desc="render") as bar:
        for path in files:
            try:
                bar.update(
                    render_file(path, out_dir, presets, types, levels, size, seed, not no_sheet, layout)
                )
                rendered.append(str(path))
            except RawDecodeError as error:
                failed.append(error.to_json())
            except Exception as error:  # noqa: BLE001 — one bad file must not stop the others
                failed.append(unexpected(path, error))
            bar.set_postfix(failed=len(failed))
    if not files and not failed:
        failed.append(
            failure(raw_dir, "no RAW files found", "put RAW files (.nef, .dng, .cr2, .arw ...) in it")
        )
    settings = {
        "raw_dir": str(raw_dir),
        "types": types,
        "levels": levels,
        "size": size,
        "seed": seed,
        "layout": layout,
        "presets": str(presets.source),
    }
    finish(out_dir, REPORT_NAME, settings, "rendered", rendered, failed, "file")
