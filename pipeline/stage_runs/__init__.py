"""Folder-level runners of the stage commands: `seagull render`, `seagull masks`, `seagull label`.

Each takes a folder, runs one stage on every file in it through the same code as the build's chunks
(`pipeline.stages`, `pipeline.raw_files`, `pipeline.release`, `pipeline.seeds`), and returns a
`FolderRun`: what it was asked (settings), what it finished, and what failed with the reason and the
fix. The error policy is the build's: a file that fails is recorded and the others go on; the command
then exits with status 1. `seagull/commands/` only parses options, loads models and prints.

    render_folder  RAW folder -> release layout (Ref.Images/, Dist.Images/), contact sheets
    mask_folder    reference images -> <ref_id>.json (COCO RLE ROIs) and overlays
    label_folder   release + ROI files -> labels.jsonl / .parquet, provenance, a plot (or calibration)
"""

from pipeline.stage_runs.common import FolderRun, failure, unexpected, write_report
from pipeline.stage_runs.label import label_folder
from pipeline.stage_runs.masks import mask_folder
from pipeline.stage_runs.render import RenderOptions, recorded_raw_sizes, render_folder

__all__ = [
    "FolderRun",
    "RenderOptions",
    "failure",
    "label_folder",
    "mask_folder",
    "recorded_raw_sizes",
    "render_folder",
    "unexpected",
    "write_report",
]
