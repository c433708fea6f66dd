"""Fill schema fields from a page's words without a model: label–value pairing and tables.

A field's label is a segment whose text fuzzily matches the field's title or name ("Invoice
No." for `invoice_number`); its value is the segment to the right in the label's band, else the
one just below it (see `neighbours`), free text with the lines that continue it, and must parse
as the field's type, so a date field skips a label whose neighbour is not a date. Candidates
from all pages compete by score and each segment is used once; fields titled alike take their
values in the order their labels are printed. One label's reading is `reading.Reading`'s; how
well printed text names a field, `labels.label_score`'s.
Arrays of objects are read from a table whose header row names the item's properties.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import replace
from typing import Any

from rapidfuzz import fuzz

from docvlm.document import BBox
from docvlm.extraction import captions, ticks
from docvlm.extraction.labels import (
    MIN_LABEL_SCORE,
    STRONG_LABEL_SCORE,
    label_score,
    lettered,
    normalize_label,
)
from docvlm.extraction.neighbours import right_of
from docvlm.extraction.reading import Candidate, Reading, label_fit, read_fit
from docvlm.extraction.result import Found
from docvlm.extraction.schema import FieldSpec, label_candidates
from docvlm.extraction.values import DateOrder, has_digit, is_typed, parse_value
from docvlm.extraction.words import PageWords, Segment, word_parts
from docvlm.extraction.wrapped import join_wrapped_labels
from docvlm.geometry import union

# Where OCR glued a label to its value (see `_unglue_labels`): after a label's punctuation
# before figures or a capital, after two letters or "#" before figures ("B83" is a code),
# and between capitals and a capitalised word.
_GLUED_LABEL = re.compile(
    r"(?<=[A-Za-z)][.;:,])(?=[A-Z0-9$(])|(?<=[A-Za-z'][A-Za-z])(?=[0-9])|(?<=#)(?=[0-9])"
    r"|(?<=[A-Z]{2})(?=[A-Z][a-z])"
)
_LABEL_MARKS = frozenset("#№:")  # a word of these after a label's words is the label's
ROW_GOES_ON_FIT = 0.75  # an answer that may go on (`reading.ROW_GOES_ON`), once chosen
# A label read across lines could as well be a table's header row, or lines of two labels
# (FUNSD training pages 0-40: at full confidence one header row's wrong value alone moved the
# cut for 90 % precision and cost 4 points of the recall kept there).
WRAPPED_FIT = 0.9
# A label printed twice with different values: the first reading is kept, less sure. Such
# readings beside a colon label were as often right as other values there (FUNSD training
# pages 0-105: 27 of 30), above free text under a label (56-77 %), which 0.7 tied them with.
RIVAL_PENALTY = 0.75
# Fields titled alike are told apart by the order the schema lists them in, which the page
# may not follow (FUNSD training pages 0-105: 63 of 75 such groups follow it).
ORDER_FIT = 0.85
MIN_CONFIDENCE = 0.4  # below this a reading is dropped (and the field reported unsure)
# Free text OCR read beside a label under this is returned null with a warning, not as a value
# (such readings are right about two times in three). Set on FUNSD training pages 0-105 as the
# lowest floor keeping their precision two points over 90 % (the gap between them and pages
# 106-148 at the former 0.55), and checked on 106-148. With the rules of 2026-12-07 (pairs
# right / precision, 0-105 and 106-148): at 0.55 58.3 / 93.7 % and 59.6 / 91.1 %; at 0.53
# 59.9 / 92.5 % and 60.8 / 90.1 %; at 0.52 60.8 / 92.0 % and 61.4 / 89.4 %. A typed value
# (date, amount) is vouched for by its type: MIN_CONFIDENCE.
FREE_TEXT_FLOOR = 0.53
_BEFORE_TAX = re.compile(
    r"\b(?:excl|excluding|exclusive|before tax|w/o tax|ohne|zzgl|hors taxes?|HT|sin iva)\b",
    re.IGNORECASE,
)


def pair_fields(
    root: FieldSpec,
    pages: list[PageWords],
    taken: set[str],
    date_order: DateOrder | None = None,
    free_text_floor: float = MIN_CONFIDENCE,
    withheld: dict[str, Found] | None = None,
    printed: dict[str, str] | None = None,
) -> dict[str, Found]:
    """Values for the fields under `root` not in `taken`, keyed by JSON pointer. Free text
    read beside a label less surely than `free_text_floor` is not returned: it goes into
    `withheld` (where given), still claiming its words from the other fields. `printed`
    (where given) gets each field's first label read on the pages, valued or not."""
    scalars, arrays, objects = _walk(root)
    found: dict[str, Found] = {}
    used: set[int] = set()
    used_in_columns: set[int] = set()
    for spec in objects:
        if spec.pointer not in taken and not _has_own_labels(spec, pages):
            found.update(_address_block(spec, pages, used))
    scalars = [(s, parent) for s, parent in scalars if s.pointer not in taken | set(found)]
    pages = _pairing_pages(pages, scalars)
    best_scores = _best_label_scores(pages, scalars)
    label_like = _label_like(pages, best_scores)
    all_names = [label_candidates(spec, parent) for spec, parent in scalars]
    captioned = {id(page) for page in pages if captions.under_values(page, label_like)}
    printed = {} if printed is None else printed
    candidates = [
        candidate
        for page in pages
        for spec, parent in scalars
        for candidate in _scalar_candidates(
            page,
            spec,
            parent,
            label_like,
            (best_scores, all_names),
            date_order,
            id(page) in captioned,
            printed,
        )
    ]
    candidates = _at_own_labels(scalars, candidates, pages)
    alike = {pointer for group in _titled_alike(scalars) for pointer in group}
    labels = {id(s): s for page in pages for line in page.lines for s in line}
    candidates = _whole_labels_first(_surest_first(candidates, labels), alike)
    chosen: dict[str, Candidate] = {}
    sunk: set[str] = set()
    for candidate in candidates:
        pointer = candidate.field.pointer
        if pointer in chosen or pointer in sunk:
            continue
        unused = [c for c in candidates if used.isdisjoint(c.claimed)]
        candidate = _asked_first(_last_total(candidate, candidates), unused, labels)
        # Another field's words read as this one's (FUNSD pages 0-105: +1 right, -2 wrong).
        if _takes_from_beside(candidate, unused, labels) or _reads_across_label(
            candidate, unused, labels
        ):
            continue
        if any(key in used for key in candidate.claimed) or any(
            key in used_in_columns for key in candidate.column_cells
        ):
            continue
        # A header repeated across a table, asked for by fields titled alike, is the table's
        # layout, not a label printed twice (FUNSD pages 0-105: +5 values right, +1 wrong).
        surest = candidate.found.confidence
        if not (candidate.tabled and pointer in alike):
            _doubt_rivals(candidate, unused, labels)
        if candidate.found.confidence < MIN_CONFIDENCE:
            if surest >= MIN_CONFIDENCE:
                sunk.add(pointer)  # by its rivals' doubt: none of them is surer
            continue
        if candidate.goes_on:  # lowered, not dropped: the value may still be whole
            candidate.found.confidence = _lowered(candidate.found.confidence, ROW_GOES_ON_FIT)
        chosen[pointer] = candidate
        used.update(candidate.claimed)
        used_in_columns.update(candidate.column_cells)
    paired = _titled_alike_in_reading_order(scalars, chosen, pages)
    for pointer, value in paired.items():
        if value.confidence >= free_text_floor or not _free_text(chosen[pointer].field, value):
            found[pointer] = value
        elif withheld is not None:
            withheld[pointer] = value
    for spec in arrays:
        if spec.pointer not in taken:
            found.update(_table_rows(spec, pages, date_order) or _list_value(spec, pages, used))
    for spec, _ in scalars:
        if spec.pointer not in found and spec.enum is not None:
            found.update(_lone_enum_value(spec, pages))
    return found


