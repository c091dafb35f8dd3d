"""CLI conventions a consumer meets: one name for an option across commands, defaults by name."""

from __future__ import annotations

from click.testing import CliRunner

from pipeline.labels import DEFAULT_METRIC
from seagull.cli import main


def test_label_takes_the_build_s_metric_weights_name_and_keeps_the_old_one(tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(main, ["label", "--help"]).output
    assert "--metric-weights" in help_text and "--weights " not in help_text  # the old name is hidden
    assert f"default: {DEFAULT_METRIC}" in help_text and "DEFAULT_METRIC" not in help_text
    assert "--metric-weights" in runner.invoke(main, ["build", "--help"]).output
    (tmp_path / "r").mkdir()
    (tmp_path / "m").mkdir()
    both = runner.invoke(
        main,
        [
            "label",
            str(tmp_path / "r"),
            str(tmp_path / "m"),
            str(tmp_path / "o"),
            "--weights",
            "a.pth",
            "--metric-weights",
            "a.pth",
        ],
    )
    assert both.exit_code == 2 and "deprecated" in both.output


def test_publish_has_help_on_every_option():
    result = CliRunner().invoke(main, ["publish", "--help"])
    assert result.exit_code == 0
    options = [line for line in result.output.splitlines() if line.strip().startswith("-")]
    assert options and all(len(line.strip().split(None, 1)) == 2 for line in options)
