"""The model side of the demo: load a model once (in the background), then answer for one ROI.

`load_model` is the one place the demo turns its options into a model: a `--run` folder, or a
release (the authors' SEAGULL-7B or a `seagull export`) named as `seagull assess` names it
(--weights/--base/--encoder-weights or --release FILE, with --config, --prompts, --dtype), loaded
by the same code. The answers reuse `model.scoring` (Q-Align closed-set scores, greedy distortion answer) as
`seagull assess` does; the distortion bar charts add two closed sets read at the distortion
answer ("This region has <severity> <type> distortion."): its severity word and its type.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.levels import SEVERITY_WORDS
from pipeline.taxonomy import DISTORTION_TYPES
from seagull.demo.session import DemoError

TINY_WARNING = (
    "This is a tiny model with random base weights (`make train`): it shows that the pipeline runs, "
    "but its answers are NOT meaningful."
)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to answer, and what the page says about it.

    Attributes:
        model, tokenizer: as `model.train.load_trained` returns them (eval mode).
        description: one line naming the model and where its weights come from.
        meaningful: False for models whose answers are noise (tiny, random base weights).
    """

    model: Any
    tokenizer: Any
    description: str
    meaningful: bool


def load_model(run_dir: Path | None, device: str = "cpu", **release: Any) -> LoadedModel:
    """The demo's model from a `seagull train --out` folder or a release (see module docstring).

    Args:
        run_dir: the run folder; None when `release` names one.
        release: the options of seagull.commands._options.release_source_options (weights, base,
            encoder_weights, release_file, config_name, prompts, dtype).

    Raises:
        FileNotFoundError: no such folder, or not a finished run (the message says what to do).
        click.ClickException: a release that does not load (the message names the file and tensor).
    """
    if release.get("weights") or release.get("release_file"):
        return _load_release(device, release)
    if run_dir is None or not run_dir.is_dir():
        raise FileNotFoundError(
            f"no run folder {run_dir}: train one with `make train` or start the demo with --run DIR or --weights DIR"
        )
    from model.train import load_trained  # after the check: importing the model stack takes seconds

    model, tokenizer = load_trained(run_dir, device)
    config = model.config
    random_base = config.llm.path is None
    description = (
        f"run {run_dir} (config {config.name!r}, "
        f"{'random base weights' if random_base else 'LLM ' + str(config.llm.path)})"
    )
    return LoadedModel(model, tokenizer, description, meaningful=not random_base)


def _load_release(device: str, release: dict[str, Any]) -> LoadedModel:
    from model.release import BASE_DIR, NON_LORA
    from seagull.commands._options import load_model_from_options

    options = {"base": None, "encoder_weights": None, "config_name": None, "prompts": None, "dtype": "bf16"}
    options |= {"weights": None, "release_file": None, **release}
    model, tokenizer = load_model_from_options(None, device=device, **options)
    config = model.config
    source = release.get("weights") or release.get("release_file")
    # Only an export of a run with random base weights (tiny) carries its base LLM inside the release.
    base = Path(config.llm.path)
    random_base = base.name == BASE_DIR and (base.parent / NON_LORA).exists()
    description = (
        f"release {source} (config {config.name!r}, LLM {config.llm.path}, "
        f"prompts {config.prompts!r}, {options['dtype']})"
    )
    return LoadedModel(model, tokenizer, description, meaningful=not random_base)


