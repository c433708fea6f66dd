"""GPU bench through the model runtime: the SAM branch's attention kernels, and GOT-size pages/s.

1. SAM branch at 1024 px (GOT-size encoder): flash_attn (when installed), SDPA and eager, time
   and peak memory per forward; ratios against eager, the reference path.
2. GOT-size pages/s at batch 1 and 8 with 512 new tokens, bf16: `Runtime.generate` (what
   `parse` runs: GOT's no-repeat-20 rule, repetition guard, confidences) against transformers'
   GotOcr2ForConditionalGeneration decoding the same inputs with the same weights and
   `no_repeat_ngram_size=20`, as GOT decodes.

Random weights, saved as a GOT-OCR-2.0-hf folder and loaded by `load_runtime` like a real one.
`--smoke` runs tiny widths on the CPU in fp32 (batch 1 and 2, 8 tokens): it proves the script
works; its numbers say nothing about a GPU.

    python bench/gpu.py            # on the GPU machine
    python bench/gpu.py --smoke    # anywhere
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw
from transformers import AutoTokenizer, GotOcr2Config, GotOcr2ForConditionalGeneration
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

from docvlm.model.processing_docvlm import IMG_PAD, TOKENIZER_DIR
from docvlm.model.runtime import Runtime, load_runtime

SMOKE_WIDTHS = {
    "vision_config": dict(hidden_size=32, output_channels=16, num_hidden_layers=3,
                          num_attention_heads=2, mlp_dim=64),
    "text_config": dict(model_type="qwen2", hidden_size=64, intermediate_size=128,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                        tie_word_embeddings=True),
}  # fmt: skip


def write_checkpoint(folder: Path, smoke: bool, dtype: torch.dtype) -> None:
    """A random GOT-OCR-2.0-hf folder (GOT size, or tiny widths) with docvlm's tiny tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    widths = SMOKE_WIDTHS if smoke else {}  # GotOcr2Config() is GOT-OCR2.0's own size
    config = GotOcr2Config(**widths, image_token_index=tokenizer.convert_tokens_to_ids(IMG_PAD))
    torch.manual_seed(0)
    GotOcr2ForConditionalGeneration(config).to(dtype).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    GotOcr2ImageProcessorPil(size={"height": 1024, "width": 1024}).save_pretrained(folder)


def measure(run: Callable[[], Any], device: torch.device) -> tuple[float, float, Any]:
    """(seconds, peak GiB, result) of one call after a warm-up; peak is NaN off the GPU."""
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    with torch.inference_mode():
        result = run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    return seconds, peak, result


def gib(peak: float) -> str:
    return "n/a (CPU)" if peak != peak else f"{peak:.2f} GiB"


def sam_kernels(runtime: Runtime, batch: int) -> None:
    encoder = runtime.model.model.vision_tower
    pixels = torch.randn(batch, 3, 1024, 1024, device=runtime.device, dtype=runtime.dtype)
    kernels = ["sdpa", "eager"]
    if runtime.device.type == "cuda" and importlib.util.find_spec("flash_attn"):
        kernels.insert(0, "flash_attention_2")
    results = {}
    for kernel in kernels:
        encoder.config._attn_implementation = kernel  # SAM reads it on every call
        with torch.inference_mode():
            seconds, peak, _ = measure(partial(encoder, pixels), runtime.device)
        results[kernel] = seconds, peak
        print(f"SAM 1024 px batch {batch} {kernel:>17}: {seconds * 1000:8.1f} ms, "
              f"peak {gib(peak)}")  # fmt: skip
    eager_seconds, eager_peak = results["eager"]
    for kernel in kernels[:-1]:
        seconds, peak = results[kernel]
        memory = f", {peak / eager_peak:.2f}x the peak memory" if peak == peak else ""
        print(f"  {kernel} vs eager: {eager_seconds / seconds:.2f}x faster{memory}")
    encoder.config._attn_implementation = "sdpa"


def pages_per_second(runtime: Runtime, batches: list[int], new_tokens: int, label: str) -> None:
    oracle = GotOcr2ForConditionalGeneration.from_pretrained(runtime.source, dtype=runtime.dtype)
    oracle = oracle.to(runtime.device).eval()
    tokenizer = runtime.processor.tokenizer
    for batch in batches:
        pages = [page_image(index) for index in range(batch)]
        inputs = runtime.processor(pages)
        ours = partial(
            runtime.generate, inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens
        )
        ours_seconds, ours_peak, generations = measure(ours, runtime.device)
        written = min(len(g.token_ids) for g in generations)
        on_device = {k: v.to(runtime.device) for k, v in inputs.items() if k != "num_views"}
        reference = partial(
            oracle.generate, **on_device,
            max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
            no_repeat_ngram_size=20, eos_token_id=runtime.processor.end_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
        reference_seconds, reference_peak, _ = measure(reference, runtime.device)
        print(f"{label} batch {batch:>2}: docvlm runtime {batch / ours_seconds:7.3f} pages/s "
              f"(peak {gib(ours_peak)}, >= {written} tokens/page), transformers GotOcr2 "
              f"{batch / reference_seconds:7.3f} pages/s (peak {gib(reference_peak)}); "
              f"ratio {reference_seconds / ours_seconds:.2f}x")  # fmt: skip


def page_image(index: int) -> Image.Image:
    image = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(image)
    for line in range(40):
        draw.text((80, 80 + 40 * line), f"Line {line} of page {index}: lorem ipsum", fill="black")
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny widths on the CPU, fp32")
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    parser.add_argument("--new-tokens", type=int, default=None)
    args = parser.parse_args()
    on_gpu = torch.cuda.is_available() and not args.smoke
    device, dtype = ("cuda", torch.bfloat16) if on_gpu else ("cpu", torch.float32)
    batches = args.batches or ([1, 8] if on_gpu else [1, 2])
    new_tokens = args.new_tokens or (512 if on_gpu else 8)
    with tempfile.TemporaryDirectory() as folder:
        write_checkpoint(Path(folder), smoke=not on_gpu, dtype=dtype)
        attn = "flash_attention_2" if on_gpu and importlib.util.find_spec("flash_attn") else "sdpa"
        runtime = load_runtime(folder, device=device, dtype=dtype, attn=attn)
        label = "GOT size" if on_gpu else "smoke widths"
        print(f"device {runtime.device}, dtype {runtime.dtype}, LLM attention {attn}, {label}")
        sam_kernels(runtime, batch=1)
        pages_per_second(runtime, batches, new_tokens, label)


if __name__ == "__main__":
    main()
