"""Fill schema fields from a page's words without a model: label–value pairing and tables.

A field's label is a segment whose text fuzzily matches the field's title or name ("Invoice
No." for `invoice_number`); its value is the segment to the right on the same line, else the one
just below it, and must parse as the field's type, so a date field skips a label whose neighbour
is not a date. Candidates from all pages compete by score and each segment is used once.
Arrays of objects are read from a table whose header row names the item's properties.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from docvlm.document import BBox
from docvlm.extraction.schema import FieldSpec, label_candidates
from docvlm.extraction.values import parse_boolean, parse_value
from docvlm.extraction.words import PageWords, Segment, drawn_checkbox
from docvlm.geometry import union

MIN_LABEL_SCORE = 70.0
STRONG_LABEL_SCORE = 88.0
BELOW_PENALTY = 0.97  # at equal label scores a value to the right beats one below
_SYNONYMS = {
    "no": "number", "nr": "number", "num": "number", "#": "number", "qty": "quantity",
    "amt": "amount", "addr": "address", "dob": "date of birth", "tel": "phone",
    "telephone": "phone", "e-mail": "email", "ref": "reference", "acct": "account",
}  # fmt: skip


@dataclass
class Found:
    """A value read for one field, with where it was read and how sure we are."""

    value: Any
    page: int
    bbox: BBox | None
    confidence: float
    source: str


@dataclass
class _Candidate:
    score: float
    field: FieldSpec
    label: Segment
    values: list[Segment]
    found: Found


def normalize_label(text: str) -> str:
    """Lower-case words with punctuation, parentheticals and abbreviations undone."""
    text = re.sub(r"\([^)]*\)", " ", text.lower())
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text)
    words = re.findall(r"[a-z0-9#%]+", text.replace("_", " "))
    return " ".join(_SYNONYMS.get(w, w) for w in words)


def label_score(text: str, names: list[str]) -> float:
    """How well printed `text` names a field, 0–100: exact words, else fuzzy, subsets discounted."""
    label = normalize_label(text)
    if not label:
        return 0.0
    best = 0.0
    for name in names:
        wanted = normalize_label(name)
        if not wanted:
            continue
        score = float(fuzz.ratio(label, wanted))
        mine, theirs = set(label.split()), set(wanted.split())
        if mine == theirs:
            score = 100.0
        elif mine < theirs or theirs < mine:
            share = min(len(mine), len(theirs)) / max(len(mine), len(theirs))
            score = max(score, 50 + 50 * share)
        best = max(best, score)
    return best


def pair_fields(root: FieldSpec, pages: list[PageWords], taken: set[str]) -> dict[str, Found]:
    """Values for the fields under `root` not in `taken`, keyed by JSON pointer."""
    scalars, arrays, objects = _walk(root)
    found: dict[str, Found] = {}
    used: set[int] = set()
    for spec in objects:
        if spec.pointer not in taken and not _has_own_labels(spec, pages):
            found.update(_address_block(spec, pages, used))
    scalars = [(s, parent) for s, parent in scalars if s.pointer not in taken | set(found)]
    label_like = _label_like(pages, scalars)
    candidates = [
        candidate
        for page in pages
        for spec, parent in scalars
        for candidate in _scalar_candidates(page, spec, parent, label_like)
    ]
    candidates.sort(key=lambda c: -c.score)
    for candidate in candidates:
        segments = [candidate.label, *candidate.values]
        if candidate.field.pointer in found or any(id(s) in used for s in segments):
            continue
        found[candidate.field.pointer] = candidate.found
        used.update(id(s) for s in segments)
    for spec in arrays:
        if spec.pointer not in taken:
            found.update(_table_rows(spec, pages) or _list_value(spec, pages, used))
    for spec, _ in scalars:
        if spec.pointer not in found and spec.enum is not None:
            found.update(_lone_enum_value(spec, pages))
    return found


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


def _label_like(pages: list[PageWords], scalars: list) -> set[int]:
    """Segments that read as labels (end in a colon or name a field); never taken as values."""
    names = [label_candidates(spec, parent) for spec, parent in scalars]
    return {
        id(segment)
        for page in pages
        for line in page.lines
        for segment in line
        if not segment.widget
        and (
            segment.text.endswith(":")
            or any(label_score(segment.text, n) >= STRONG_LABEL_SCORE for n in names)
        )
    }


def _scalar_candidates(
    page: PageWords, spec: FieldSpec, parent: FieldSpec | None, label_like: set[int]
) -> list[_Candidate]:
    names = label_candidates(spec, parent)
    out: list[_Candidate] = []
    for index, line in enumerate(page.lines):
        for position, label in enumerate(line):
            if label.widget:
                continue
            score = label_score(label.text, names)
            if score < MIN_LABEL_SCORE:
                continue
            right = line[position + 1 :]
            candidate = _read_value(page, spec, label, right, index, label_like, score)
            if candidate:
                out.append(candidate)
    return out


def _read_value(
    page: PageWords,
    spec: FieldSpec,
    label: Segment,
    right: list[Segment],
    line_index: int,
    label_like: set[int],
    score: float,
) -> _Candidate | None:
    if spec.kind == "boolean":
        return _boolean_value(page, spec, label, right, score)
    if spec.enum is not None:
        for segment in right:
            box = _ticked_box(page, segment)
            if box is not None:
                candidate = _candidate(page, spec, label, [segment], score, segment.text)
                if candidate:  # else OCR read the box itself as a letter: the option follows
                    candidate.found.bbox = union([box, segment.bbox])
                    return candidate
    options: list[tuple[list[Segment], float]] = []
    if right and id(right[0]) not in label_like:
        options.append(([right[0]], 1.0))
    below = _below(page, label, line_index)
    if below is not None and id(below) not in label_like:
        options.append(([below], BELOW_PENALTY))
    for segments, weight in options:
        candidate = _candidate(page, spec, label, segments, score * weight, segments[0].text)
        if candidate:
            return candidate
    return None


def _candidate(
    page: PageWords, spec: FieldSpec, label: Segment, values: list[Segment], score: float, text: str
) -> _Candidate | None:
    parsed = parse_value(text, spec)
    if parsed is None:
        return None
    value, confidence = parsed
    source = "acroform" if values and values[0].widget else page.source
    bbox = union([s.bbox for s in values]) if values else label.bbox
    read = [w.confidence for s in values for w in s.words] or [1.0]  # OCR's own certainty
    confidence *= min(read)
    found = Found(value, page.number, bbox, round(score / 100 * confidence, 3), source)
    return _Candidate(score * confidence, spec, label, values, found)


def _boolean_value(
    page: PageWords, spec: FieldSpec, label: Segment, right: list[Segment], score: float
) -> _Candidate | None:
    state = label.checkbox
    values: list[Segment] = []
    if state is None and right:
        state = right[0].checkbox if right[0].checkbox is not None else parse_boolean(right[0].text)
        values = [right[0]] if state is not None else []
    bbox = union([s.bbox for s in values]) if values else label.bbox
    if state is None:
        drawn = drawn_checkbox(page, label.bbox)
        if drawn is None:
            return None
        state, box = drawn
        bbox = union([box, label.bbox])
    source = "acroform" if values and values[0].widget else page.source
    found = Found(state, page.number, bbox, round(score / 100, 3), source)
    return _Candidate(score, spec, label, values, found)


def _ticked_box(page: PageWords, segment: Segment) -> BBox | None:
    """The box of a ticked checkbox that belongs to `segment` (a glyph in it, or drawn left)."""
    if segment.checkbox is not None:
        return segment.bbox if segment.checkbox else None
    drawn = drawn_checkbox(page, segment.bbox)
    return drawn[1] if drawn is not None and drawn[0] else None


def _below(page: PageWords, label: Segment, line_index: int) -> Segment | None:
    """The nearest segment under `label` that overlaps it horizontally, within two lines."""
    x0, _, x1, y1 = label.bbox
    for line in page.lines[line_index + 1 : line_index + 3]:
        for segment in line:
            sx0, sy0, sx1, _ = segment.bbox
            if sy0 - y1 > 2.5 * label.height:
                return None
            if sx0 < x1 and x0 < sx1:
                return segment
    return None


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
            text, page.number, union([s.bbox for s in lines]), round(score / 100, 3), page.source
        )
        used.update(id(s) for s in lines)
    return found


def _table_rows(spec: FieldSpec, pages: list[PageWords]) -> dict[str, Found]:
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
            name: parse_value(" ".join(s.text for s in segments), by_name[name])
            for name, segments in cells.items()
        }
        readable = {name: value for name, value in parsed.items() if value is not None}
        required = [p.name for p in props if p.required and not p.nullable and p.name in columns]
        if len(readable) < needed or any(name not in readable for name in required):
            break
        for name, (value, confidence) in readable.items():
            pointer = f"{spec.pointer}/{rows_read}/{by_name[name].pointer.rsplit('/', 1)[1]}"
            bbox = union([s.bbox for s in cells[name]])
            found[pointer] = Found(value, page.number, bbox, round(confidence, 3), page.source)
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
        found[f"{spec.pointer}/{index}"] = Found(
            parsed[0], page.number, value.bbox, round(score / 100 * parsed[1], 3), page.source
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
