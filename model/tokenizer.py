"""Tokenizers: the LLM's own from a local folder, or a tiny WordLevel one built offline.

The tiny tokenizer's vocabulary is every word of the instruction templates (all questions and
answers any label can produce), both scoring prompt styles (model/prompts.py), the vicuna v1
system prompt and roles, and the special tokens;
it is built with the `tokenizers` library and wrapped in PreTrainedTokenizerFast.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from model.conversation import GLOBAL_TOKEN, IMAGE_PROMPT, IMAGE_TOKEN, LOCAL_TOKEN, ROLES, SYSTEM
from model.prompts import all_prompt_texts
from pipeline.instructions import all_template_texts
from pipeline.levels import LEVEL_WORDS
from pipeline.taxonomy import DISTORTION_TYPES

REGION_TOKENS = (IMAGE_TOKEN, GLOBAL_TOKEN, LOCAL_TOKEN)
BASE_SPECIALS = {"unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}


def load_tokenizer(path: str | None):
    """The tokenizer of a local LLM folder, or the offline WordLevel one when `path` is None.

    Either way `<image>`, `<global>` and `<local>` are added as special tokens.
    """
    if path is None:
        return build_word_tokenizer(corpus())
    if not Path(path).is_dir():
        raise FileNotFoundError(
            f"tokenizer folder {path} not found: set tokenizer.path to a local LLM folder"
        )
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    tokenizer.add_special_tokens({"additional_special_tokens": list(REGION_TOKENS)})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token  # LLaVA's choice for LLaMA, which has no pad token
    return tokenizer


def corpus() -> list[str]:
    """Every text the tiny tokenizer must cover."""
    words = [word for task in LEVEL_WORDS.values() for word in task] + list(DISTORTION_TYPES)
    return [
        *all_template_texts(),
        *all_prompt_texts(),  # the authors' prompt too, so `--prompts authors` has no unknown words
        SYSTEM,
        IMAGE_PROMPT,
        *(f"{role}:" for role in ROLES),
        " ".join(words),
    ]


def build_word_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """A WordLevel tokenizer (words and punctuation) whose vocabulary is exactly `texts`' words."""
    specials = [*BASE_SPECIALS.values(), *REGION_TOKENS]
    core = Tokenizer(models.WordLevel(unk_token=BASE_SPECIALS["unk_token"]))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.train_from_iterator(
        texts, trainers.WordLevelTrainer(special_tokens=specials, min_frequency=1, show_progress=False)
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, **BASE_SPECIALS)
    tokenizer.add_special_tokens({"additional_special_tokens": list(REGION_TOKENS)})
    return tokenizer
