"""GOT-OCR2-size generation on CPU: docvlm vs transformers' GotOcr2, same random weights, same run.

One 1024² page, 256 new tokens (min = max): time to first token and decode tokens/s.

    python bench/generate.py [--new-tokens 256] [--smoke]
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import GotOcr2Config, GotOcr2ForConditionalGeneration

from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
from docvlm.model.configuration_docvlm import from_got_ocr2_dict


def smoke_config() -> GotOcr2Config:
    return GotOcr2Config(
        vision_config=dict(
            hidden_size=32,
            output_channels=16,
            num_hidden_layers=3,
            num_attention_heads=2,
            image_size=1024,
            mlp_dim=64,
        ),
        text_config=dict(
            model_type="qwen2",
            vocab_size=151860,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=4,
            tie_word_embeddings=True,
        ),
    )


def build_pair(got_config: GotOcr2Config):
    """transformers GotOcr2 (reference) and docvlm holding the very same weights."""
    torch.manual_seed(0)
    reference = GotOcr2ForConditionalGeneration(got_config).eval()
    ours = DocVLMForConditionalGeneration(DocVLMConfig(**from_got_ocr2_dict(got_config.to_dict())))
    ours.load_state_dict(reference.state_dict())
    ours.config._attn_implementation = "sdpa"
    return reference, ours.eval()


def page_prompt(config: DocVLMConfig) -> torch.Tensor:
    """GOT's chat prompt shape: a few text tokens around `<img>` + 256 `<imgpad>` + `</img>`."""
    image = [config.image_start_token_id, *[config.image_token_id] * config.num_image_tokens]
    return torch.tensor(
        [[151644, 8948, 198, *image, config.image_end_token_id, 198, 23, 5, 151645]]
    )


def timed_generate(model, inputs: dict, new_tokens: int) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False
        )
    assert out.shape[1] == inputs["input_ids"].shape[1] + new_tokens
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--smoke", action="store_true", help="tiny widths, to check the script")
    args = parser.parse_args()
    reference, ours = build_pair(smoke_config() if args.smoke else GotOcr2Config())
    inputs = {
        "input_ids": page_prompt(ours.config),
        "pixel_values": torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(1)),
    }
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, fp32")
    results = {}
    for name, model in (("transformers GotOcr2", reference), ("docvlm", ours)):
        first = timed_generate(model, inputs, 1)
        total = timed_generate(model, inputs, args.new_tokens)
        decode_rate = (args.new_tokens - 1) / max(total - first, 1e-9)
        results[name] = (first, decode_rate, args.new_tokens / total)
        print(
            f"{name:>20}: TTFT {first:.2f} s, decode {decode_rate:.1f} tok/s, "
            f"end-to-end {args.new_tokens / total:.1f} tok/s"
        )
    (ref_first, ref_rate, ref_total), (first, rate, total) = results.values()
    print(
        f"docvlm / transformers: TTFT speed-up {ref_first / first:.2f}x, "
        f"decode {rate / ref_rate:.2f}x, end-to-end {total / ref_total:.2f}x (target ≥ 1.0)"
    )


if __name__ == "__main__":
    main()
