"""Decoding helpers: a repetition guard that stops a looping sequence, not the whole batch."""

from __future__ import annotations

import numpy as np
import torch
from transformers import StoppingCriteria


class RepetitionGuard(StoppingCriteria):
    """Stops each sequence whose generated tail has become periodic.

    A loop is a tail that repeats a block of `period` tokens (a line, a table row, a word) at
    least `min_repeats` times and spans at least `min_span` tokens; `period` can be up to
    `max_period`. Both thresholds must hold, so short legitimate runs (a row of dots in a table
    of contents, a few identical table rows) are not cut. `looped[i]` records which rows were
    stopped, so the caller can mark those pages degenerate.
    """

    def __init__(
        self,
        prompt_length: int,
        min_repeats: int = 4,
        min_span: int = 128,
        max_period: int = 256,
        check_every: int = 4,
    ) -> None:
        self.prompt_length = prompt_length
        self.min_repeats = min_repeats
        self.min_span = min_span
        self.max_period = max_period
        self.check_every = check_every
        self.looped: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.BoolTensor:
        if self.looped is None:
            self.looped = torch.zeros(input_ids.shape[0], dtype=torch.bool)
        generated = input_ids.shape[1] - self.prompt_length
        # Checking every few steps is enough: a loop is only declared after `min_span` tokens.
        if generated >= self.min_span and generated % self.check_every == 0:
            window = self.max_period * self.min_repeats
            tails = input_ids[:, -min(generated, window) :].cpu().numpy()
            for row, tail in enumerate(tails):
                if not self.looped[row] and self.is_looping(tail):
                    self.looped[row] = True
        return self.looped.to(input_ids.device)

    def is_looping(self, tokens: np.ndarray) -> bool:
        """Whether the end of `tokens` repeats one block at least `min_repeats` times."""
        last = len(tokens) - 1
        longest_period = min(self.max_period, len(tokens) // self.min_repeats)
        # A period p is only possible where the last token reappears p positions earlier.
        candidates = np.nonzero(tokens[last - longest_period : last] == tokens[last])[0]
        for start in candidates[::-1]:
            period = longest_period - int(start)
            same = tokens[period:] == tokens[:-period]
            mismatches = np.nonzero(~same)[0]
            run = len(same) - (int(mismatches[-1]) + 1 if len(mismatches) else 0)
            span = run + period
            if span >= self.min_repeats * period and span >= self.min_span:
                return True
        return False
