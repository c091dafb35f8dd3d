"""`pyiqa.create_metric` without pyiqa's side effect on transformers' LLaMA.

When pyiqa cannot find a network's module by its class name (TOPIQ's `CFANet` lives in
`topiq_arch.py`), it imports every arch module it ships. One of them, Q-Align's
`modeling_llama2.py`, replaces `LlamaConfig`, `LlamaDecoderLayer` and the forward methods of
`transformers.models.llama` for the whole process, and a `LlamaForCausalLM` built afterwards
no longer works (`'LlamaConfig' object has no attribute 'rope_theta'`). Labelling and the
SEAGULL model share a process in the build, in notebooks and in our tests, so every pyiqa
metric is created here, and what the import replaced is put back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# (module, attribute) pairs Q-Align replaces (pyiqa/archs/q_align/modeling_llama2.py, replace_llama_modality_adaptive).
_LLAMA_MODULE_ATTRIBUTES = (
    ("configuration_llama", "LlamaConfig"),
    ("modeling_llama", "LlamaConfig"),
    ("modeling_llama", "LlamaAttention"),
    ("modeling_llama", "LlamaFlashAttention2"),
    ("modeling_llama", "LlamaSdpaAttention"),
    ("modeling_llama", "LlamaDecoderLayer"),
)
_LLAMA_CLASS_METHODS = (("LlamaModel", "forward"), ("LlamaForCausalLM", "forward"))


@contextmanager
def transformers_llama_kept() -> Iterator[None]:
    """Run the block, then restore transformers' LLaMA classes and methods as they were before it."""
    from transformers.models.llama import configuration_llama, modeling_llama

    modules = {"configuration_llama": configuration_llama, "modeling_llama": modeling_llama}
    missing = object()
    saved_attributes = [
        (modules[m], a, modules[m].__dict__.get(a, missing)) for m, a in _LLAMA_MODULE_ATTRIBUTES
    ]
    saved_methods = [
        (getattr(modeling_llama, c), n, getattr(modeling_llama, c).__dict__[n])
        for c, n in _LLAMA_CLASS_METHODS
    ]
    try:
        yield
    finally:
        for module, name, value in saved_attributes:
            if value is missing:
                module.__dict__.pop(name, None)
            else:
                setattr(module, name, value)
        for cls, name, value in saved_methods:
            setattr(cls, name, value)


def create_pyiqa_metric(name: str, **options: Any):
    """`pyiqa.create_metric(name, **options)`, leaving transformers' LLaMA untouched."""
    import pyiqa

    with transformers_llama_kept():
        return pyiqa.create_metric(name, **options)