def _surest_first(candidates: list[Candidate], labels: dict[int, Segment]) -> list[Candidate]:
    """`candidates` surest first; of equally sure ones (two answers cut at the same ceiling
    claiming one block), one beside a colon (see `_asked_beside`), else the first in reading
    order."""
    return sorted(candidates, key=lambda c: (-c.found.confidence, not _asked_beside(c, labels)))


def _whole_labels_first(candidates: list[Candidate], alike: set[str]) -> list[Candidate]:
    """`candidates` with those read from a label run on into more words ("Capital Budget",
    "Original MRA did not...") after all the others, where the field's label is also printed
    alone as well named, with a reading: the words run on are as often the label's own
    wording or the next text as its answer (FUNSD training pages 0-105, fields read both
    ways: the label alone right 34 times, the longer segment 4). Fields titled `alike` are
    each another label's, in the order printed (see `_at_own_labels`)."""
    alone: dict[str, float] = {}
    for candidate in candidates:
        pointer = candidate.field.pointer
        if not candidate.run_on and candidate.found.confidence >= MIN_CONFIDENCE:
            alone[pointer] = max(alone.get(pointer, 0.0), candidate.label_score)
    later = {
        id(c)
        for c in candidates
        if c.run_on
        and c.field.pointer not in alike
        and alone.get(c.field.pointer, -1.0) >= c.label_score - 1
    }
    return [c for c in candidates if id(c) not in later] + [c for c in candidates if id(c) in later]


def _free_text(spec: FieldSpec, value: Found) -> bool:
    """Free text read by OCR: no type vouches for it, and the floor was measured on scans (a
    text layer's words are not misread; a clean form's value under its label reads 0.51)."""
    return value.source == "ocr" and not is_typed(spec)


def _lowered(confidence: float, fit: float) -> float:
    """`confidence` times `fit`, but never under MIN_CONFIDENCE for a reading at or above it:
    the doubt `fit` stands for is of the value's extent or owner, not of the reading itself (a
    typed value stays returned; free text OCR read may fall under FREE_TEXT_FLOOR)."""
    lowered = round(confidence * fit, 3)
    return max(lowered, MIN_CONFIDENCE) if confidence >= MIN_CONFIDENCE else lowered


