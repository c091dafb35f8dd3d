"""SEAGULL assembled: frozen ConvNeXt -> projector (image tokens) + MFE (<global>, <local>) -> LLM.

The prompt's `<image>` ids (expanded by model/conversation.py to one per image token) get the
projected stride-16 features; each `<global>` / `<local>` id gets the global / local view token
of the ROI it names. A conversation may be about several ROIs of its image, as the authors
train: the batch then carries `roi_counts` (ROIs per image, stored image after image) and
`region_index` (for each `<global>` in reading order, the ROI it names), and the encoder runs
once per image whatever its ROI count. Everything else is the LLM's own embedding.
"""

from __future__ import annotations

import torch
from torch import nn

from model.config import ModelConfig
from model.conversation import GLOBAL_TOKEN, IMAGE_TOKEN, LOCAL_TOKEN
from model.encoder import FrozenEncoder
from model.llm import apply_lora, build_llm
from model.local_view import LocalView
from model.mfe import GlobalView, RegionLayout
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
        positions = tuple((config.image_size // stride) ** 2 for stride in self.encoder.strides)
        self.global_view = GlobalView(self.encoder.channels, positions, mfe.width, mfe.heads, width)
        self.local_view = LocalView(
            mfe.local_size, mfe.local_grid, mfe.heads, width, mfe.local_kernel, mfe.local_channels
        )
        self.llm = apply_lora(llm, config.llm.lora) if lora else llm
        self.token_ids = {
            name: tokenizer.convert_tokens_to_ids(name) for name in (IMAGE_TOKEN, GLOBAL_TOKEN, LOCAL_TOKEN)
        }

    @property
    def image_tokens(self) -> int:
        """Image tokens per image: (image_size / stride of the projected level)²."""
        side = self.config.image_size // self.encoder.strides[self.config.encoder.image_level]
        return side * side

    def region_tokens(
        self, images: torch.Tensor, masks: torch.Tensor, crops: torch.Tensor, roi_counts=None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Visual tokens of N images and their R ROIs.

        Args:
            images: float (N, 3, S, S) in 0..1, S = config.image_size.
            masks: bool or float (R, S, S), the ROIs on the resized images, image after image.
            crops: float (R, 3, L, L) in 0..1, the ROI crops (model/local_view.crop_roi).
            roi_counts: ROIs per image (N ints, a CPU tensor or list); None = one ROI per image.

        Returns:
            image tokens (N, n, D), global tokens (R, D), local tokens (R, D); D = LLM width.
        """
        counts = [1] * images.shape[0] if roi_counts is None else [int(c) for c in roi_counts]
        if (
            len(counts) != images.shape[0]
            or sum(counts) != masks.shape[0]
            or crops.shape[0] != masks.shape[0]
        ):
            raise ValueError(
                f"{images.shape[0]} images, {masks.shape[0]} masks, {crops.shape[0]} crops and ROI counts "
                f"{counts} disagree: roi_counts must give each image's number of masks and crops"
            )
        dtype = next(self.encoder.parameters()).dtype  # a bf16 model takes bf16 pixels
        images, crops = images.to(dtype), crops.to(dtype)
        features = self.encoder(images)  # once per image, whatever its ROI count
        level = features[self.config.encoder.image_level]  # (N, C, h, w)
        image_tokens = self.projector(level.flatten(2).transpose(1, 2))  # (N, h*w, D)
        layout = RegionLayout(counts, images.device)
        global_tokens = self.global_view(features, masks, layout)
        local_tokens = self.local_view(self.encoder.normalize(crops))
        return image_tokens, global_tokens, local_tokens

    def embed(
        self,
        input_ids: torch.Tensor,
        images: torch.Tensor,
        masks: torch.Tensor,
        crops: torch.Tensor,
        roi_counts=None,
        region_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Input embeddings (B, T, D) with the placeholders replaced by the visual tokens.

        Args:
            roi_counts: see `region_tokens`.
            region_index: long (G,), for each `<global><local>` pair of the batch in reading order
                (row after row) the index of its ROI among the R; None: each row's pairs all name
                the row's one ROI.
        """
        visual = self.region_tokens(images, masks, crops, roi_counts)
        return self.embed_tokens(input_ids, visual, region_index)

    def embed_tokens(
        self,
        input_ids: torch.Tensor,
        visual: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        region_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`embed` with the visual tokens already computed (`region_tokens`): several prompts about
        the same ROIs (scoring asks three questions) run the encoder and the MFE once."""
        image_tokens, global_tokens, local_tokens = visual
        is_image = input_ids == self.token_ids[IMAGE_TOKEN]  # (B, T)
        is_global = input_ids == self.token_ids[GLOBAL_TOKEN]
        is_local = input_ids == self.token_ids[LOCAL_TOKEN]
        if input_ids.device.type != "meta":
            counts = is_image.sum(1)
            if not torch.equal(counts, torch.full_like(counts, image_tokens.shape[1])):
                raise ValueError(
                    f"every sequence needs {image_tokens.shape[1]} <image> ids, got {counts.tolist()}"
                )
            if not torch.equal(is_global.sum(1), is_local.sum(1)):
                raise ValueError("every <global> needs its <local>: the counts per sequence differ")
            if region_index is None:
                region_index = torch.nonzero(is_global)[:, 0]  # one ROI per row: the row's own
            if region_index.numel() != int(is_global.sum()):
                raise ValueError(
                    f"{int(is_global.sum())} <global> ids in the batch but {region_index.numel()} region indices"
                )
        embeds = self.llm.get_input_embeddings()(input_ids)
        embeds = embeds.masked_scatter(is_image[..., None], image_tokens.to(embeds.dtype))
        for where, tokens in ((is_global, global_tokens), (is_local, local_tokens)):
            # masked_scatter fills the positions in reading order: pair g gets ROI region_index[g]
            embeds = embeds.masked_scatter(where[..., None], tokens[region_index].to(embeds.dtype))
        return embeds

    def forward(self, batch: dict[str, torch.Tensor]):
        """A training/scoring step: batch from model/data.collate. Returns the LLM's output (loss, logits)."""
        embeds = self.embed(
            batch["input_ids"],
            batch["images"],
            batch["masks"],
            batch["crops"],
            batch.get("roi_counts"),
            batch.get("region_index"),
        )
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
