"""`seagull render --raw-dir RAW --out OUT`: references and distorted images in the release layout.

Writes `Ref.Images/<id>.png`, `Dist.Images/<Type>/<Type>_<k>/<id>.png` (k = level 1..20; with
`--layout authors` the authors' release names, k = 0..19; `pipeline.release`), one contact sheet per
image (`contact_sheets/<id>.png`) and `render_report.json` (what rendered, what failed and why, and
each RAW file's size for `seagull masks`). The work is `pipeline.stage_runs.render_folder`, the build's
own decode and render. A file that fails is reported and skipped; the exit status is 1 then.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.release import RELEASE_LAYOUTS
from pipeline.taxonomy import DISTORTION_TYPES, MIN_WORKING_SIZE, N_LEVELS_PER_TYPE
from seagull.commands._folders import folder_option, pick_folder
from seagull.commands._report import finish

ALL_LEVELS = f"1-{N_LEVELS_PER_TYPE}"


def parse_levels(text: str) -> list[int]:
    """'1-20', '1,5,10' or '3-5,20' -> sorted unique levels; raises click.BadParameter outside 1..20."""
    levels: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            levels.update(range(int(low), int(high or low) + 1))
    except ValueError as error:
        raise click.BadParameter(
            f"{text!r}: use numbers and ranges such as {ALL_LEVELS} or 1,5,10"
        ) from error
    if not levels or min(levels) < 1 or max(levels) > N_LEVELS_PER_TYPE:
        raise click.BadParameter(f"{text!r}: levels must lie in 1..{N_LEVELS_PER_TYPE}")
    return sorted(levels)


def parse_types(text: str) -> list[str]:
    """'all' or comma-separated distortion types -> types in `DISTORTION_TYPES` order."""
    if text.strip().lower() == "all":
        return list(DISTORTION_TYPES)
    names = {p.strip().lower() for p in text.split(",") if p.strip()}
    unknown = sorted(names - set(DISTORTION_TYPES))
    if unknown or not names:
        raise click.BadParameter(
            f"unknown type(s) {unknown}; choose from {', '.join(DISTORTION_TYPES)} or 'all'"
        )
    return [name for name in DISTORTION_TYPES if name in names]


def parse_size(text: str) -> int | None:
    """'full' -> None (full resolution), else the long side in pixels (>= MIN_WORKING_SIZE)."""
    if text.strip().lower() == "full":
        return None
    if not text.isdigit() or int(text) < MIN_WORKING_SIZE:
        raise click.BadParameter(f"{text!r}: give the long side in pixels (>= {MIN_WORKING_SIZE}) or 'full'")
    return int(text)


@click.command("render")
@folder_option("raw-dir", "RAW_DIR", "Folder of RAW files (.nef, .dng, .cr2, .cr3, .arw ...).")
@folder_option("out", "OUT_DIR", "Output folder (release layout, contact sheets, render_report.json).")
@click.option(
    "--types",
    "types_text",
    default="all",
    show_default=True,
    help="Comma-separated distortion types, or 'all'.",
)
@click.option(
    "--levels", "levels_text", default=ALL_LEVELS, show_default=True, help="Levels, e.g. 1-20, 1,5,10."
)
@click.option(
    "--size",
    "size_text",
    default="1024",
    show_default=True,
    help=f"Long side of the working resolution in px (>= {MIN_WORKING_SIZE}), or 'full'.",
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
    type=click.Choice(sorted(RELEASE_LAYOUTS)),
    default="default",
    show_default=True,
    help="Folder names: default <Type>_1.._20 (= level); authors = the authors' release, <Type>_0.._19.",
)
@click.option("--no-sheet", is_flag=True, help="Skip the contact sheets.")
def command(
    raw_dir: Path | None,
    old_raw_dir: Path | None,
    out: Path | None,
    old_out: Path | None,
    types_text: str,
    levels_text: str,
    size_text: str,
    seed: int,
    presets_dir: Path | None,
    layout: str,
    no_sheet: bool,
) -> None:
    """Render every RAW file in --raw-dir into --out (release layout, contact sheets, JSON report).

    \b
    seagull sample raw/ && seagull render --raw-dir raw/ --out out/ --types blur,noise --levels 1,10,20

    RAW_DIR OUT_DIR: the positional form of --raw-dir --out, deprecated (goes in the next release).
    """
    from tqdm import tqdm

    from pipeline.presets import PresetError, load_presets
    from pipeline.stage_runs import RenderOptions, render_folder

    raw_dir = pick_folder(raw_dir, old_raw_dir, "raw-dir", "RAW_DIR")
    out = pick_folder(out, old_out, "out", "OUT_DIR")
    types, levels, size = parse_types(types_text), parse_levels(levels_text), parse_size(size_text)
    try:
        presets = load_presets(presets_dir)
    except PresetError as error:
        raise click.ClickException(str(error)) from error
    out.mkdir(parents=True, exist_ok=True)
    options = RenderOptions(tuple(types), tuple(levels), size, seed, layout, sheet=not no_sheet)
    with tqdm(unit="img", desc="render") as bar:

        def progress(written: int, total: int) -> None:
            bar.total = total
            bar.update(written)

        run = render_folder(raw_dir, out, presets, options, progress=progress)
    finish(out, run)