def _pairing_pages(pages: list[PageWords], scalars: list) -> list[PageWords]:
    """Copies of `pages` whose lines are cut where a label starts inside a segment and have
    wrapped labels joined: the lines pairing reads. The pages' own lines stay as printed for
    what reads them next (the letterhead, a form model's anchors)."""
    copies = []
    for page in pages:
        lines = [list(line) for line in page.lines]
        page = copy.copy(page)  # shares the words, and the raster and cells read so far
        page.lines = lines
        copies.append(page)
    _unglue_labels(copies, [label_candidates(s, p) for s, p in scalars])
    _split_at_labels(copies, scalars)
    join_wrapped_labels(
        copies, [label_candidates(s, p) for s, p in scalars], label_score, STRONG_LABEL_SCORE
    )
    return copies


class _LabelOrder:
    """Where each reading's label is printed, and whether it names fields titled alike
    equally well (not so for "Sent date" where the fields are `sent_date` and
    `received_date`)."""

    def __init__(self, scalars: list, pages: list[PageWords]) -> None:
        self.segments = {id(s): s for page in pages for line in page.lines for s in line}
        self.names = {spec.pointer: label_candidates(spec, parent) for spec, parent in scalars}

    def position(self, candidate: Candidate) -> tuple[int, int, float]:
        label = self.segments[candidate.claimed[0]]
        return label.page, label.line, label.bbox[0]

    def interchangeable(self, reading: Candidate, pointers: list[str]) -> bool:
        label = self.segments[reading.claimed[0]]
        return all(_label_in(label, self.names[p])[2] == reading.label_score for p in pointers)


def _at_own_labels(
    scalars: list[tuple[FieldSpec, FieldSpec | None]],
    candidates: list[Candidate],
    pages: list[PageWords],
) -> list[Candidate]:
    """`candidates` where fields titled alike ("Date", "Date") have as many labels with a
    value as there are fields: only each field's readings at its own label, the k-th printed
    for the k-th field. A schema lists such fields as the document prints them (FUNSD
    training pages 0-105: 63 of 75 such groups); their labels cannot tell them apart, and
    reading every field at every label lets one field take another's label or value, and
    makes each label's own value a rival of the others'."""
    order = _LabelOrder(scalars, pages)
    drop: set[int] = set()
    for pointers in _titled_alike(scalars):
        readings = [c for c in candidates if c.field.pointer in pointers]
        if not all(order.interchangeable(r, pointers) for r in readings):
            continue
        printed = sorted({order.position(c) for c in readings})
        if len(printed) != len(pointers):
            continue
        own = dict(zip(printed, pointers, strict=True))
        kept = [r for r in readings if own[order.position(r)] == r.field.pointer]
        drop.update(id(r) for r in readings if r not in kept)
        if len({_reading_key(r.found.value) for r in kept}) > 1:  # else the order makes no odds
            for reading in kept:
                reading.found.confidence = _lowered(reading.found.confidence, ORDER_FIT)
    return [c for c in candidates if id(c) not in drop]


def _titled_alike_in_reading_order(
    scalars: list[tuple[FieldSpec, FieldSpec | None]],
    chosen: dict[str, Candidate],
    pages: list[PageWords],
) -> dict[str, Found]:
    """Each chosen reading's value; fields titled alike take theirs in the order the page
    prints their labels, where confidence alone hands them out at random (see
    `_at_own_labels`, which pairs them where the page prints a label for each)."""
    order = _LabelOrder(scalars, pages)
    found = {pointer: candidate.found for pointer, candidate in chosen.items()}
    for pointers in _titled_alike(scalars):
        readings = sorted((chosen[p] for p in pointers if p in chosen), key=order.position)
        if not readings or not all(order.interchangeable(r, pointers) for r in readings):
            continue
        targets = [p for p in pointers if p in chosen]
        found.update({p: r.found for p, r in zip(targets, readings, strict=True)})
    return found


def _titled_alike(scalars: list[tuple[FieldSpec, FieldSpec | None]]) -> list[list[str]]:
    """Pointers of fields alike in all a reading depends on but their names, two or more."""
    groups: dict[tuple, list[str]] = {}
    for spec, parent in scalars:
        if spec.title:
            alike = (
                normalize_label(spec.title), spec.description, parent and parent.pointer,
                spec.kind, spec.format, repr(spec.enum),
            )  # fmt: skip
            groups.setdefault(alike, []).append(spec.pointer)
    return [pointers for pointers in groups.values() if len(pointers) > 1]


def unsure_fields(
    root: FieldSpec, printed: dict[str, str], found: dict[str, Found]
) -> dict[str, str]:
    """Why each labelled field left unfilled was left so: its label (`printed`, as
    `pair_fields` read them) was found, but no value."""
    scalars, _, _ = _walk(root)
    return {
        spec.pointer: (
            f"label {printed[spec.pointer]!r} found but no value beside or below it reads as "
            f"{_kind_name(spec)}; left empty rather than guessed"
        )
        for spec, _ in scalars
        if spec.pointer in printed and spec.pointer not in found
    }


