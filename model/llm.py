"""The language model: LLaMA (Vicuna-7B in the paper) from a local folder or a config, with LoRA."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama import modeling_llama

from model.config import LLMConfig, LoRAConfig

# LoRA on every linear layer of the LLaMA blocks, as LLaVA's LoRA recipe does.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def build_llm(config: LLMConfig, tokenizer, dtype: torch.dtype = torch.float32) -> LlamaForCausalLM:
    """A LlamaForCausalLM whose vocabulary covers `tokenizer` (region tokens included).

    With `config.path` the weights load from that local folder; otherwise a model with random
    weights is built from `config.config` (LlamaConfig keyword arguments).
    """
    _check_llama_is_genuine()
    if config.path is None:
        llama_config = LlamaConfig(
            **{"vocab_size": len(tokenizer), **config.config},
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        llm = LlamaForCausalLM(llama_config).to(dtype)
    else:
        if not Path(config.path).is_dir():
            raise FileNotFoundError(f"LLM folder {config.path} not found: set llm.path in the model config")
        llm = LlamaForCausalLM.from_pretrained(config.path, dtype=dtype, local_files_only=True)
    if llm.get_input_embeddings().num_embeddings < len(tokenizer):
        llm.resize_token_embeddings(len(tokenizer))
    return llm


def _check_llama_is_genuine() -> None:
    # pyiqa's Q-Align module replaces transformers' LLaMA classes for the whole process when it is
    # imported; the model then fails deep inside transformers with an AttributeError. Say why, early.
    layer = modeling_llama.LlamaDecoderLayer
    if layer.__module__ != modeling_llama.__name__:
        raise RuntimeError(
            f"transformers' LlamaDecoderLayer was replaced by {layer.__module__} (pyiqa's Q-Align imports patch it for "
            "the whole process). Create pyiqa metrics with pipeline.pyiqa_metrics.create_pyiqa_metric, which undoes "
            "the patch, or run the model in a process that does not import pyiqa's q_align."
        )


def apply_lora(llm: LlamaForCausalLM, config: LoRAConfig):
    """Wrap the LLM with peft LoRA adapters; only they (and `modules_to_save`) stay trainable."""
    lora = LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(LORA_TARGETS),
        modules_to_save=list(config.modules_to_save) or None,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(llm, lora)
