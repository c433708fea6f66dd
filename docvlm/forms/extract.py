"""Fill a schema from a form model's tagged spans: `extract(path, schema, model=DIR)`.

Each span's words are read through extraction's value parsers (dates and amounts normalized,
check boxes as booleans). A key the model never learned is null with a warning; a value whose
confidence is below 0.9 (see `tagger`) is null with a warning, since a wrong answer with high
confidence is worse than none. Where calibration vouched for it (`FormTagger.fallback`), a
field the model leaves null takes no-model extraction's value when that reaches 0.9 itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from docvlm.anchors import CHECKED, UNCHECKED, AnchorWord, anchors_from_words
from docvlm.extraction.extractor import extract_without_model
from docvlm.extraction.pairing import MIN_CONFIDENCE
from docvlm.extraction.result import Found
from docvlm.extraction.schema import ExtractionSchema, FieldSpec
from docvlm.extraction.values import ParsedValue, parse_value
from docvlm.extraction.words import PageWords, page_words
from docvlm.geometry import union
from docvlm.metrics import normalize_field_value
from docvlm.sources import SourcePage

from .align import read_flag, to_key
from .labels import labelled
from .second_reading import SecondReader
from .tagger import (
    LEGIBLE,
    RETURN_CONFIDENCE,
    FormTagger,
    Span,
    load_form_model,
)

SOURCE = "form-model"
# Two readers that disagree on which field a value fills: either may be right.
CONTESTED_CONFIDENCE = 0.5


def extract_with_form_model(
    model: Any, pages: list[SourcePage], schema: ExtractionSchema, anchors: str = "auto"
) -> tuple[dict[str, Found], dict[str, str]]:
    """Values by JSON pointer for every schema field the model tags with enough confidence, and
    why each field it leaves null was left so (the result's warnings)."""
    tagger = load_form_model(model)
    readings, no_model = read_fields(tagger, pages, schema, anchors)
    found = {
        pointer: replace(reading.found, confidence=reading_confidence(tagger, reading, pointer))
        for pointer, reading in readings.items()
    }
    returned = {p: f for p, f in found.items() if f.confidence >= RETURN_CONFIDENCE}
    if tagger.fallback:
        returned.update(fallback_values(no_model, returned))
    unsure = {
        pointer: f"the form model's confidence {f.confidence:.2f} is under "
        f"{RETURN_CONFIDENCE}: left null rather than guessed"
        for pointer, f in found.items()
        if pointer not in returned
    }
    answered = {to_key(pointer) for pointer in returned}
    for key in schema_keys(schema.root):
        if key not in tagger.keys and key not in answered:
            unsure[key] = "the form model never learned this field: left null" + (
                " (extraction without the model found no sure value)" if tagger.fallback else ""
            )
    return returned, unsure


def fallback_values(no_model: dict[str, Found], returned: Collection[str]) -> dict[str, Found]:
    """No-model extraction's values of confidence ≥ 0.9 for scalar fields the model left null
    (an array's items stay the model's: rows from two readers need not line up)."""
    return {
        pointer: found
        for pointer, found in no_model.items()
        if pointer not in returned
        and "*" not in to_key(pointer)
        and found.confidence >= RETURN_CONFIDENCE
    }


@dataclass
class Reading:
    """The model's value for one field: its span's tag score, its least legible word's OCR
    confidence (1 on a text layer: a misread digit is a wrong value however sure the tag),
    how well the words parsed as the field's type, whether no-model extraction read the
    same value, whether it gives the value to another field instead (`contested`), and
    whether the span is a guess for a key no word was tagged with."""

    found: Found
    tag_score: float
    legibility: float
    fit: float
    agrees: bool = False
    guessed: bool = False  # an untagged key's likeliest span: returned only where agreeing
    contested: bool = False
    alike: bool = False  # looks like another field's value on the page (`value_shape`), unlabelled
    labelled: bool = False  # printed under a label of its key's (`labels.labelled`)

    @property
    def score(self) -> float:
        return self.tag_score * self.legibility * self.fit


def reading_confidence(tagger: FormTagger, reading: Reading, pointer: str = "") -> float:
    """The reading's calibrated confidence: its score against the tagger's floor (the lower
    one where no-model extraction read it alike, or it sits under its key's label); alone or
    contested, under 0.9 unless its tag score reaches the tagger's `sure_tag`, and under 0.9
    where OCR read a word of it under the tagger's `legible`, or the two readers disagree on
    which field holds it and its score is under the tagger's `contest_score`, or its score is
    under its key's own floor."""
    confidence = tagger.confidence(reading.score, reading.agrees, reading.labelled)
    if reading.contested and reading.score < tagger.contest_score:
        confidence = min(confidence, CONTESTED_CONFIDENCE)
    labelled = reading.labelled and reading.score >= tagger.label_score
    alone = not (reading.agrees or labelled) or reading.contested
    if alone and reading.tag_score < tagger.sure_floor(reading.alike):
        confidence = min(confidence, _under_return(reading.tag_score))
    if reading.legibility < tagger.legible:
        confidence = min(confidence, _under_return(reading.legibility))
    key_floor = tagger.key_floors.get(to_key(pointer), 0.0)
    if reading.score < key_floor:
        confidence = min(confidence, _under_return(reading.score / key_floor))
    return confidence


def _under_return(share: float) -> float:
    """`share` of RETURN_CONFIDENCE, kept under it: a tag of 0.99998 under a floor of 0.99999
    rounds to 0.9 and was returned."""
    return min(round(RETURN_CONFIDENCE * share, 4), RETURN_CONFIDENCE - 1e-4)


def read_fields(
    tagger: FormTagger,
    pages: list[SourcePage],
    schema: ExtractionSchema,
    anchors: str = "auto",
    compare: bool = True,
    layers: list[PageWords] | None = None,
) -> tuple[dict[str, Reading], dict[str, Found]]:
    """Every value the model tags for the schema's fields, by JSON pointer, before any
    confidence cut, and what no-model extraction reads from the same words (`layers`, the
    pages' words, where already read). With `compare` each value is compared with no-model
    extraction's (agreeing, or contested); a key no word is tagged with is read from its
    likeliest span, kept only where no-model extraction reads it alike."""
    leaves = schema_keys(schema.root)
    if layers is None:
        layers = [page_words(page, source=anchors) for page in pages] if anchors != "none" else []
    words_by_page = [anchors_from_words(layer).words for layer in layers] or [[] for _ in pages]
    probabilities = tagger.tag_probabilities(words_by_page, [leaves] * len(words_by_page))
    readings: dict[str, Reading] = {}
    for page, words, probs in zip(pages, words_by_page, probabilities, strict=True):
        second = SecondReader(page)
        tagged = {k: spans for k, spans in tagger.spans(probs).items() if k in leaves}
        guessed = set()
        if words and layers and compare:
            # A key left untagged still has a likeliest span; only agreement can vouch for it.
            untagged = leaves.keys() - tagged.keys()
            guessed = {k for k in untagged if "*" not in k and k in tagger.keys}
            tagged.update({key: [tagger.best_span(probs, key)] for key in guessed})
        rows = _item_lines(tagged, words)
        for key, spans in tagged.items():
            spec, pointers = leaves[key], _pointers(key, spans, words, rows)
            for pointer, span in zip(pointers, spans, strict=True):
                if pointer in readings and readings[pointer].tag_score >= span.score:
                    continue
                reading = read_span(span, spec, words, page.number, second)
                if reading is not None:
                    reading.guessed = key in guessed
                    reading.labelled = labelled(words, span.words, key, tagger.labels)
                    readings[pointer] = reading
    # Every reading no-model extraction makes, unsure free text too: the model's agreement
    # and contest features were fitted on them.
    no_model = (
        extract_without_model(layers, schema, free_text_floor=MIN_CONFIDENCE)
        if layers and compare
        else {}
    )
    for pointer, reading in readings.items():
        other = no_model.get(pointer)
        reading.agrees = other is not None and normalize_field_value(
            other.value
        ) == normalize_field_value(reading.found.value)
        reading.contested = _contested(pointer, readings, no_model)
    kept = {p: r for p, r in readings.items() if r.agrees or not r.guessed}
    shapes = [value_shape(reading.found.value) for reading in kept.values()]
    for reading, shape in zip(kept.values(), shapes, strict=True):
        reading.alike = shapes.count(shape) > 1 and not reading.labelled
    return kept, no_model


def _contested(pointer: str, readings: dict[str, Reading], no_model: dict[str, Found]) -> bool:
    """Whether no-model extraction gives the model's value for `pointer` to another field
    whose model value differs: the readers disagree on which of two look-alike fields holds
    it (a date of loss and a signature date swapped). Yes/no values are shared by many
    fields and prove nothing."""
    value = readings[pointer].found.value
    if isinstance(value, bool):
        return False
    value = normalize_field_value(value)
    for other, found in no_model.items():
        own = readings.get(other)
        if (
            other != pointer
            and normalize_field_value(found.value) == value
            and (own is None or normalize_field_value(own.found.value) != value)
        ):
            return True
    return False


def value_shape(value: Any) -> str:
    """What a value looks like: a yes/no, a number, or text as its runs of letters and of
    digits ("EW-2936433" and "UZY-8010121" are both "a-9", a date "9-9-9"). Two fields whose
    values look alike are the ones a model swaps (a claim and a policy number, a date of loss
    and a signature date), and it swaps them as surely as it reads them."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return re.sub(r"[^\W\d_]+", "a", re.sub(r"\d+", "9", str(value)))


def schema_keys(spec: FieldSpec, pointer: str = "") -> dict[str, FieldSpec]:
    """Tag keys of a schema's scalar fields ("/total", "/line_items/*/amount") → field spec."""
    out: dict[str, FieldSpec] = {}
    if spec.kind == "object":
        for name, child in spec.properties.items():
            out.update(
                schema_keys(child, f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}")
            )
    elif spec.kind == "array" and spec.items is not None:
        out.update(schema_keys(spec.items, f"{pointer}/*"))
    else:
        out[to_key(pointer)] = spec
    return out


def _item_lines(tagged: dict[str, list[Span]], words: list) -> dict[str, list[int]]:
    """For each array ("/line_items"), the lines its items' spans sit on, top to bottom."""
    rows: dict[str, set[int]] = {}
    for key, spans in tagged.items():
        if "*" in key:
            head = key.partition("/*")[0]
            rows.setdefault(head, set()).update(words[s.words[0]].line for s in spans)
    return {head: sorted(lines) for head, lines in rows.items()}


def _pointers(key: str, spans: list[Span], words: list, rows: dict[str, list[int]]) -> list[str]:
    """JSON pointers for a key's spans: an array item is numbered by its line among the
    array's lines (one row of a table is one item)."""
    if "*" not in key:
        return [key]
    head, _, tail = key.partition("/*")
    return [f"{head}/{rows[head].index(words[s.words[0]].line)}{tail}" for s in spans]


def read_span(
    span: Span, spec: FieldSpec, words: list, page: int, second: SecondReader | None = None
) -> Reading | None:
    """The span's value, or None where its words do not parse as the field's type. Its
    legibility is its least legible word's, each word under `LEGIBLE` read a second time
    (and read as the second reader reads it, where that reader is sure)."""
    span_words = [_reread(words[i], second) for i in span.words]
    if spec.kind == "boolean" and spec.enum is None:
        flag = read_flag([word.text for word in span_words])
        parsed = None if flag is None else ParsedValue(flag)
    else:
        # A check box drawn beside a value (or a ruled box read as one) is no part of it.
        span_words = [word for word in span_words if word.text not in (CHECKED, UNCHECKED)]
        parsed = parse_value(_span_text(span_words), spec) if span_words else None
    if parsed is None:
        return None
    bbox = union([word.bbox for word in span_words])
    legibility = min(word.confidence for word in span_words)
    return Reading(Found(parsed.value, page, bbox, 0.0, SOURCE), span.score, legibility, parsed.fit)


def _reread(word: AnchorWord, second: SecondReader | None) -> AnchorWord:
    """The word as read a second time where OCR read it under `LEGIBLE`."""
    if word.confidence >= LEGIBLE or second is None:
        return word
    text, confidence = second.reading(word)
    return replace(word, text=text, confidence=confidence)


def _span_text(span_words: list) -> str:
    """The span's words as one value; a value printed over several lines (an address) reads
    with a comma where a line ends without punctuation, as such values are written inline."""
    text = span_words[0].text
    for previous, word in zip(span_words, span_words[1:], strict=False):
        joint = ", " if word.line != previous.line and previous.text[-1].isalnum() else " "
        text += joint + word.text
    return text