def _kind_name(spec: FieldSpec) -> str:
    if spec.enum is not None:
        return "one of the options"
    if spec.format in ("date", "date-time"):
        return "a date"
    return {"number": "an amount", "integer": "an integer", "boolean": "a yes/no"}.get(
        spec.kind, "a value"
    )


def _last_total(chosen: Candidate, candidates: list[Candidate]) -> Candidate:
    """Sums are printed below what they add up: of a total's equally well named labels with
    different amounts ("Total (incl. GST) 42.76", "Rounding -0.01", "TOTAL 42.75"), the one
    printed last is the total. A total is printed beside its label: a "Total" with an amount
    under it heads a column (a tax summary's "Netto | MwSt | Total"), whose first cell is one
    row's, so it is the total only where no label has one beside it."""
    if chosen.field.kind != "number" or "total" not in normalize_label(chosen.field.name).split():
        return chosen
    rivals = [chosen, *_rivals(chosen, candidates)]
    beside = [c for c in rivals if not c.under]
    return max(
        beside or rivals, key=lambda c: (c.found.page, c.found.bbox[1] if c.found.bbox else 0.0)
    )


def _rivals(chosen: Candidate, candidates: list[Candidate]) -> list[Candidate]:
    """Readings of the same field from labels that name it as well, with other values."""
    return [
        c
        for c in candidates
        if c.field is chosen.field
        and c is not chosen
        and not c.run_on
        and c.label_score >= chosen.label_score - 1
        and _reading_key(c.found.value) != _reading_key(chosen.found.value)
    ]


def _reading_key(value: Any) -> Any:
    """A value as the answer it reads, OCR's spacing and case aside: "May 1,1985" printed
    twice and read once as "May1,1985" is one answer, not two."""
    return "".join(value.split()).lower() if isinstance(value, str) else value


def _doubt_rivals(
    chosen: Candidate, candidates: list[Candidate], labels: dict[int, Segment]
) -> None:
    """A label printed twice with different values beside it ("Last name" for you and for a
    spouse): keep the chosen reading (the surest, the first, or a receipt's last total), but
    not as a sure one, and name a rival in its warning. The field's words opening a
    sentence ("Nature of work should be specified...") are no second label, and a reading
    too unsure to be kept as the field's value (OCR noise, another row's text under an
    unmarked label) is no second value. Nor, for an answer beside its colon, is a reading
    the page does not ask for as surely: under a label, or beside one without a colon."""
    rivals = [c for c in _rivals(chosen, candidates) if c.found.confidence >= MIN_CONFIDENCE]
    if _asked_beside(chosen, labels):
        rivals = [c for c in rivals if _asked_beside(c, labels)]
    if rivals:
        chosen.found.confidence = round(chosen.found.confidence * RIVAL_PENALTY, 3)
        chosen.found.warning = (
            f"its label is printed {len(rivals) + 1} times with different values; "
            f"took {chosen.found.value!r}, not {rivals[0].found.value!r}"
        )


def _asked_first(
    chosen: Candidate, candidates: list[Candidate], labels: dict[int, Segment]
) -> Candidate:
    """Of a field's readings at labels that name it as well, one beside a colon (see
    `_asked_beside`) before the surest of the others ("Chicago: 8/8" before "Chicago 3.3")."""
    if _asked_beside(chosen, labels):
        return chosen
    asked = [
        c
        for c in _rivals(chosen, candidates)
        if _asked_beside(c, labels) and c.found.confidence >= MIN_CONFIDENCE
    ]
    return max(asked, key=lambda c: c.found.confidence, default=chosen)


def _takes_from_beside(
    reading: Candidate, candidates: list[Candidate], segments: dict[int, Segment]
) -> bool:
    """Whether `reading` goes on under its label into words another field reads beside its
    own label as more of that line's answer ("No. C-51" over "Description: CAPRI ... WAVE
    2"): they answer the label printed on their line before one printed above it. Words
    that open the other label's answer may be a paragraph wrapping onto its line, read by
    both; those are left to the choice by confidence."""
    label = segments[reading.claimed[0]]
    if label.lead:
        return False  # a label joined over lines: where it ends is not one line
    own_line = _line_of(label)
    under = {key for key in reading.claimed[1:] if _line_of(segments.get(key)) > own_line}
    return any(
        other.field is not reading.field
        and not other.under
        and other.found.confidence >= MIN_CONFIDENCE
        and any(
            _line_of(segments.get(key)) == _line_of(segments.get(other.claimed[0]))
            for key in under.intersection(other.claimed[2:])
        )
        for other in candidates
    )


