"""Benchmark of the render stage: time per reference for its 120 variants, where the time goes, and
the speed-up over the naive way (decoding the RAW file again for every variant).

    python bench/bench_render.py --out bench/results        # writes bench/results/render.json

Runs on one thread (OpenCV and BLAS) so that "images per second" is per core. The embedded sample's
DNGs are small (1-8 MP); `--sensor-mp` adds one DNG of a RAISE-like sensor size (default 16 MP, a Nikon D7000), where
decoding is as costly as for a real NEF.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads: per-core figures

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pipeline.decode import decode_raw  # noqa: E402
from pipeline.isp.blur import apply_defocus  # noqa: E402
from pipeline.isp.colorfulness import scale_chroma  # noqa: E402
from pipeline.isp.compression import jpeg_roundtrip  # noqa: E402
from pipeline.isp.demosaic import demosaic  # noqa: E402
from pipeline.isp.noise import add_mosaic_noise  # noqa: E402
from pipeline.isp.tone import apply_lut, display_lut  # noqa: E402
from pipeline.presets import load_presets  # noqa: E402
from pipeline.render import linear_from_mosaic, prepare_reference, render_variant, render_variants  # noqa: E402
from pipeline.sample import SAMPLE_PHOTOS, SampleConfig, sample_gains, unprocess, write_dng, write_sample  # noqa: E402
from pipeline.taxonomy import DISTORTION_TYPES  # noqa: E402


def _timed(fn, *args, repeat: int = 3, **kwargs) -> float:
    """Best-of-`repeat` wall time of fn(*args) in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


def bench_file(path: Path, presets, size: int, naive_per_type: int) -> dict:
    """Our way (decode once, 120 variants) against the naive way on a subset, extrapolated to 120."""
    start = time.perf_counter()
    decoded = decode_raw(path, size=size)
    t_decode = time.perf_counter() - start
    start = time.perf_counter()
    ref = prepare_reference(decoded, presets)
    t_reference = time.perf_counter() - start
    per_type = {}
    for dist_type in DISTORTION_TYPES:
        start = time.perf_counter()
        for _ in render_variants(decoded, presets, types=[dist_type], reference=ref):
            pass
        per_type[dist_type] = time.perf_counter() - start
    ours = t_decode + t_reference + sum(per_type.values())
    naive_levels = np.linspace(1, 20, naive_per_type).round().astype(int).tolist()
    start = time.perf_counter()
    for dist_type in DISTORTION_TYPES:
        for level in naive_levels:
            fresh = decode_raw(path, size=size)  # naive: decode the RAW file again for every variant
            render_variant(prepare_reference(fresh, presets), presets, dist_type, level)
    naive_per_variant = (time.perf_counter() - start) / (len(DISTORTION_TYPES) * len(naive_levels))
    postprocess = _timed(_rawpy_postprocess, path, decoded.size, repeat=2)
    return {
        "file": path.name,
        "raw_size": list(decoded.raw_size),
        "working_size": list(decoded.size),
        "mosaic_size": list(decoded.mosaic.shape),
        "mosaic_source": decoded.mosaic_source,  # "sensor" (planes resampled) or "libraw_ahd" (small RAW)
        "seconds": {
            "decode": t_decode,
            "reference": t_reference,
            **{f"variants_{t}": s for t, s in per_type.items()},
        },
        "seconds_per_reference_120_variants": ours,
        "distorted_images_per_second_per_core": 120 / ours,
        "naive_seconds_per_variant": naive_per_variant,
        "naive_seconds_120_extrapolated": naive_per_variant * 120,
        "speedup_vs_naive": naive_per_variant * 120 / ours,
        # A second naive baseline: LibRaw's own full ISP (rawpy.postprocess) run for every variant.
        "rawpy_postprocess_seconds_per_variant": postprocess,
        "speedup_vs_rawpy_postprocess_per_variant": postprocess * 120 / ours,
    }


def _rawpy_postprocess(path: Path, size: tuple[int, int]) -> np.ndarray:
    import rawpy

    with rawpy.imread(str(path)) as raw:
        rgb = raw.postprocess(use_camera_wb=True, output_bps=8)
    return cv2.resize(rgb, size[::-1], interpolation=cv2.INTER_AREA)


