"""Which settings a resume may change (model/run_settings.py)."""

from __future__ import annotations

from model.config import create_config
from model.run_settings import changed_settings, run_settings
from model.train import RunOptions


def test_settings_are_dotted_json_values_and_only_real_changes_are_named():
    settings = run_settings(create_config("tiny"), RunOptions())
    assert settings["config.train.weight_decay"] == 0.1 and settings["options.seed"] == 0
    assert settings["config.mfe.local_channels"] == [16, 8]  # a tuple, as JSON (run.json) stores it
    now = {**settings, "config.train.lr_note": "x"}  # an option the saved run did not know: not compared
    now.update({"config.train.log_every": 1, "options.device": "cuda", "options.progress": False})
    assert changed_settings(settings, now) == []  # how a run is watched and where it runs are free
    now["options.max_steps"] = 9
    assert changed_settings(settings, now) == ["options.max_steps: None -> 9"]