def _reads_across_label(
    reading: Candidate, candidates: list[Candidate], segments: dict[int, Segment]
) -> bool:
    """Whether `reading`'s value, beside its label, runs past another field's label (or its
    first line, where it wraps) printed between its words ("CIGARETTES: #839/869 | KOOL
    Lights KS - white tip- | 9.1 | .474"): the words after that label are its answer."""
    value = [segments[key] for key in reading.claimed[1:] if key in segments]
    line = _line_of(segments[reading.claimed[0]])
    if reading.under or not value or any(_line_of(s) != line for s in value):
        return False
    start, end = value[0].bbox[0], value[-1].bbox[2]
    return any(
        _line_of(part) == line and start < part.bbox[0] < end
        for other in candidates
        if other.field is not reading.field
        and other.found.confidence >= MIN_CONFIDENCE
        and other.claimed[0] not in reading.claimed
        for part in (segments[other.claimed[0]], *segments[other.claimed[0]].lead)
    )


def _line_of(segment: Segment | None) -> tuple[int, int]:
    return (-1, -1) if segment is None else (segment.page, segment.line)


def _asked_beside(reading: Candidate, labels: dict[int, Segment]) -> bool:
    """Free text read beside a label ending in a colon, the form's own way to ask for it."""
    return (
        not is_typed(reading.field)
        and not reading.under
        and labels[reading.claimed[0]].text.endswith(":")
    )


def _walk(
    spec: FieldSpec, parent: FieldSpec | None = None
) -> tuple[list[tuple[FieldSpec, FieldSpec | None]], list[FieldSpec], list[FieldSpec]]:
    scalars: list[tuple[FieldSpec, FieldSpec | None]] = []
    arrays: list[FieldSpec] = []
    objects: list[FieldSpec] = []
    if spec.kind == "object":
        if spec.pointer:
            objects.append(spec)
        for child in spec.properties.values():
            child_scalars, child_arrays, child_objects = _walk(
                child, spec if spec.pointer else None
            )
            scalars += child_scalars
            arrays += child_arrays
            objects += child_objects
    elif spec.kind == "array":
        arrays.append(spec)
    else:
        scalars.append((spec, parent))
    return scalars, arrays, objects


def _split_at_labels(pages: list[PageWords], scalars: list) -> None:
    """Cut a segment where another field's label starts inside it: words printed close
    together ("20 mm Net Net Tobacco", a value run into the next label) are two segments. A
    segment that names a field whole ("Sample Specifications Written By", where "Written by"
    is a field too) is that field's label, not two."""
    all_names = [label_candidates(spec, parent) for spec, parent in scalars]
    names = {tuple(normalize_label(name).split()) for group in all_names for name in group}
    names.discard(())  # a label of punctuation only names nothing
    for page in pages:
        for line in page.lines:
            index = 0
            while index < len(line):
                segment = line[index]
                cut = None if segment.widget else _label_start(segment, names)
                if cut is None or _names_whole(segment, cut, all_names):
                    index += 1
                    continue
                head = Segment(segment.words[:cut], segment.page, segment.line, segment.checkbox)
                tail = Segment(segment.words[cut:], segment.page, segment.line)
                line[index : index + 1] = [head, tail]
                index += 1


def _names_whole(segment: Segment, cut: int, all_names: list[list[str]]) -> bool:
    """Whether `segment` names a field as well as its words from `cut` on do: one label of
    more words, not a value or a label run into the next label."""
    tail = " ".join(w.text for w in segment.words[cut:])
    whole = max(label_score(segment.text, names) for names in all_names)
    return whole >= STRONG_LABEL_SCORE and whole >= max(
        label_score(tail, names) for names in all_names
    )


def _unglue_labels(pages: list[PageWords], all_names: list[list[str]]) -> None:
    """Cut a word where a field's label ends inside it and its value goes on: OCR reads the
    space after a label as punctuation ("DATE.3/17/82", "No(s).T.K.9220", "FAX;305)") or
    loses it before figures ("Rec'd6/21/93", "Project #1969-105") or between a label in
    capitals and a capitalised value ("DATEMay.27,")."""
    for page in pages:
        for line in page.lines:
            for index, segment in enumerate(line):
                if not segment.widget:
                    line[index] = _unglued_label(segment, all_names)


def _unglued_label(segment: Segment, all_names: list[list[str]]) -> Segment:
    """`segment` with its first word holding a field's label and a value cut in two."""
    words = segment.words
    for index, word in enumerate(words):
        for match in _GLUED_LABEL.finditer(word.text):
            cut = match.start()
            value = word.text[cut:]
            # Figures, or a word opening in a capital then lower case ("May"; not "S.A.").
            if not (has_digit(value) or (len(value) >= 3 and value[1].islower())):
                continue
            label_end = word.text[:cut]
            named = any(
                label_score(" ".join([*(w.text for w in words[start:index]), label_end]), n)
                >= STRONG_LABEL_SCORE
                for start in range(index + 1)
                for n in all_names
            )
            if named:
                parts = word_parts(word, [(0, cut), (cut, len(word.text))])
                return replace(segment, words=[*words[:index], *parts, *words[index + 1 :]])
    return segment


