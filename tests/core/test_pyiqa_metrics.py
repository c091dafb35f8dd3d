"""pyiqa's Q-Align import patches transformers' LLaMA; labelling and the model share processes."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama import configuration_llama, modeling_llama

from model.config import LLMConfig
from model.llm import build_llm
from model.tokenizer import load_tokenizer
from pipeline.pyiqa_metrics import create_pyiqa_metric, transformers_llama_kept

TINY_LLAMA = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4}


def _llama_is_genuine() -> bool:
    return (
        modeling_llama.LlamaDecoderLayer.__module__ == modeling_llama.__name__
        and configuration_llama.LlamaConfig is LlamaConfig
        and modeling_llama.LlamaForCausalLM.forward.__module__ == modeling_llama.__name__
    )


def test_q_align_patch_is_undone_and_llama_still_runs():
    with transformers_llama_kept():
        from pyiqa.archs.q_align.modeling_llama2 import replace_llama_modality_adaptive

        replace_llama_modality_adaptive()
        assert not _llama_is_genuine()  # the patch this module guards against is real
    assert _llama_is_genuine()
    llm = LlamaForCausalLM(LlamaConfig(vocab_size=50, **TINY_LLAMA))
    logits = llm(input_ids=torch.tensor([[1, 2, 3]])).logits
    assert logits.shape == (1, 3, 50)


def test_topiq_metric_leaves_llama_genuine():
    metric = create_pyiqa_metric("topiq_fr", device="cpu", pretrained=False, backbone_pretrain=False)
    assert metric.lower_better is False
    assert _llama_is_genuine()


def test_build_llm_names_the_patch_when_llama_was_replaced():
    tokenizer = load_tokenizer(None)
    with transformers_llama_kept():
        from pyiqa.archs.q_align.modeling_llama2 import replace_llama_modality_adaptive

        replace_llama_modality_adaptive()
        with pytest.raises(RuntimeError, match="create_pyiqa_metric"):
            build_llm(LLMConfig(config=TINY_LLAMA), tokenizer)
