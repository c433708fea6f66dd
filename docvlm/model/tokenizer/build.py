"""Regenerate the `tiny` preset's tokenizer files in this folder: `python build.py`.

Byte-level with no merges: every UTF-8 byte is one token (ids 0–255), so any text round-trips
and a tiny model learns to read characters rather than a large BPE vocabulary. The special
tokens follow at fixed ids that the `tiny` preset's config uses.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

# Order fixes the ids: <|endoftext|> = 256 … <imgpad> = 261.
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<imgpad>"]


def build_tokenizer() -> PreTrainedTokenizerFast:
    """The byte-level tokenizer with the chat and image special tokens appended."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    byte_to_unicode = sorted(alphabet, key=_byte_of)
    vocab = {symbol: index for index, symbol in enumerate(byte_to_unicode)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(SPECIAL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        padding_side="left",
    )
    return tokenizer


def _byte_of(symbol: str) -> int:
    """The byte a ByteLevel alphabet symbol stands for (GPT-2's printable byte mapping)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    code = ord(symbol)
    if code in printable:
        return code
    shifted = [b for b in range(256) if b not in printable]
    return shifted[code - 256]


if __name__ == "__main__":
    build_tokenizer().save_pretrained(Path(__file__).parent)
