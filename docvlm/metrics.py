"""Text, table and field metrics used by tests, benchmarks and `docvlm eval`."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

_WHITESPACE = re.compile(r"\s+")


def normalize_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def normalized_edit_distance(prediction: str, reference: str) -> float:
    """Levenshtein distance divided by the longer string's length (0 = equal, 1 = disjoint)."""
    longer = max(len(prediction), len(reference))
    if longer == 0:
        return 0.0
    return Levenshtein.distance(prediction, reference) / longer


def character_error_rate(prediction: str, reference: str) -> float:
    """Character edits per reference character, on whitespace-normalized text."""
    prediction, reference = normalize_whitespace(prediction), normalize_whitespace(reference)
    if not reference:
        return float(bool(prediction))
    return Levenshtein.distance(prediction, reference) / len(reference)


def word_error_rate(prediction: str, reference: str) -> float:
    """Word edits per reference word."""
    reference_words = reference.split()
    if not reference_words:
        return float(bool(prediction.split()))
    return Levenshtein.distance(prediction.split(), reference_words) / len(reference_words)