class ModelSlot:
    """Holds the model, loaded by a background thread so that the page is up before the model.

    `get()` raises DemoError while the model is still loading or when loading failed, with a
    message for the page.
    """

    def __init__(self, loader: Callable[[], LoadedModel]) -> None:
        self._loader = loader
        self._loaded: LoadedModel | None = None
        self._error: str | None = None
        self._started = time.monotonic()
        self._done = threading.Event()

    def start(self) -> ModelSlot:
        threading.Thread(target=self._load, name="seagull-demo-model", daemon=True).start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True once loading finished (well or not)."""
        return self._done.wait(timeout)

    def get(self) -> LoadedModel:
        if self._loaded is not None:
            return self._loaded
        if self._error is not None:
            raise DemoError(f"The model could not be loaded: {self._error}")
        waited = time.monotonic() - self._started
        raise DemoError(f"The model is still loading ({waited:.0f} s so far): try again in a few seconds.")

    def status(self) -> str:
        """A Markdown line about the model for the page header."""
        if self._loaded is not None:
            warning = "" if self._loaded.meaningful else f"\n\n**Warning:** {TINY_WARNING}"
            return f"**Model:** {self._loaded.description}{warning}"
        if self._error is not None:
            return f"**Model:** not loaded: {self._error}"
        return "**Model:** still loading…"

    def _load(self) -> None:
        try:
            self._loaded = self._loader()
        except Exception as error:  # noqa: BLE001 - any failure becomes the page's message
            self._error = str(error) or type(error).__name__
        finally:
            self._done.set()


def assess_roi(loaded: LoadedModel, pixels: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """The three answers about one ROI.

    Args:
        pixels: uint8 RGB (H, W, 3); mask: bool (H, W), the ROI.

    Returns:
        {"quality" | "importance": {"word", "score" (1..5), "probabilities" {word: p}},
         "distortion": {"answer" (generated text), "present" [{"type", "severity"}] ([] when clean),
                        "severity_probabilities", "type_probabilities" ({word: p}, {} where the
                        tokenizer cannot tell the words apart by their first token)}}
    """
    import torch

    from model.data import region_item
    from model.scoring import assess_items

    tensor = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).float() / 255.0
    item = region_item(tensor, torch.from_numpy(mask), loaded.model.config)
    result = assess_items(loaded.model, loaded.tokenizer, [item])[0]
    answers = {
        task: {
            "word": result[f"{task}_level"],
            "score": result[f"{task}_score"],
            "probabilities": result[f"{task}_probabilities"],
        }
        for task in ("quality", "importance")
    }
    severity = _closed_set(loaded, item, "This region has", SEVERITY_WORDS)
    likeliest = max(severity, key=severity.get) if severity else SEVERITY_WORDS[2]
    answers["distortion"] = {
        "answer": result["distortion_answer"],
        "present": distortions_in(result["distortion_answer"]),
        "severity_probabilities": severity,
        "type_probabilities": _closed_set(loaded, item, f"This region has {likeliest}", DISTORTION_TYPES),
    }
    return answers


def distortions_in(answer: str) -> list[dict[str, str | None]]:
    """The distortion types an answer names, each with the severity word just before it.

    "This region has severe blur distortion and minor noise distortion." ->
    [{"type": "blur", "severity": "severe"}, {"type": "noise", "severity": "minor"}];
    "... without distortion." -> [].
    """
    words = re.findall(r"[a-z]+", answer.lower())
    if "without" in words:
        return []
    found, severity = [], None
    for word in words:
        if word in SEVERITY_WORDS:
            severity = word
        elif word in DISTORTION_TYPES:
            found.append({"type": word, "severity": severity})
            severity = None
    return found


def _closed_set(loaded: LoadedModel, item: dict, prefix: str, words: tuple[str, ...]) -> dict[str, float]:
    from model.prompts import prompt_style
    from model.scoring import closed_set_probabilities

    tokenizer = loaded.tokenizer
    ids = [tokenizer(" " + word, add_special_tokens=False)["input_ids"][0] for word in words]
    if len(set(ids)) != len(ids):
        return {}  # a shared first token: no honest closed set over these words
    # the wording the model answers in: the authors' for their release, the paper's for a run
    question = prompt_style(loaded.model.config.prompts).questions["distortion"]
    row = closed_set_probabilities(loaded.model, tokenizer, [item], question, prefix, ids)[0]
    return dict(zip(words, map(float, row), strict=True))