def _label_start(segment: Segment, names: set[tuple[str, ...]]) -> int | None:
    """The word a label starts at inside `segment` (not at its start): one of several words,
    or a single word where its colon, or its capital ending the segment, marks it as a label
    and a number before it as a value run into it ("June 21, 1993 DEPARTMENT:", "REV.10/79
    DATE"; not "PROJECT NUMBER:", nor "3 cartons"), or where its colon closes the segment after
    a word ending in no letter ("(with BELAIR Badmin- Sample:")."""
    words = [normalize_label(w.text) for w in segment.words]
    counts = [len(w.split()) for w in words]  # "F.P.M." is one word of three of a label's
    for start in range(1, len(words)):
        for name in names:
            end = _words_spanning(counts, start, len(name))
            if end is None or not words[start]:
                continue
            word = segment.words[start].text
            last = start == len(words) - 1
            ends = word.endswith(":") or (last and word[:1].isupper())
            # A colon closing the segment after a word that ends in no letter ("Badmin-
            # Sample:", "Document(s) Served:"): not one label of several words.
            closes = last and word.endswith(":") and not segment.words[start - 1].text[-1].isalnum()
            if len(name) == 1 and not (
                closes or (ends and has_digit(segment.words[start - 1].text))
            ):
                continue
            text = " ".join(w for w in words[start:end] if w)
            if fuzz.ratio(text, " ".join(name)) >= STRONG_LABEL_SCORE:
                return start
    return None


def _words_spanning(counts: list[int], start: int, wanted: int) -> int | None:
    """Where the words from `start` end that hold `wanted` of a label's words in all, each
    word holding `counts` of them; None where no run of them holds exactly that many."""
    total = 0
    for end in range(start, len(counts)):
        total += counts[end]
        if total >= wanted:
            return end + 1 if total == wanted else None
    return None


def _best_label_scores(pages: list[PageWords], scalars: list) -> dict[int, float]:
    """For each printed segment, how well the field it names best is named by it."""
    names = [label_candidates(spec, parent) for spec, parent in scalars]
    return {
        id(segment): max((label_score(segment.text, n) for n in names), default=0.0)
        for page in pages
        for line in page.lines
        for segment in line
        if not segment.widget
    }


def _label_like(pages: list[PageWords], best_scores: dict[int, float]) -> set[int]:
    """Segments that read as labels and are never taken as values: text with letters ending in
    a colon (figures are no label: "7%:" is a value OCR read a mark after) and text naming a
    field."""
    return {
        id(segment)
        for page in pages
        for line in page.lines
        for segment in line
        if not segment.widget
        and (
            (segment.text.endswith(":") and lettered({segment.text}))
            or best_scores[id(segment)] >= STRONG_LABEL_SCORE
        )
    }


def _scalar_candidates(
    page: PageWords,
    spec: FieldSpec,
    parent: FieldSpec | None,
    label_like: set[int],
    best: tuple[dict[int, float], list[list[str]]],
    date_order: DateOrder | None,
    captions_under: bool,
    printed: dict[str, str],
) -> list[Candidate]:
    names = label_candidates(spec, parent)
    best_scores, all_names = best
    out: list[Candidate] = []
    for line in page.lines:
        for segment in line:
            if segment.widget:
                continue
            ticked = None if is_typed(spec) else _after_tick(page, segment, names, all_names)
            if ticked is not None:
                tick, label, score = ticked
                printed.setdefault(spec.pointer, label.text)
                read = Reading(
                    page, spec, names, label_like, date_order, score, all_names, captions_under
                )
                candidate = read.ticked(label, tick, segment)
                out.extend([candidate] if candidate else [])
                continue
            label, rest, score = _label_in(segment, names)
            if label is not None and score >= STRONG_LABEL_SCORE:
                printed.setdefault(spec.pointer, label.text)
            if label is None or (rest is None and score < best_scores[id(segment)]):
                continue  # no label of this field, or one that names another field better
            if _before_tax(spec, segment):
                continue  # "Total Sales (Excluding GST)": the sum the tax is added to
            if rest is not None and _longer_label(segment, len(label.words), names, all_names):
                continue  # "Date" at the start of "Date Made 11/3/61": another field's label
            read = Reading(
                page, spec, names, label_like, date_order, score, all_names, captions_under
            )
            candidate = read.value(label, rest, _beside(page, segment), segment)
            if candidate:
                candidate.run_on = rest is not None
                if segment.lead:
                    candidate.found.confidence = round(candidate.found.confidence * WRAPPED_FIT, 3)
                out.append(candidate)
    return out


def _after_tick(
    page: PageWords, segment: Segment, names: list[str], all_names: list[list[str]]
) -> tuple[Segment, Segment, float] | None:
    """The tick opening `segment` and the words after it (`ticks.after_tick`), where those
    words name the field better than the whole does, and no other field better, with their
    score."""
    parts = ticks.after_tick(page, segment)
    if parts is None:
        return None
    tick, label = parts
    score = label_score(label.text, names)
    if score < STRONG_LABEL_SCORE or score <= label_score(segment.text, names):
        return None
    if any(label_score(label.text, other) > score for other in all_names):
        return None
    return tick, label, score


