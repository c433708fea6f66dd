"""Decoding helpers: a repetition guard that stops a looping sequence, not the whole batch."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection

import numpy as np
import torch
from rapidfuzz.distance import Levenshtein
from transformers import LogitsProcessor, PreTrainedTokenizerBase, StoppingCriteria


class RepetitionGuard(StoppingCriteria):
    """Stops each sequence that has started to loop; `looped[i]` says which rows it stopped.

    Two signs of a loop, checked on the generated tokens only:
    - a periodic tail: one block of up to `max_period` tokens (a word, a line, a table row)
      repeated at least `min_repeats` times back to back over at least `min_span` tokens;
    - a recurring line: of the last `line_window` lines (at least `min_lines` of them), one
      line occurs verbatim `min_exact_lines` times and at least `similar_share` of all lines
      are near-copies of it (token edit distance ≤ `max_line_distance`). This is the loop
      GOT's no-repeat-n-gram decoding still produces: one line and its garbled copies.
    Both are set above what pages legitimately repeat: dot leaders, a few identical rows, a
    LaTeX table's `\\hline` between every row (half the lines). A long run of identical
    rows (an empty ledger) does count as a loop.
    """

    def __init__(
        self,
        prompt_length: int,
        newline_ids: Collection[int] = (),
        min_repeats: int = 4,
        min_span: int = 192,
        max_period: int = 256,
        line_window: int = 32,
        min_lines: int = 16,
        min_exact_lines: int = 4,
        similar_share: float = 0.75,
        max_line_distance: float = 0.34,
        check_every: int = 4,
    ) -> None:
        self.prompt_length = prompt_length
        self.newline_ids = np.array(sorted(newline_ids), dtype=np.int64)
        self.min_repeats = min_repeats
        self.min_span = min_span
        self.max_period = max_period
        self.line_window = line_window
        self.min_lines = min_lines
        self.min_exact_lines = min_exact_lines
        self.similar_share = similar_share
        self.max_line_distance = max_line_distance
        self.check_every = check_every
        self.looped: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.BoolTensor:
        if self.looped is None:
            self.looped = torch.zeros(input_ids.shape[0], dtype=torch.bool)
        generated = input_ids.shape[1] - self.prompt_length
        if generated > 0 and generated % self.check_every == 0:
            tails = input_ids[:, self.prompt_length :].cpu().numpy()
            for row, tail in enumerate(tails):
                if not self.looped[row] and self.is_looping(tail):
                    self.looped[row] = True
        return self.looped.to(input_ids.device)

    def is_looping(self, tokens: np.ndarray) -> bool:
        """Whether generated `tokens` end in a periodic tail or keep repeating one line."""
        return self._periodic_tail(tokens) or self._recurring_line(tokens)

    def _periodic_tail(self, tokens: np.ndarray) -> bool:
        if len(tokens) < self.min_span:
            return False
        tokens = tokens[-self.max_period * self.min_repeats :]
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

    def _recurring_line(self, tokens: np.ndarray) -> bool:
        if not len(self.newline_ids):
            return False
        ends = np.nonzero(np.isin(tokens, self.newline_ids))[0][-self.line_window - 1 :]
        lines = [tuple(tokens[a + 1 : b + 1]) for a, b in zip(ends[:-1], ends[1:], strict=True)]
        lines = [line for line in lines if len(line) >= 2]  # blank lines say nothing
        if len(lines) < self.min_lines:
            return False
        line, count = Counter(lines).most_common(1)[0]
        if count < self.min_exact_lines:
            return False
        similar = sum(
            Levenshtein.normalized_distance(line, other) <= self.max_line_distance
            for other in lines
        )
        return similar >= self.similar_share * len(lines)


def newline_token_ids(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    """Ids of every token that ends a line: those whose text contains a newline."""
    vocab = tokenizer.get_vocab()
    # Byte-level BPE vocabularies (Qwen, the tiny tokenizer) spell "\n" as "Ċ".
    return {index for token, index in vocab.items() if "Ċ" in token or "\n" in token}


class NoRepeatNGram(LogitsProcessor):
    """transformers' `no_repeat_ngram_size`, with the n-grams indexed as they are generated.

    Same bans, but each step adds one n-gram per row instead of re-reading the whole sequence:
    at GOT's n = 20 and a few thousand tokens, the stock processor costs ~100 ms per step on a
    CPU core, more than a GPU decoding step. Use a fresh instance per `generate` call.
    """

    def __init__(self, ngram_size: int) -> None:
        self.ngram_size = ngram_size
        self.seen: list[defaultdict[tuple[int, ...], set[int]]] = []
        self.next_end = ngram_size - 1  # first position whose n-gram is not indexed yet

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        n = self.ngram_size
        batch, length = input_ids.shape
        if length + 1 < n:
            return scores
        if not self.seen:
            self.seen = [defaultdict(set) for _ in range(batch)]
        first = max(0, self.next_end - n + 1)
        rows = input_ids[:, first:].tolist()
        processed = scores
        for row, tokens in enumerate(rows):
            seen = self.seen[row]
            for end in range(self.next_end - first, len(tokens)):
                seen[tuple(tokens[end - n + 1 : end])].add(tokens[end])
            banned = seen.get(tuple(tokens[len(tokens) - n + 1 :]))
            if banned:
                if processed is scores:
                    processed = scores.clone()
                processed[row, list(banned)] = -float("inf")
        self.next_end = length
        return processed


class GreedyConfidence(LogitsProcessor):
    """Records each step's log-probability of the token greedy decoding picks; put it last.

    `confidence(lengths)` turns that into one number per sequence: the geometric mean token
    probability over its first `lengths[i]` generated tokens.
    """

    def __init__(self) -> None:
        self.steps: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.steps.append(torch.log_softmax(scores.float(), dim=-1).amax(dim=-1))
        return scores

    def confidence(self, lengths: list[int]) -> list[float | None]:
        """Geometric-mean probability per row; None for a row with no tokens."""
        if not self.steps:
            return [None] * len(lengths)
        log_probs = torch.stack(self.steps, dim=1).cpu()  # (batch, steps)
        return [
            float(log_probs[row, :length].mean().exp()) if length else None
            for row, length in enumerate(lengths)
        ]
