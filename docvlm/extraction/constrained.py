"""JSON-Schema-constrained generation for any transformers causal LM, and per-field confidence.

The schema is compiled to a grammar by xgrammar (the engine vLLM and SGLang use); a
`LogitsProcessor` masks, at every step, the tokens that would leave the grammar, so what the
model writes is valid JSON for the schema by construction — whatever its weights. A field's
confidence is the probability, under that constrained distribution, of the tokens that wrote its
value (their product: the chance the model would write this exact value again).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList, PreTrainedTokenizerBase

from docvlm.errors import EngineUnavailableError, SchemaError


def _xgrammar() -> Any:
    try:
        import xgrammar
    except ImportError:
        raise EngineUnavailableError(
            "constrained extraction needs xgrammar: pip install xgrammar"
        ) from None
    return xgrammar


def compile_grammar(
    json_schema: dict[str, Any],
    tokenizer: PreTrainedTokenizerBase,
    vocab_size: int,
    stop_token_ids: list[int],
) -> Any:
    """Grammar for compact JSON (no free whitespace) valid under `json_schema`."""
    xgr = _xgrammar()
    info = xgr.TokenizerInfo.from_huggingface(
        tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids
    )
    try:
        return xgr.GrammarCompiler(info).compile_json_schema(
            json.dumps(json_schema), any_whitespace=False, strict_mode=True
        )
    except RuntimeError as error:
        raise SchemaError(f"schema cannot be compiled to a grammar: {error}") from None


class JSONSchemaLogitsProcessor(LogitsProcessor):
    """Masks the logits of every token the compiled grammar does not allow next, per row."""

    def __init__(
        self, grammar: Any, batch_size: int, prompt_length: int, end_token_id: int
    ) -> None:
        xgr = _xgrammar()
        self.end_token_id = end_token_id
        self._xgr = xgr
        self.matchers = [xgr.GrammarMatcher(grammar) for _ in range(batch_size)]
        info = grammar.tokenizer_info
        self.bitmask = xgr.allocate_token_bitmask(batch_size, info.vocab_size)
        self.prompt_length = prompt_length
        # xgrammar's JSON strings admit raw control bytes, which JSON forbids; compact JSON never
        # needs one, so tokens containing them are banned outright.
        self.banned = torch.tensor(
            [any(byte < 0x20 for byte in token) for token in info.decoded_vocab], dtype=torch.bool
        )
        self.banned[info.stop_token_ids] = False

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        if input_ids.shape[1] > self.prompt_length:
            for row, matcher in enumerate(self.matchers):
                if not matcher.is_terminated():
                    matcher.accept_token(int(input_ids[row, -1]))
        # Finished rows keep an all-allowed mask: generate() pads them, and an all -inf row would
        # turn sampling's softmax into NaN.
        self._xgr.reset_token_bitmask(self.bitmask)
        for row, matcher in enumerate(self.matchers):
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(self.bitmask, row)
        self._xgr.apply_token_bitmask_inplace(scores, self.bitmask.to(scores.device))
        vocab = min(scores.shape[-1], len(self.banned))
        scores[:, :vocab].masked_fill_(self.banned[:vocab].to(scores.device), float("-inf"))
        return scores

    def finish(self, row: int, last_token: int) -> bool:
        """Feed a row's final token (generation stops before another call); True if the
        output reached the grammar's end."""
        matcher = self.matchers[row]
        if not matcher.is_terminated():
            matcher.accept_token(last_token)
        return matcher.is_terminated()


@dataclass
class JSONGeneration:
    """One row's constrained output: text, parsed value and confidence per JSON pointer."""

    text: str
    value: Any
    complete: bool  # the grammar reached its end (False: cut by max_new_tokens)
    confidences: dict[str, float] = field(default_factory=dict)


def generate_json(
    model: Any,
    inputs: dict[str, torch.Tensor],
    grammar: Any,
    tokenizer: PreTrainedTokenizerBase,
    *,
    eos_token_id: int,
    pad_token_id: int | None = None,
    max_new_tokens: int = 1024,
    **generate_options: Any,
) -> list[JSONGeneration]:
    """Generate under `grammar` for a (left-padded) batch; parse each row's JSON."""
    batch_size, prompt_length = inputs["input_ids"].shape
    constraint = JSONSchemaLogitsProcessor(grammar, batch_size, prompt_length, eos_token_id)
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            logits_processor=LogitsProcessorList([constraint]),
            max_new_tokens=max_new_tokens,
            eos_token_id=eos_token_id,
            pad_token_id=pad_token_id if pad_token_id is not None else eos_token_id,
            return_dict_in_generate=True,
            output_scores=True,
            **generate_options,
        )
    new_tokens = output.sequences[:, prompt_length:]
    # Scores are the processed logits: log-probabilities under the constrained distribution.
    log_probs = torch.stack(output.scores, dim=1).float().log_softmax(-1)
    token_log_probs = log_probs.gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1).cpu()
    results = []
    for row in range(batch_size):
        ids = new_tokens[row].tolist()
        end = next((i for i, token in enumerate(ids) if token == eos_token_id), len(ids))
        ended = end < len(ids)
        results.append(
            json_generation(
                tokenizer, constraint, row, ids[:end], token_log_probs[row, :end].tolist(), ended
            )
        )
    return results


def json_generation(
    tokenizer: PreTrainedTokenizerBase,
    constraint: JSONSchemaLogitsProcessor,
    row: int,
    ids: list[int],
    log_probs: list[float],
    ended: bool,
) -> JSONGeneration:
    """One row's JSON from the tokens before its end token and their log-probabilities."""
    complete = ended and constraint.finish(row, constraint.end_token_id)
    text, ends = _decode_with_offsets(tokenizer, ids)
    value = json.loads(text) if complete else None
    confidences = {}
    if complete:
        for pointer, (start, stop) in value_spans(text).items():
            confidences[pointer] = _span_probability(ends, log_probs, start, stop)
    return JSONGeneration(text, value, complete, confidences)


def _decode_with_offsets(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> tuple[str, list]:
    """The text of `ids` and, per token, the character offset where its text ends."""
    ends = []
    for index in range(len(ids)):
        ends.append(len(tokenizer.decode(ids[: index + 1], skip_special_tokens=True)))
    return tokenizer.decode(ids, skip_special_tokens=True), ends


def _span_probability(ends: list[int], log_probs: list[float], start: int, stop: int) -> float:
    """Product of the probabilities of the tokens whose text overlaps [start, stop)."""
    total = 0.0
    begin = 0
    for end, log_prob in zip(ends, log_probs, strict=True):
        if end > start and begin < stop:
            total += log_prob
        begin = end
    return round(math.exp(total), 4)


def value_spans(text: str) -> dict[str, tuple[int, int]]:
    """Character span of every scalar value in a JSON text, keyed by JSON pointer."""
    spans: dict[str, tuple[int, int]] = {}
    decoder = json.JSONDecoder()

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def walk(i: int, pointer: str) -> int:
        i = skip(i)
        if text[i] == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, i = decoder.raw_decode(text, skip(i))
                i = skip(i) + 1  # the colon
                i = skip(walk(i, f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"))
                if text[i] == "}":
                    return i + 1
                i += 1  # the comma
        if text[i] == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = skip(walk(i, f"{pointer}/{index}"))
                index += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        _, end = decoder.raw_decode(text, i)
        spans[pointer] = (i, end)
        return end

    walk(0, "")
    return spans