def _before_tax(spec: FieldSpec, printed: Segment) -> bool:
    """Whether `printed` labels a sum before tax, which is no total's label ("Total (excl.
    VAT)", "Summe ohne MwSt", "Total HT")."""
    return (
        spec.kind == "number"
        and "total" in normalize_label(spec.name).split()
        and _BEFORE_TAX.search(printed.text) is not None
    )


def _beside(page: PageWords, label: Segment) -> list[Segment]:
    """What is printed right of `label`; right of a label printed over several lines, right
    of the line with the nearest such text ("Final Report Due 7/9/90 | Wave(s)", "Respondent |
    Incidence: 38%")."""
    lines = [*label.lead, label]
    beside = [(line, right_of(page, line)) for line in lines]
    beside = [(line, right) for line, right in beside if right]
    if not beside:
        return []
    return min(beside, key=lambda pair: pair[1][0].bbox[0] - pair[0].bbox[2])[1]


def _label_in(segment: Segment, names: list[str]) -> tuple[Segment | None, Segment | None, float]:
    """The segment as a label, or its leading words as one with the rest as the value
    ("Date of loss 14/03/2026" printed without a gap), with the label's score. The split is
    taken where the leading words name the field better than the whole segment does."""
    score = label_score(segment.text, names)
    best: tuple[float, int] | None = None
    for split in range(1, len(segment.words)):
        prefix = " ".join(w.text for w in segment.words[:split])
        prefix_score = label_score(prefix, names)
        if prefix_score >= STRONG_LABEL_SCORE and (best is None or prefix_score > best[0]):
            best = (prefix_score, split)
    if best is None or best[0] <= score:
        return (segment, None, score) if score >= MIN_LABEL_SCORE else (None, None, 0.0)
    score, split = best
    while split < len(segment.words) and set(segment.words[split].text) <= _LABEL_MARKS:
        split += 1  # the label's own number sign or colon ("Report # 517", "Date : 5/3/90")
    if split == len(segment.words):
        return segment, None, score
    label = Segment(segment.words[:split], segment.page, segment.line)
    rest = Segment(segment.words[split:], segment.page, segment.line)
    return label, rest, score


def _longer_label(
    segment: Segment, words: int, names: list[str], all_names: list[list[str]]
) -> bool:
    """Whether more than the first `words` words of `segment` name another field."""
    return any(
        label_score(" ".join(w.text for w in segment.words[:end]), other) >= STRONG_LABEL_SCORE
        for end in range(words + 1, len(segment.words) + 1)
        for other in all_names
        if other != names
    )


def _has_own_labels(spec: FieldSpec, pages: list[PageWords]) -> bool:
    """Whether any scalar property of an object has its own label printed somewhere."""
    names = [label_candidates(child, spec) for child in spec.properties.values()]
    return any(
        label_score(segment.text, n) >= STRONG_LABEL_SCORE
        for page in pages
        for line in page.lines
        for segment in line
        for n in names
    )


def _address_block(spec: FieldSpec, pages: list[PageWords], used: set[int]) -> dict[str, Found]:
    """An object printed as a block under its label ("Bill To:" then name, street, city):
    string properties take the block's lines in order, the last one the remaining lines."""
    children = [c for c in spec.properties.values() if c.kind == "string" and c.enum is None]
    if not children:
        return {}
    names = label_candidates(spec)
    best: tuple[float, PageWords, int, Segment] | None = None
    for page in pages:
        for index, line in enumerate(page.lines):
            for segment in line:
                score = label_score(segment.text, names)
                usable = score >= MIN_LABEL_SCORE and id(segment) not in used
                if usable and (best is None or score > best[0]):
                    best = (score, page, index, segment)
    if best is None:
        return {}
    score, page, index, label = best
    block: list[Segment] = []
    bottom = label.bbox[3]
    for line in page.lines[index + 1 :]:
        under = [s for s in line if abs(s.bbox[0] - label.bbox[0]) < 1.5 * label.height]
        if not under or under[0].bbox[1] - bottom > 1.2 * label.height or id(under[0]) in used:
            break
        block.append(under[0])
        bottom = under[0].bbox[3]
    found: dict[str, Found] = {}
    for position, child in enumerate(children):
        if position >= len(block):
            break
        last = position == len(children) - 1
        lines = block[position:] if last else [block[position]]
        text = ", ".join(s.text for s in lines)
        found[child.pointer] = Found(
            text, page.number, union([s.bbox for s in lines]),
            round(score / 100 * read_fit(page, lines), 3), page.source,
        )  # fmt: skip
        used.update(id(s) for s in lines)
    return found


