"""How often the words that hold a value read as another value: the legibility floor.

A value can be wrong with the model right: it tagged the words that print the value, and OCR
misread a character of them ("lvan" for "Ivan"). No tag score or second extractor catches that
(they read the same words), and it does not depend on the model or on whether the layout was
seen, so it is measured where there is far more evidence than held-out answers: every page
with a target. Alignment finds the words that print each value (fuzzily, so a misread still
aligns), and they are read as extraction reads a span (`read_span`: a word OCR read under
`LEGIBLE` read a second time); whether that reading is the value, beside the words' least
OCR confidence, is one piece of evidence.

`fit_legible` raises the floor on that confidence above `LEGIBLE` until the values at or above
it are read wrong at most `READ_ERROR` (counting half a pseudo-error, as the model's floors do),
or until none is. What is still read wrong above it is the reading's share of the 1 % budget
(`ReadingFloor.model_error` is what the model's floors may spend): a held-out value wrong only
because its right words read wrong (`Answer.misread`) counts against that share, not against
the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docvlm.anchors import AnchorWord
from docvlm.extraction.schema import load_schema
from docvlm.finetune.manifest import Example
from docvlm.metrics import normalize_field_value
from docvlm.sources import open_source

from .align import Alignment, target_leaves
from .evaluate import target_schema
from .extract import read_span, schema_keys
from .second_reading import SecondReader
from .tagger import LEGIBLE, TARGET_ERROR, Span

# The share of returned values the reading may get wrong; the model's floors keep the rest of
# TARGET_ERROR.
READ_ERROR = 0.003


@dataclass(frozen=True)
class ReadingFloor:
    """The OCR confidence a value's words need (`legible`), and how the values at or above it
    read on the training pages: `values` of them, `misread` of those wrong."""

    legible: float = LEGIBLE
    values: int = 0
    misread: int = 0

    @property
    def model_error(self) -> float:
        """The share of returned values the model may get wrong: TARGET_ERROR less the share
        the reading gets wrong."""
        return TARGET_ERROR - self.misread / max(self.values, 1)

    def summary(self) -> dict[str, Any]:
        return {"legible": round(self.legible, 4), "values": self.values, "misread": self.misread}


UNMEASURED = ReadingFloor()  # no page measured: LEGIBLE, and the whole budget the model's


def target_readings(
    target: dict[str, Any],
    words: list[AnchorWord],
    alignment: Alignment,
    second: SecondReader | None = None,
) -> dict[str, tuple[float, Any]]:
    """JSON pointer → (least OCR confidence, value as extraction reads it) of the words that
    print each aligned target value (None where they do not parse as its type), words under
    `LEGIBLE` read again by `second`."""
    specs = schema_keys(load_schema(target_schema(target)).root)
    out = {}
    for span in alignment.spans:
        reading = read_span(Span(span.key, span.words, 1.0), specs[span.key], words, 0, second)
        if reading is None:
            out[span.pointer] = (min(words[index].confidence for index in span.words), None)
        else:
            out[span.pointer] = (reading.legibility, reading.found.value)
    return out


def reading_evidence(
    example: Example, words: list[AnchorWord], alignment: Alignment
) -> list[tuple[float, bool]]:
    """(least OCR confidence, read right) of each aligned target value on a row's page that
    extraction could return (read at `LEGIBLE` or above, a second time where needed)."""
    truth = {pointer: value for _, pointer, value in target_leaves(example.target)}
    with open_source(example.image or example.pdf, pages=[example.page]) as document:
        second = SecondReader(document.page(example.page))
        readings = target_readings(example.target, words, alignment, second)
    return [
        (legibility, normalize_field_value(value) == normalize_field_value(truth[pointer]))
        for pointer, (legibility, value) in readings.items()
        if legibility >= LEGIBLE
    ]


def fit_legible(evidence: list[tuple[float, bool]]) -> ReadingFloor:
    """The lowest floor from `LEGIBLE` up (or just above a value read wrong) whose values at or
    above it are read wrong at most READ_ERROR, counting half a pseudo-error, or read wrong
    never: above the most legible misread no floor can do better."""
    ordered = sorted(evidence, reverse=True)
    wrong = [legibility for legibility, right in ordered if not right]
    for floor in sorted({LEGIBLE} | {_just_above(legibility) for legibility in wrong}):
        kept = [right for legibility, right in ordered if legibility >= floor]
        misread = kept.count(False)
        if misread == 0 or (misread + 0.5) / (len(kept) + 1) <= READ_ERROR:
            break
    return ReadingFloor(floor, len(kept), misread)


def _just_above(legibility: float) -> float:
    return round(legibility + 1e-4, 4)
