"""How often the words that hold a value read as another value: the legibility floor.

A value can be wrong with the model right: it tagged the words that print the value, and OCR
misread a character of them ("lvan" for "Ivan"). No tag score or second extractor catches that
(they read the same words), and it does not depend on the model or on whether the layout was
seen, so it is measured where there is far more evidence than held-out answers: every page
with a target. Alignment finds the words that print each value (fuzzily, so a misread still
aligns), and they are read as extraction reads a span (`read_span`: a word OCR read under
`LEGIBLE` read a second time); whether that reading is the value, beside the words' least
OCR confidence, is one piece of evidence.

What is read wrong above a floor on that confidence is the reading's share of the 1 % budget
(`ReadingFloor.model_error` is what the model's floors may spend): a held-out value wrong only
because its right words read wrong (`Answer.misread`) counts against that share, not against
the model. A higher floor spends less on the reading and leaves more to the model, but returns
fewer values: `reading_floors` gives the floors worth trying (`LEGIBLE`, and just above each
misread value), and training keeps the one under which the held-out pages get the most values
right. On the scanned bench's training scans, 15 of 3,187 values read at 0.85 or more were
wrong (0.47 %: "(621)" for "(521)", "Portiand", "lvan" for "Ivan" read alike by both readers);
the 0.915 floor that holds them under 0.3 % returned 66.8 % of the test values against 82.6 %
at 0.85 (seed 0, same weights), and both seeds' held-out pages chose 0.85.
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


def reading_floors(evidence: list[tuple[float, bool]]) -> list[ReadingFloor]:
    """The floors worth trying, from `LEGIBLE` up: each just above a value read wrong, while
    the values at or above it are read wrong at most TARGET_ERROR, counting half a
    pseudo-error (above the most legible misread no floor can do better)."""
    wrong = [legibility for legibility, right in evidence if not right]
    out = []
    for floor in sorted({LEGIBLE} | {_just_above(legibility) for legibility in wrong}):
        kept = [right for legibility, right in evidence if legibility >= floor]
        misread = kept.count(False)
        if (misread + 0.5) / (len(kept) + 1) <= TARGET_ERROR:
            out.append(ReadingFloor(floor, len(kept), misread))
        if misread == 0:
            break
    return out or [ReadingFloor(values=len(evidence), misread=len(wrong))]


def _just_above(legibility: float) -> float:
    return round(legibility + 1e-4, 4)
