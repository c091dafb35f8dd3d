"""Does a trained model read its ROI tokens? Attention of the answer position to `<global>`/`<local>`.

A diagnostic (docs/model.md, "What make train reaches"), not a benchmark. For `--rois` ROIs of one
reference, drawn as `evaluate --limit` draws, it builds the scoring prompt of the distortion question
followed by the answer's start ("This region has"), runs the LLM once with eager attention, and
reports for every layer and head the share of the last position's attention on the image tokens, on
`<global>` and on `<local>`, with the mean L2 norm of each kind of visual token (the LLM's word
embeddings for scale). A model whose answer never attends to `<local>` cannot name a type from the
ROI's crop, whatever its MFE has learned. Prints one JSON object. Usage:
    python bench/region_attention.py --run runs/tiny-stage1 --shards 'shards/seagull100w-*.tar' --ref coffee
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from model.conversation import GLOBAL_TOKEN, IMAGE_TOKEN, LOCAL_TOKEN, encode_prompt
from model.data import labelled_rois, open_shards, stream_items
from model.evaluate import stratified_selection
from model.prompts import prompt_style
from model.scoring import visual_tokens
from model.train import load_trained

ANSWER_START = "This region has"  # the distortion answer's start: the next words are severity and type


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, required=True, help="a training run folder (seagull train --out)")
    parser.add_argument("--shards", required=True, help="shard glob of a labelled build")
    parser.add_argument("--ref", required=True, help="reference whose ROIs are shown (either split)")
    parser.add_argument("--rois", type=int, default=48)
    args = parser.parse_args()

    model, tokenizer = load_trained(args.run)
    model.eval()
    config = model.config
    # The reference's split (its ROIs are read from it), found by reading each split's labels once.
    split, rois = next(
        (split, rois)
        for split in ("train", "test")
        if (rois := [r for r in labelled_rois(args.shards, config, split) if r["ref_id"] == args.ref])
    )
    selection = stratified_selection(rois, args.rois)
    items = list(
        stream_items(open_shards(args.shards, config, split, selection), config, stage=2, seed=0, epoch=0)
    )
    style = prompt_style(config.prompts)
    prompt = encode_prompt(
        tokenizer, style.questions["distortion"], ANSWER_START, model.image_tokens, style.image_prompt
    )
    input_ids = torch.tensor([prompt] * len(items))
    visual = visual_tokens(model, items)
    embeds = model.embed_tokens(input_ids, visual)
    model.llm.config._attn_implementation = "eager"  # sdpa returns no attention weights
    with torch.no_grad():
        attentions = model.llm(inputs_embeds=embeds, output_attentions=True).attentions
    where = {
        name: input_ids[0] == tokenizer.convert_tokens_to_ids(token)
        for name, token in (("image", IMAGE_TOKEN), ("global", GLOBAL_TOKEN), ("local", LOCAL_TOKEN))
    }
    last = [layer[:, :, -1, :] for layer in attentions]  # (ROIs, heads, positions) per layer
    words = model.llm.get_input_embeddings().weight
    result = {
        "run": str(args.run),
        "ref": args.ref,
        "rois": len(items),
        "attention_of_answer": {
            name: [[round(float(v), 4) for v in layer[..., mask].sum(-1).mean(0)] for layer in last]
            for name, mask in where.items()
        },
        "token_norm": {
            "word": round(float(words.norm(dim=-1).mean()), 2),
            **{
                name: round(float(t.norm(dim=-1).mean()), 2)
                for name, t in zip(("image", "global", "local"), visual, strict=True)
            },
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