def _table_rows(
    spec: FieldSpec, pages: list[PageWords], date_order: DateOrder | None
) -> dict[str, Found]:
    """Rows of the table whose header names the item's properties, one item per row."""
    item = spec.items
    if item is None or item.kind != "object":
        return {}
    props = [p for p in item.properties.values() if p.kind not in ("object", "array")]
    needed = max(2, math.ceil(len(props) / 2))
    best: tuple[float, PageWords, int, dict[str, Segment]] | None = None
    for page in pages:
        for index, line in enumerate(page.lines):
            columns = _header_columns(line, props, item)
            if len(columns) >= needed:
                total = sum(score for score, _ in columns.values())
                if best is None or total > best[0]:
                    best = (total, page, index, {k: seg for k, (_, seg) in columns.items()})
    if best is None:
        return {}
    _, page, index, columns = best
    by_name = {p.name: p for p in props}
    found: dict[str, Found] = {}
    row_height = max(s.height for s in columns.values())
    previous_bottom = max(s.bbox[3] for s in columns.values())
    rows_read = 0
    for line in page.lines[index + 1 :]:
        top = min(s.bbox[1] for s in line)
        if top - previous_bottom > 2.5 * row_height:
            break
        cells = _assign_columns(line, columns)
        parsed = {
            name: parse_value(" ".join(s.text for s in segments), by_name[name], date_order)
            for name, segments in cells.items()
        }
        readable = {name: value for name, value in parsed.items() if value is not None}
        required = [p.name for p in props if p.required and not p.nullable and p.name in columns]
        if len(readable) < needed or any(name not in readable for name in required):
            break
        for name, reading in readable.items():
            pointer = f"{spec.pointer}/{rows_read}/{by_name[name].pointer.rsplit('/', 1)[1]}"
            bbox = union([s.bbox for s in cells[name]])
            confidence = reading.fit * read_fit(page, cells[name])
            found[pointer] = Found(
                reading.value, page.number, bbox, round(confidence, 3), page.source,
                reading.warning,
            )  # fmt: skip
        rows_read += 1  # noqa: SIM113 (rows stop at the first unreadable line, not per line)
        previous_bottom = max(s.bbox[3] for s in line)
    return found


def _header_columns(
    line: list[Segment], props: list[FieldSpec], item: FieldSpec
) -> dict[str, tuple[float, Segment]]:
    pairs = sorted(
        (
            (
                label_score(segment.text, label_candidates(prop, None)),
                prop.name,
                id(segment),
                segment,
            )
            for prop in props
            for segment in line
        ),
        key=lambda pair: -pair[0],
    )
    columns: dict[str, tuple[float, Segment]] = {}
    taken: set[int] = set()
    for score, name, key, segment in pairs:
        if score < MIN_LABEL_SCORE or name in columns or key in taken:
            continue
        columns[name] = (score, segment)
        taken.add(key)
    return columns


def _assign_columns(line: list[Segment], columns: dict[str, Segment]) -> dict[str, list[Segment]]:
    """Each segment of a row goes to the header column it overlaps most (else the nearest)."""
    cells: dict[str, list[Segment]] = {}
    for segment in line:
        x0, _, x1, _ = segment.bbox

        def closeness(name: str, x0: float = x0, x1: float = x1) -> float:
            hx0, _, hx1, _ = columns[name].bbox
            overlap = min(x1, hx1) - max(x0, hx0)
            return overlap if overlap > 0 else -abs((x0 + x1) - (hx0 + hx1)) / 2

        name = max(columns, key=closeness)
        cells.setdefault(name, []).append(segment)
    return cells


def _list_value(spec: FieldSpec, pages: list[PageWords], used: set[int]) -> dict[str, Found]:
    """An array of scalars printed after its label as a comma-separated list."""
    item = spec.items
    if item is None or item.kind in ("object", "array"):
        return {}
    names = label_candidates(spec)
    best: tuple[float, PageWords, Segment] | None = None
    for page in pages:
        for line in page.lines:
            for position, segment in enumerate(line[:-1]):
                score = label_score(segment.text, names)
                if score >= MIN_LABEL_SCORE and (best is None or score > best[0]):
                    best = (score, page, line[position + 1])
    if best is None:
        return {}
    score, page, value = best
    found: dict[str, Found] = {}
    for index, part in enumerate(p for p in re.split(r"[,;]", value.text) if p.strip()):
        parsed = parse_value(part, item)
        if parsed is None:
            return {}
        confidence = label_fit(score) * parsed.fit * read_fit(page, [value])
        found[f"{spec.pointer}/{index}"] = Found(
            parsed.value, page.number, value.bbox, round(confidence, 3), page.source
        )
    used.add(id(value))
    return found


def _lone_enum_value(spec: FieldSpec, pages: list[PageWords]) -> dict[str, Found]:
    """An unlabelled enum field whose value is printed verbatim, and only one option is."""
    options = {str(option): option for option in spec.enum or []}
    seen: dict[str, tuple[PageWords, BBox]] = {}
    for page in pages:
        for line in page.lines:
            for segment in line:
                for word in segment.words:
                    token = word.text.strip(".,:;()")
                    if token in options and token not in seen:
                        seen[token] = (page, word.bbox)
    if len(seen) != 1:
        return {}
    ((token, (page, bbox)),) = seen.items()
    return {spec.pointer: Found(options[token], page.number, bbox, 0.6, page.source)}
