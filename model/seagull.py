"""SEAGULL assembled: frozen ConvNeXt -> projector (image tokens) + MFE (<global>, <local>) -> LLM.

The prompt's `<image>` ids (expanded by model/conversation.py to one per image token) get the
projected stride-16 features; every `<global>` / `<local>` id gets its ROI's global / local view
token. Everything else is the LLM's own embedding.
"""

from __future__ import annotations

import torch
from torch import nn

from model.config import ModelConfig
from model.conversation import GLOBAL_TOKEN, IMAGE_TOKEN, LOCAL_TOKEN
from model.encoder import FrozenEncoder
from model.llm import apply_lora, build_llm
from model.local_view import LocalView
from model.mfe import GlobalView
from model.projector import create_projector


class Seagull(nn.Module):
    """The SEAGULL model (paper Fig. 3).

    Args:
        config: a ModelConfig (model/config.py).
        tokenizer: the tokenizer whose ids the batches use (region tokens included).
        llm: an LLM to use instead of building one (e.g. already on the meta device).
        lora: wrap the LLM with LoRA adapters (training); False keeps the plain LLM.
    """

    def __init__(self, config: ModelConfig, tokenizer, llm: nn.Module | None = None, lora: bool = True):
        super().__init__()
        self.config = config
        llm = llm if llm is not None else build_llm(config.llm, tokenizer)
        width = llm.config.hidden_size
        self.encoder = FrozenEncoder(config.encoder)
        level = config.encoder.image_level
        self.projector = create_projector(config.projector, self.encoder.channels[level], width)
        mfe = config.mfe
        self.global_view = GlobalView(self.encoder.channels, mfe.width, mfe.heads, width)
        self.local_view = LocalView(mfe.local_size, mfe.local_grid, mfe.width, mfe.heads, width)
        self.llm = apply_lora(llm, config.llm.lora) if lora else llm
        self.token_ids = {
            name: tokenizer.convert_tokens_to_ids(name) for name in (IMAGE_TOKEN, GLOBAL_TOKEN, LOCAL_TOKEN)
        }

    @property
    def image_tokens(self) -> int:
        """Image tokens per image: (image_size / stride of the projected level)²."""
        side = self.config.image_size // self.encoder.strides[self.config.encoder.image_level]
        return side * side

    def region_tokens(self, images: torch.Tensor, masks: torch.Tensor, crops: torch.Tensor):
        """Visual tokens of a batch of (image, ROI).

        Args:
            images: float (B, 3, S, S) in 0..1, S = config.image_size.
            masks: bool or float (B, S, S), the ROI on the resized image.
            crops: float (B, 3, L, L) in 0..1, the ROI crops (model/local_view.crop_roi).

        Returns:
            image tokens (B, N, D), global tokens (B, D), local tokens (B, D); D = LLM width.
        """
        features = self.encoder(images)
        level = features[self.config.encoder.image_level]  # (B, C, h, w)
        image_tokens = self.projector(level.flatten(2).transpose(1, 2))  # (B, h*w, D)
        return image_tokens, self.global_view(features, masks), self.local_view(crops)

    def embed(
        self, input_ids: torch.Tensor, images: torch.Tensor, masks: torch.Tensor, crops: torch.Tensor
    ) -> torch.Tensor:
        """Input embeddings (B, T, D) with the placeholders replaced by the visual tokens."""
        image_tokens, global_tokens, local_tokens = self.region_tokens(images, masks, crops)
        is_image = input_ids == self.token_ids[IMAGE_TOKEN]  # (B, T)
        counts = is_image.sum(1)
        if input_ids.device.type != "meta" and not torch.equal(
            counts, torch.full_like(counts, image_tokens.shape[1])
        ):
            raise ValueError(
                f"every sequence needs {image_tokens.shape[1]} <image> ids, got {counts.tolist()}"
            )
        embeds = self.llm.get_input_embeddings()(input_ids)
        embeds = embeds.masked_scatter(is_image[..., None], image_tokens.to(embeds.dtype))
        for name, tokens in ((GLOBAL_TOKEN, global_tokens), (LOCAL_TOKEN, local_tokens)):
            where = (input_ids == self.token_ids[name])[..., None]
            embeds = torch.where(where, tokens[:, None, :].to(embeds.dtype), embeds)
        return embeds

    def forward(self, batch: dict[str, torch.Tensor]):
        """A training/scoring step: batch from model/data.collate. Returns the LLM's output (loss, logits)."""
        embeds = self.embed(batch["input_ids"], batch["images"], batch["masks"], batch["crops"])
        return self.llm(
            inputs_embeds=embeds, attention_mask=batch.get("attention_mask"), labels=batch.get("labels")
        )

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The parameters training changes (projector, MFE, LoRA, modules_to_save), by name."""
        return {name: p.detach() for name, p in self.named_parameters() if p.requires_grad}

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load what `trainable_state` saved; every trainable parameter must be present."""
        missing = [name for name, p in self.named_parameters() if p.requires_grad and name not in state]
        if missing:
            raise ValueError(
                f"checkpoint lacks {len(missing)} trainable parameters, e.g. {missing[:3]}: wrong config?"
            )
        self.load_state_dict(state, strict=False)


def build_model(config: ModelConfig, tokenizer=None) -> tuple[Seagull, object]:
    """Model and tokenizer of a config (the tokenizer from config.tokenizer_path or built offline)."""
    from model.tokenizer import load_tokenizer

    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(config.tokenizer_path)
    return Seagull(config, tokenizer), tokenizer
