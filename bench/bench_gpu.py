"""GPU costs of the heavy models of the build and of the model, for docs/SCALING.md.

Measures, on a CUDA device, with randomly initialised weights (compute, not accuracy, is timed: the
cost of a forward pass does not depend on the weights' values):
  - SAM image embedding (vit_b, vit_l, vit_h) at 1,024 px, and a batch of box prompts on one embedding;
  - TOPIQ-FR (pyiqa) per image pair at 224² and 512², batched;
  - ConvNeXt-Large (timm, features_only) at 512², the SEAGULL image encoder.

Writes OUT/gpu.json. Without CUDA it writes {"skipped": ...}: the CPU costs live in the other benches.

Usage: python bench/bench_gpu.py --out bench/results
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch


def _timed(fn: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    """Median seconds of `fn` over `repeat` runs, after `warmup` runs, synchronising CUDA."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def _bench_one_sam(sam, dtype: torch.dtype) -> dict[str, float]:
    image = torch.randn(1, 3, 1024, 1024, device="cuda")
    batch8 = image.expand(8, -1, -1, -1).contiguous()
    boxes = torch.rand(34, 1, 4, device="cuda").sort(dim=-1).values * 1024
    with torch.inference_mode(), torch.autocast("cuda", dtype=dtype):
        embed_s = _timed(lambda: sam.image_encoder(image), repeat=10)
        embed8_s = _timed(lambda: sam.image_encoder(batch8), repeat=5) / 8
        embedding = sam.image_encoder(image)

        def prompt_boxes() -> object:
            sparse, dense = sam.prompt_encoder(points=None, boxes=boxes.view(34, 4), masks=None)
            return sam.mask_decoder(
                image_embeddings=embedding,
                image_pe=sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=True,
            )

        prompt_s = _timed(prompt_boxes, repeat=20)
    return {
        "embed_s_per_image_batch1": embed_s,
        "embed_s_per_image_batch8": embed8_s,
        "decode_34_box_prompts_s": prompt_s,
    }


def bench_sam(dtype: torch.dtype) -> dict[str, dict[str, float]]:
    from segment_anything import sam_model_registry

    results = {}
    for name in ("vit_b", "vit_l", "vit_h"):
        sam = sam_model_registry[name](checkpoint=None).cuda().eval()
        results[name] = _bench_one_sam(sam, dtype)
        del sam
        torch.cuda.empty_cache()
    return results


def bench_topiq() -> dict[str, float]:
    import pyiqa

    metric = pyiqa.create_metric("topiq_fr", device="cuda", pretrained=False, backbone_pretrain=False)
    results = {}
    for side in (224, 512):
        for batch in (1, 32):
            dist = torch.rand(batch, 3, side, side, device="cuda")
            ref = torch.rand(batch, 3, side, side, device="cuda")
            with torch.inference_mode():
                seconds = _timed(functools.partial(metric, dist, ref), repeat=10)
            results[f"s_per_pair_{side}px_batch{batch}"] = seconds / batch
    return results


def bench_convnext(dtype: torch.dtype) -> dict[str, float]:
    import timm

    encoder = timm.create_model("convnext_large", pretrained=False, features_only=True).cuda().eval()
    results = {}
    for batch in (1, 32):
        images = torch.randn(batch, 3, 512, 512, device="cuda")
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype):
            results[f"s_per_image_512px_batch{batch}"] = (
                _timed(functools.partial(encoder, images), repeat=10) / batch
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not torch.cuda.is_available():
        report: dict[str, object] = {"skipped": "no CUDA device; see docs/SCALING.md for the H100 figures"}
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        report = {
            "device": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "weights": "random (timing only)",
        }
        sections = {
            "sam_bf16": lambda: bench_sam(torch.bfloat16),
            "sam_fp32": lambda: bench_sam(torch.float32),
            "topiq_fr_fp32": bench_topiq,
            "convnext_large_bf16": lambda: bench_convnext(torch.bfloat16),
        }
        for name, section in sections.items():
            try:
                report[name] = section()
            except Exception as error:  # one missing package must not lose the other figures
                report[name] = {"error": f"{type(error).__name__}: {error}"}
    (args.out / "gpu.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