def bench_stages(path: Path, presets, size: int) -> dict[str, float]:
    """Milliseconds of each ISP stage on one image at the working size (best of 3)."""
    decoded = decode_raw(path, size=size)
    ref = prepare_reference(decoded, presets)
    rng = np.random.default_rng(0)
    lut = display_lut("smoothstep", 1.0)
    camera = demosaic(decoded.mosaic, cfa=decoded.cfa)
    stages = {
        "decode_raw": lambda: decode_raw(path, size=size),
        "mosaic_noise": lambda: add_mosaic_noise(decoded.mosaic, 0.01, 0.01, rng),
        "demosaic": lambda: demosaic(decoded.mosaic, cfa=decoded.cfa),
        "downsample_to_working": lambda: cv2.resize(camera, decoded.size[::-1], interpolation=cv2.INTER_AREA),
        "demosaic_wb_matrix_total": lambda: linear_from_mosaic(decoded.mosaic, decoded, presets.reference),
        "defocus_blur_r8": lambda: apply_defocus(ref.exposed, 8.0),
        "tone_lut_build": lambda: display_lut("smoothstep", 2.0),
        "tone_gamma_lut_apply": lambda: apply_lut(ref.exposed, lut),
        "colorfulness_oklab": lambda: scale_chroma(ref.exposed, 0.5),
        "jpeg_roundtrip_q10": lambda: jpeg_roundtrip(ref.image, 10),
        "png_write": lambda: cv2.imencode(".png", ref.image),
    }
    return {name: 1000 * _timed(fn) for name, fn in stages.items()}


def _sensor_dng(folder: Path, megapixels: float) -> Path:
    """One DNG with about `megapixels` photosites (a RAISE-sized sensor), from the motorcycle photo."""
    photo = SAMPLE_PHOTOS["motorcycle"]()
    upscale = max(1, round(np.sqrt(megapixels * 1e6 / (photo.shape[0] * photo.shape[1]))))
    config = SampleConfig(upscale=upscale)
    gains = sample_gains(0, 0, config)
    return write_dng(folder / "sensor.dng", unprocess(photo, gains, config), gains, config)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for render.json")
    parser.add_argument("--size", type=int, default=1024, help="working long side")
    parser.add_argument("-n", type=int, default=2, help="sample files to time")
    parser.add_argument(
        "--sensor-mp", type=float, default=16.0, help="add a DNG of this many megapixels (0: none)"
    )
    parser.add_argument("--naive-per-type", type=int, default=2, help="naive variants timed per type")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    presets = load_presets()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_sample(Path(tmp), n=args.n)
        if args.sensor_mp > 0:
            paths.append(_sensor_dng(Path(tmp), args.sensor_mp))
        files = [bench_file(path, presets, args.size, args.naive_per_type) for path in paths]
        stages = bench_stages(paths[-1], presets, args.size)
    result = {
        "benchmark": "render",
        "working_size": args.size,
        "threads": 1,
        "machine": platform.machine(),
        "files": files,
        "stage_ms_on_last_file": stages,
        "mean_seconds_per_reference_120_variants": float(
            np.mean([f["seconds_per_reference_120_variants"] for f in files])
        ),
        "mean_distorted_images_per_second_per_core": float(
            np.mean([f["distorted_images_per_second_per_core"] for f in files])
        ),
        "mean_speedup_vs_naive": float(np.mean([f["speedup_vs_naive"] for f in files])),
        "speedup_vs_naive_on_sensor_sized_raw": files[-1]["speedup_vs_naive"],
        "aims": {"speedup_vs_naive": 10, "distorted_images_per_second_per_core": 12},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "render.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("files",)}, indent=2))
    for f in files:
        print(
            f"{f['file']}: raw {f['raw_size']} -> {f['working_size']}: {f['seconds_per_reference_120_variants']:.2f} s / 120, "
            f"{f['distorted_images_per_second_per_core']:.1f} img/s/core, {f['speedup_vs_naive']:.1f}x vs naive decode, "
            f"{f['speedup_vs_rawpy_postprocess_per_variant']:.1f}x vs rawpy.postprocess per variant"
        )


if __name__ == "__main__":
    main()
