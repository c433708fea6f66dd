"""GOT's no-repeat-20-gram rule per decoding step: docvlm's incremental processor vs transformers'.

Both see the same (batch, prompt + generated) ids and a GOT-size (151 860) score row per
sequence; the ratio is transformers' time per step over docvlm's, with the bans checked equal.

    python bench/no_repeat_ngram.py [--steps 20]
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers.generation.logits_process import NoRepeatNGramLogitsProcessor

from docvlm.model.generation import NoRepeatNGram

VOCAB = 151_860
NGRAM = 20
PROMPT = 290  # GOT's single-view prompt: 256 <imgpad> plus the chat template


def time_per_step(processor, input_ids: torch.Tensor, steps: int) -> tuple[float, torch.Tensor]:
    """Seconds per step over the last `steps` positions (each call sees one more token)."""
    scores = torch.zeros(input_ids.shape[0], VOCAB)
    length = input_ids.shape[1]
    processor(input_ids[:, : length - steps], scores)  # index the context once, as generate does
    started = time.perf_counter()
    for end in range(length - steps + 1, length + 1):
        out = processor(input_ids[:, :end], scores)
    return (time.perf_counter() - started) / steps, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(0)
    print(f"{'batch':>5} {'tokens':>6} {'transformers ms':>15} {'docvlm ms':>9} {'ratio':>6}")
    for batch, generated in [(1, 500), (1, 2000), (8, 2000), (8, 4000)]:
        input_ids = torch.randint(0, 5000, (batch, PROMPT + generated), generator=generator)
        # A looping tail, so that both processors actually ban tokens at the end.
        input_ids[:, -200:] = input_ids[:, -400:-200].clone()
        stock, stock_out = time_per_step(NoRepeatNGramLogitsProcessor(NGRAM), input_ids, args.steps)
        ours, ours_out = time_per_step(NoRepeatNGram(NGRAM), input_ids, args.steps)
        assert torch.equal(stock_out, ours_out) and stock_out.isinf().any()
        print(
            f"{batch:>5} {generated:>6} {stock * 1e3:>15.2f} {ours * 1e3:>9.3f} "
            f"{stock / ours:>5.0f}×"
        )


if __name__ == "__main__":
    main()
