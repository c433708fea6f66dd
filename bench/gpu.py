"""GPU throughput: pages/s at batch 1/8/32 with a fixed 512 output tokens, bf16, flash attention.

docvlm at `got-ocr2` and `vary-toy` sizes, transformers' GotOcr2 at `got-ocr2` size as the
reference, random weights, same run; peak GPU memory per row. `--smoke` runs tiny widths on CPU
in fp32 to prove the script works where no GPU is available.

    python bench/gpu.py                 # on the GPU machine
    python bench/gpu.py --smoke         # anywhere
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import torch
from generate import smoke_config  # bench/ is on sys.path when a bench script runs
from transformers import GotOcr2Config, GotOcr2ForConditionalGeneration

from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
from docvlm.model.configuration_docvlm import from_got_ocr2_dict


def smoke_configs() -> tuple[GotOcr2Config, DocVLMConfig]:
    got = smoke_config()
    toy = DocVLMConfig.from_preset(
        "vary-toy",
        vision_config=dict(
            hidden_size=32,
            output_channels=16,
            num_hidden_layers=3,
            num_attention_heads=2,
            mlp_dim=64,
            global_attn_indexes=[1],
        ),
        clip_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=224,
            patch_size=14,
        ),
        text_config=got.text_config.to_dict(),
    )
    return got, toy


def models(smoke: bool, dtype: torch.dtype, device: str, attn: str):
    """(name, model) pairs; docvlm got-ocr2 shares the reference's weights."""
    got_config, toy_config = smoke_configs() if smoke else (GotOcr2Config(), None)
    toy_config = toy_config or DocVLMConfig.from_preset("vary-toy")
    torch.manual_seed(0)
    reference = GotOcr2ForConditionalGeneration(got_config)
    ours_got = DocVLMForConditionalGeneration(
        DocVLMConfig(**from_got_ocr2_dict(got_config.to_dict()))
    )
    ours_got.load_state_dict(reference.state_dict())
    ours_toy = DocVLMForConditionalGeneration(toy_config)
    for model in (ours_got, ours_toy):
        model.set_attn_implementation(attn)
    for name, model in (
        ("transformers GotOcr2 (got-ocr2)", reference),
        ("docvlm got-ocr2", ours_got),
        ("docvlm vary-toy", ours_toy),
    ):
        yield name, model.to(device=device, dtype=dtype).eval()
        model.to("cpu")


def batch_inputs(config, batch: int, device: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    image_id = getattr(config, "image_token_id", None) or config.image_token_index
    tokens = 256
    row = [151644, 8948, 198, 151857, *[image_id] * tokens, 151858, 198, 23, 5, 151645]
    inputs = {
        "input_ids": torch.tensor([row] * batch, device=device),
        "attention_mask": torch.ones(batch, len(row), dtype=torch.long, device=device),
        "pixel_values": torch.randn(batch, 3, 1024, 1024, device=device, dtype=dtype),
    }
    if getattr(config, "clip_config", None) is not None:
        size = config.clip_config.image_size
        inputs["clip_pixel_values"] = torch.randn(batch, 3, size, size, device=device, dtype=dtype)
    return inputs


def pages_per_second(model, inputs: dict, new_tokens: int, device: str) -> tuple[float, float]:
    """(pages/s, peak GiB) for one generate call on the batch."""
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
        )
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    assert out.shape[1] == inputs["input_ids"].shape[1] + new_tokens
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    return inputs["input_ids"].shape[0] / seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny widths on CPU, fp32")
    parser.add_argument("--batches", type=int, nargs="+", default=None)
    parser.add_argument("--new-tokens", type=int, default=None)
    args = parser.parse_args()
    on_gpu = torch.cuda.is_available() and not args.smoke
    device, dtype = ("cuda", torch.bfloat16) if on_gpu else ("cpu", torch.float32)
    attn = "flash_attention_2" if on_gpu and importlib.util.find_spec("flash_attn") else "sdpa"
    batches = args.batches or ([1, 8, 32] if on_gpu else [1, 2])
    new_tokens = args.new_tokens or (512 if on_gpu else 8)
    print(f"device {device}, dtype {dtype}, docvlm attention {attn}, {new_tokens} new tokens")
    rates: dict[tuple[str, int], float] = {}
    for name, model in models(args.smoke, dtype, device, attn):
        for batch in batches:
            inputs = batch_inputs(model.config, batch, device, dtype)
            pages_per_second(model, inputs, 2, device)  # warm-up: kernels, allocator
            rate, peak = pages_per_second(model, inputs, new_tokens, device)
            rates[name, batch] = rate
            print(f"{name:>32} batch {batch:>2}: {rate:7.3f} pages/s, peak {peak:6.2f} GiB")
    for batch in batches:
        ratio = rates["docvlm got-ocr2", batch] / rates["transformers GotOcr2 (got-ocr2)", batch]
        print(f"batch {batch:>2}: docvlm / transformers pages/s at got-ocr2 size {ratio:.2f}x")


if __name__ == "__main__":
    main()
