"""Fill a schema from a form model's tagged spans: `extract(path, schema, model=DIR)`.

Each span's words are read through extraction's value parsers (dates and amounts normalized,
check boxes as booleans). A key the model never learned is null with a warning; a value whose
confidence is below 0.9 (see `tagger`) is null with a warning, since a wrong answer with high
confidence is worse than none.
"""

from __future__ import annotations

import warnings
from typing import Any

from docvlm.anchors import page_anchors
from docvlm.extraction.pairing import Found
from docvlm.extraction.schema import ExtractionSchema, FieldSpec
from docvlm.extraction.values import ParsedValue, parse_value
from docvlm.geometry import union
from docvlm.sources import SourcePage

from .align import read_flag, to_key
from .tagger import RETURN_CONFIDENCE, FormTagger, Span, load_form_model

SOURCE = "form-model"


class FormModelWarning(UserWarning):
    """A field the form model could not answer with confidence."""


def extract_with_form_model(
    model: Any, pages: list[SourcePage], schema: ExtractionSchema, anchors: str = "auto"
) -> dict[str, Found]:
    """Values by JSON pointer for every schema field the model tags with enough confidence."""
    tagger = load_form_model(model)
    leaves = schema_keys(schema.root)
    unknown = [key for key in leaves if key not in tagger.keys]
    if unknown:
        warnings.warn(
            f"the form model never learned {', '.join(unknown)}: left null",
            FormModelWarning,
            stacklevel=2,
        )
    found: dict[str, Found] = {}
    best: dict[str, float] = {}
    words_by_page = [page_anchors(page, anchors).words for page in pages]
    probabilities = tagger.tag_probabilities(words_by_page)
    for page, words, probs in zip(pages, words_by_page, probabilities, strict=True):
        tagged = {k: spans for k, spans in tagger.spans(probs).items() if k in leaves}
        rows = _item_lines(tagged, words)
        for key, spans in tagged.items():
            spec, pointers = leaves[key], _pointers(key, spans, words, rows)
            for pointer, span in zip(pointers, spans, strict=True):
                if best.get(pointer, -1.0) >= span.score:
                    continue
                hit = _read(span, spec, words, page.number, tagger)
                if hit is not None:
                    found[pointer], best[pointer] = hit, span.score
    low = [p for p, f in found.items() if f.confidence < RETURN_CONFIDENCE]
    if low:
        warnings.warn(
            f"low confidence, left null: {', '.join(low)}", FormModelWarning, stacklevel=2
        )
    return {p: f for p, f in found.items() if f.confidence >= RETURN_CONFIDENCE}


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


def _read(span: Span, spec: FieldSpec, words: list, page: int, tagger: FormTagger) -> Found | None:
    texts = [words[i].text for i in span.words]
    if spec.kind == "boolean" and spec.enum is None:
        flag = read_flag(texts)
        parsed = None if flag is None else ParsedValue(flag)
    else:
        parsed = parse_value(_span_text([words[i] for i in span.words]), spec)
    if parsed is None:
        return None
    confidence = tagger.confidence(span.score) * parsed.fit
    bbox = union([words[i].bbox for i in span.words])
    return Found(parsed.value, page, bbox, round(confidence, 4), SOURCE)


def _span_text(span_words: list) -> str:
    """The span's words as one value; a value printed over several lines (an address) reads
    with a comma where a line ends without punctuation, as such values are written inline."""
    text = span_words[0].text
    for previous, word in zip(span_words, span_words[1:], strict=False):
        joint = ", " if word.line != previous.line and previous.text[-1].isalnum() else " "
        text += joint + word.text
    return text
