"""`render_folder`: every RAW file of a folder -> its reference and variants in the release layout."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import stages
from pipeline.decode import RawDecodeError
from pipeline.presets import ISPPresets
from pipeline.raw_files import ADD_RAW_FILES, check_input_file, list_raw_files, ref_id_of
from pipeline.release import release_path
from pipeline.render import contact_sheet, write_png
from pipeline.stage_runs.common import FolderRun, failure, unexpected

REPORT_NAME = "render_report.json"
REPLACE_FILE = "replace it with a readable RAW file, or remove it"


@dataclass(frozen=True)
class RenderOptions:
    """What to render; the same meaning as the build's `BuildConfig` fields of the same names."""

    types: tuple[str, ...]
    levels: tuple[int, ...]
    size: int | None = 1024
    seed: int = 0
    layout: str = "default"  # `pipeline.release.RELEASE_LAYOUTS`
    sheet: bool = True  # one contact sheet per reference in contact_sheets/


def render_folder(
    raw_dir: Path,
    out_dir: Path,
    presets: ISPPresets,
    options: RenderOptions,
    progress: Callable[[int, int], None] | None = None,
) -> FolderRun:
    """Render every RAW file directly in `raw_dir` into `out_dir`.

    Args:
        progress: called after each file as progress(images written for it, images to write in all);
            a file that failed wrote 0.

    Returns:
        The run; its settings hold `raw_sizes`, {ref_id: [H, W]} of each RAW file rendered, so that
        `mask_folder` applies the area floor to the original as the build does.
    """
    settings = {
        "raw_dir": str(raw_dir),
        "types": list(options.types),
        "levels": list(options.levels),
        "size": options.size,
        "seed": options.seed,
        "layout": options.layout,
        "presets": str(presets.source),
        "raw_sizes": {},
    }
    run = FolderRun(REPORT_NAME, "rendered", "file", settings)
    try:
        files = list_raw_files(raw_dir)
    except OSError as error:
        fix = ADD_RAW_FILES if isinstance(error, FileNotFoundError) else "make the folder readable"
        run.failed.append(failure(raw_dir, str(error), fix))
        return run
    total = len(files) * (1 + len(options.types) * len(options.levels))
    for path in files:
        written = _render_file(path, out_dir, presets, options, run)
        if progress is not None:
            progress(written, total)
    return run


def _render_file(
    path: Path, out_dir: Path, presets: ISPPresets, options: RenderOptions, run: FolderRun
) -> int:
    """Render one file into the run (done or failed); returns the number of images written."""
    try:
        check_input_file(path)
    except OSError as error:  # a folder, FIFO, dangling link or unreadable file with a RAW suffix
        run.failed.append(failure(path, str(error), REPLACE_FILE))
        return 0
    try:
        rendered = stages.render_reference(
            path, presets, options.types, options.levels, options.size, options.seed
        )
        ref_id = ref_id_of(path)
        write_png(release_path(out_dir, ref_id), rendered.reference)
        for variant in rendered.variants:
            where = release_path(out_dir, ref_id, variant.dist_type, variant.level, options.layout)
            write_png(where, variant.image)
        if options.sheet:
            sheet = contact_sheet(rendered.reference, rendered.variants)
            write_png(out_dir / "contact_sheets" / f"{ref_id}.png", sheet)
    except RawDecodeError as error:
        run.failed.append(error.to_json())
        return 0
    except Exception as error:  # the error policy: record the file, go on
        run.failed.append(unexpected(path, error))
        return 0
    run.settings["raw_sizes"][ref_id] = list(rendered.decoded.raw_size)
    run.done.append(str(path))
    return 1 + len(rendered.variants)


def recorded_raw_sizes(release_dir: Path) -> dict[str, tuple[int, int]]:
    """{ref_id: (H, W) of its RAW file} as `render_folder` recorded them; {} when there is no record.

    `release_dir` may be the render output or its Ref.Images/ folder.
    """
    for folder in (Path(release_dir), Path(release_dir).parent):
        report = folder / REPORT_NAME
        if report.is_file():
            try:
                sizes = json.loads(report.read_text()).get("raw_sizes", {})
                return {ref_id: (int(h), int(w)) for ref_id, (h, w) in sizes.items()}
            except (OSError, ValueError, TypeError, AttributeError):
                return {}  # a damaged report: no sizes (the floor then applies to the image itself)
    return {}
