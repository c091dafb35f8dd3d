"""The vicuna v1 conversation template and the loss mask (labels only on answer tokens).

A conversation is a list of (question, answer) turns about one ROI; the first question carries
the overview image as `<image>` (the paper's §4.3 prompt). Text is tokenized segment by segment
(prompt, answer, prompt, …) so that the boundary between ignored and supervised tokens is exact;
training and scoring tokenize the same way, so the answer position is the same in both.
`<image>` is expanded here to as many ids as the projector gives image tokens, so the model
replaces embeddings position by position (no change of length inside the model).
"""

from __future__ import annotations

from dataclasses import dataclass

IGNORE_INDEX = -100  # the label PyTorch's cross-entropy skips
SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)
ROLES = ("USER", "ASSISTANT")
IMAGE_TOKEN, GLOBAL_TOKEN, LOCAL_TOKEN = "<image>", "<global>", "<local>"
IMAGE_PROMPT = IMAGE_TOKEN + "\nThis is the overview of the image. "  # paper §4.3


@dataclass(frozen=True)
class Encoded:
    """One tokenized conversation: input_ids and labels, lists of int of equal length."""

    input_ids: list[int]
    labels: list[int]


def prompt_text(question: str, first: bool, image_prompt: str = IMAGE_PROMPT) -> str:
    """The text before an answer: system and image on the first turn, then `USER: … ASSISTANT:`."""
    head = f"{SYSTEM} " if first else ""
    image = image_prompt if first else ""
    return f"{head}{ROLES[0]}: {image}{question} {ROLES[1]}:"


def encode_conversation(
    tokenizer, turns: list[tuple[str, str]], image_tokens: int, max_length: int
) -> Encoded:
    """Tokenize turns in the vicuna v1 template; labels = answer tokens and their `</s>` only.

    Args:
        tokenizer: a PreTrainedTokenizer(Fast) with `<image>` among its tokens.
        turns: [(question, answer)], at least one.
        image_tokens: how many ids `<image>` expands to (the projector's token count).
        max_length: the LLM's maximum length; later turns are dropped to fit.

    Raises:
        ValueError: if not even the first turn fits.
    """
    ids, labels = [tokenizer.bos_token_id], [IGNORE_INDEX]
    for index, (question, answer) in enumerate(turns):
        prompt = _encode(tokenizer, prompt_text(question, index == 0), image_tokens)
        reply = _encode(tokenizer, " " + answer, 0) + [tokenizer.eos_token_id]
        if len(ids) + len(prompt) + len(reply) > max_length:
            if index == 0:
                raise ValueError(
                    f"the first turn needs {len(prompt) + len(reply) + 1} tokens > max_length {max_length}"
                )
            break
        ids += prompt + reply
        labels += [IGNORE_INDEX] * len(prompt) + reply
    return Encoded(ids, labels)


def encode_prompt(
    tokenizer, question: str, answer_prefix: str, image_tokens: int, image_prompt: str = IMAGE_PROMPT
) -> list[int]:
    """Ids of a one-turn prompt followed by the start of the answer (for closed-set scoring)."""
    ids = [tokenizer.bos_token_id] + _encode(
        tokenizer, prompt_text(question, True, image_prompt), image_tokens
    )
    prefix = answer_prefix.strip()
    return ids + (_encode(tokenizer, " " + prefix, 0) if prefix else [])


def _encode(tokenizer, text: str, image_tokens: int) -> list[int]:
    """Token ids of `text`, each `<image>` expanded to `image_tokens` ids.

    The text between `<image>` placeholders is tokenized piece by piece, as the authors'
    `tokenizer_image_token` does, so a SentencePiece tokenizer splits the words after `<image>`
    the way the released weights saw them.
    """
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    expanded: list[int] = []
    for index, piece in enumerate(text.split(IMAGE_TOKEN)):
        if index:
            expanded += [image_id] * image_tokens
        if piece:
            expanded += tokenizer(piece, add_special_tokens=False)["input_ids"]
    return expanded
