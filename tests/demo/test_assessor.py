"""Model loading in the background, its messages, and the answers of a tiny run."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pipeline.levels import QUALITY_WORDS
from seagull.demo.assessor import ModelSlot, assess_roi, distortions_in, load_model
from seagull.demo.session import DemoError


def test_a_model_still_loading_is_a_message_then_the_model():
    release = threading.Event()
    slot = ModelSlot(lambda: release.wait(300) and "the model").start()
    with pytest.raises(DemoError, match=r"still loading \(\d+ s so far\): try again"):
        slot.get()
    assert "still loading" in slot.status()
    release.set()
    assert slot.wait(300) and slot.get() == "the model"


def test_no_run_folder_is_a_message_saying_what_to_do(tmp_path):
    slot = ModelSlot(lambda: load_model(tmp_path / "runs" / "missing")).start()
    assert slot.wait(300)
    with pytest.raises(
        DemoError, match=r"could not be loaded: no run folder .*missing: train one with `make train`"
    ):
        slot.get()
    assert "not loaded" in slot.status()


def test_a_folder_that_is_not_a_run_is_a_message(tmp_path):
    slot = ModelSlot(lambda: load_model(tmp_path)).start()
    assert slot.wait(300)
    with pytest.raises(
        DemoError, match=r"run.json missing: is .* the --out folder of a finished `seagull train`"
    ):
        slot.get()


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("This region has severe blur distortion.", [{"type": "blur", "severity": "severe"}]),
        ("This region is without distortion.", []),
        (
            "This region has minor noise distortion and extreme exposure distortion.",
            [{"type": "noise", "severity": "minor"}, {"type": "exposure", "severity": "extreme"}],
        ),
        ("This region has blur.", [{"type": "blur", "severity": None}]),
        ("ASSISTANT a region >. >.", []),
    ],
)
def test_distortions_named_in_an_answer(answer, expected):
    assert distortions_in(answer) == expected


def test_tiny_run_answers_and_says_they_are_not_meaningful(tiny_run):
    loaded = load_model(tiny_run)
    assert not loaded.meaningful and "config 'tiny', random base weights" in loaded.description
    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    mask = np.zeros((48, 64), bool)
    mask[10:30, 20:50] = True
    result = assess_roi(loaded, pixels, mask)
    assert result["quality"]["word"] in QUALITY_WORDS
    assert result["quality"]["word"] == max(
        result["quality"]["probabilities"], key=result["quality"]["probabilities"].get
    )
    assert sum(result["distortion"]["type_probabilities"].values()) == pytest.approx(1, abs=1e-4)


def test_demo_takes_a_release_or_a_run_not_both(tmp_path):
    from click.testing import CliRunner

    from seagull.cli import main

    runner = CliRunner()
    help_text = runner.invoke(main, ["demo", "--help"]).output
    assert all(option in help_text for option in ("--weights", "--base", "--encoder-weights", "--release"))
    assert all(option in help_text for option in ("--prompts", "--dtype", "--config"))
    both = runner.invoke(main, ["demo", "--run", str(tmp_path), "--weights", str(tmp_path)])
    assert both.exit_code == 2 and "either --run" in both.output
