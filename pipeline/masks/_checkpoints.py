"""Local weight files: existence, type check against known signatures, loading into a built model.

Every error names the path given, the file expected and where users get it (`checkpoints.yaml`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class CheckpointSpec:
    """What one registry name expects of its weight file.

    Attributes:
        name: registry name ("sam_vit_b").
        file: the published file name ("sam_vit_b_01ec64.pth").
        url: where users download it.
        signature: state-dict key -> shape that identifies this variant.
    """

    name: str
    file: str
    url: str
    signature: dict[str, tuple[int, ...]]

    def hint(self) -> str:
        return f"{self.name} expects {self.file}, downloaded from {self.url}"


def checkpoint_specs() -> dict[str, CheckpointSpec]:
    """All known specs by registry name (from checkpoints.yaml)."""
    return dict(_specs())


def load_state_dict(path: str | Path, spec: CheckpointSpec) -> dict[str, torch.Tensor]:
    """Read a local checkpoint and check that it is the variant `spec` describes.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: not a PyTorch state dict, or the state dict of another model (named if known).
    """
    import torch  # here, not at the top: see pipeline/masks/__init__.py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; {spec.hint()}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a file that is not a checkpoint
        raise ValueError(f"checkpoint {path} is not a PyTorch state dict ({error}); {spec.hint()}") from error
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # training checkpoints wrap the weights
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path} holds a {type(state).__name__}, not a state dict; {spec.hint()}")
    _check_signature(path, state, spec)
    return state


def load_into(model: torch.nn.Module, path: str | Path, spec: CheckpointSpec) -> torch.nn.Module:
    """`load_state_dict` then a strict `model.load_state_dict`, with the mismatch explained."""
    state = load_state_dict(path, spec)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first_lines = "; ".join(str(error).splitlines()[:3])
        raise ValueError(
            f"checkpoint {path} does not fit {spec.name}: {first_lines}; {spec.hint()}"
        ) from error
    return model


def _check_signature(path: Path, state: dict[str, Any], spec: CheckpointSpec) -> None:
    if _matches(state, spec):
        return
    others = [s.name for s in _specs().values() if s.name != spec.name and _matches(state, s)]
    present = any(key in state for key in spec.signature)
    if others or present:
        looks = f"it looks like a {others[0]} checkpoint (use that name)" if others else "other shapes"
        raise ValueError(f"checkpoint {path} is not {spec.name}: {looks}; {spec.hint()}")
    # Unknown layout: let the strict load report the differences.


def _matches(state: dict[str, Any], spec: CheckpointSpec) -> bool:
    return all(
        key in state and tuple(getattr(state[key], "shape", ())) == shape
        for key, shape in spec.signature.items()
    )


@cache
def _specs() -> dict[str, CheckpointSpec]:
    raw = yaml.safe_load(resources.files("pipeline.masks").joinpath("checkpoints.yaml").read_text())
    return {
        name: CheckpointSpec(
            name, entry["file"], entry["url"], {k: tuple(v) for k, v in entry["signature"].items()}
        )
        for name, entry in raw.items()
    }
