"""Word labels from (document, JSON) pairs: find each target value among the page's anchor words.

Values are matched by type: booleans to check-box words (`[x]` / `[ ]`) or yes/no words,
numbers through `parse_amount` (so "$1,234.50" is 1234.5), ISO dates through `parse_date`
(so "March 5, 2024" is 2024-03-05), and text by its letters and digits, exactly or fuzzily (OCR
misreads). A value may run over several words and on to the next line. Where a value is
printed more than once, the copy at its key's usual place on the layout wins (`usual_places`,
learned from the other pages), else the copy whose neighbouring words best name the field (the
label beside or above it), and items of one array row keep to one line. Values that cannot be
found are reported with the reason, never dropped silently.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz import fuzz

from docvlm.anchors import CHECKED, UNCHECKED, AnchorWord
from docvlm.extraction.values import parse_amount, parse_boolean, parse_date

MIN_FUZZY = 85  # rapidfuzz ratio for a text value read with OCR slips
# A value continues on the next line when that line starts within this many grid units of it.
CONTINUATION_X = 20
MAX_EXTRA_WORDS = 2  # a text span may hold this many words more than the value has
CONTEXT_WORDS = 5
CHECKBOX_STATES = {CHECKED: True, UNCHECKED: False}
# A key has a usual place on a layout where at least this many of its values were aligned and
# half of them lie within PLACE_SPREAD grid units of their median position.
MIN_PLACED = 5
PLACE_SPREAD = 15
# Grid units off its key's usual place that cost a copy as much as a whole match quality: the
# place outweighs the neighbouring words, which on a form printing its labels under the boxes
# name the field below.
PLACE_SCALE = 100

Place = tuple[float, float]  # a key's usual grid position (x, y) of its values' first word


@dataclass
class FieldSpan:
    """Words (indices into the page's anchor words) that print one target value."""

    key: str  # the schema key tagged: "/total", "/line_items/*/amount"
    pointer: str  # the value's place in the target: "/line_items/2/amount"
    words: list[int]


@dataclass
class Alignment:
    """The spans found for one row, and (pointer, reason) for each value that was not found."""

    spans: list[FieldSpan] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)  # values found in more than one place


def target_leaves(target: dict[str, Any], pointer: str = "") -> list[tuple[str, str, Any]]:
    """(key, pointer, value) for every scalar in `target`; array indices become `*` in keys."""
    out: list[tuple[str, str, Any]] = []
    items = target.items() if isinstance(target, dict) else enumerate(target)
    for name, value in items:
        child = f"{pointer}/{_escape(str(name))}"
        if isinstance(value, dict | list):
            out += target_leaves(value, child)
        else:
            out.append((to_key(child), child, value))
    return out


def to_key(pointer: str) -> str:
    """ "/line_items/2/amount" → "/line_items/*/amount"."""
    return "/".join("*" if part.isdigit() else part for part in pointer.split("/"))


def align(
    target: dict[str, Any], words: list[AnchorWord], places: dict[str, Place] | None = None
) -> Alignment:
    """Spans for every non-null value of `target` on a page with `words`; a value printed
    more than once is taken nearest its key's usual place where `places` holds one."""
    result = Alignment()
    leaves = [(k, p, v) for k, p, v in target_leaves(target) if v is not None and v != ""]
    if leaves and not words:
        result.missing = [(p, "the page has no words (try --anchors ocr)") for _, p, _ in leaves]
        return result
    following = _successors(words)
    candidates = {p: _candidates(v, words, following) for _, p, v in leaves}
    keys = {p: k for k, p, _ in leaves}
    taken: set[int] = set()
    placed_lines: dict[str, set[int]] = {}  # array item pointer → lines its values lie on
    for pointer in sorted(candidates, key=lambda p: len(candidates[p])):
        free = [c for c in candidates[pointer] if not taken & set(c[1])]
        if not candidates[pointer]:
            result.missing.append((pointer, "value not found on the page"))
            continue
        if not free:
            result.missing.append((pointer, "its words already print another value"))
            continue
        if len(candidates[pointer]) > 1:
            result.repeated.append(pointer)
        item = pointer.rsplit("/", 1)[0] if "*" in keys[pointer] else None
        lines, place = placed_lines.get(item or "", set()), (places or {}).get(keys[pointer])
        scored = [
            (_score(quality, span, pointer, words, lines, place), span) for quality, span in free
        ]
        scored.sort(key=lambda pair: -pair[0])
        if len(scored) > 1 and scored[0][0] - scored[1][0] < 0.01:
            result.ambiguous.append(pointer)
        span = scored[0][1]
        taken |= set(span)
        if item is not None:
            placed_lines.setdefault(item, set()).add(words[span[0]].line)
        result.spans.append(FieldSpan(keys[pointer], pointer, span))
    result.spans.sort(key=lambda s: s.words[0])
    return result


def _successors(words: list[AnchorWord]) -> list[list[int]]:
    """The words a value may continue with after each word: the next one on its line, or the
    first word of the next line's segment that starts under this segment."""
    segment_start: dict[int, int] = {}
    for index, word in enumerate(words):
        segment_start.setdefault(word.segment, index)
    starts = sorted(segment_start.values())
    following: list[list[int]] = []
    for index, word in enumerate(words):
        options = []
        if index + 1 < len(words) and words[index + 1].line == word.line:
            options.append(index + 1)
        head = words[segment_start[word.segment]]
        height = max(head.grid[3] - head.grid[1], 1)
        for start in starts:
            below = words[start]
            if below.line <= word.line:
                continue
            if below.grid[1] - word.grid[3] > 1.5 * height:
                break
            if abs(below.grid[0] - head.grid[0]) <= CONTINUATION_X:
                options.append(start)
                break
        following.append(options)
    return following


def _spans(start: int, length: int, following: list[list[int]]) -> list[list[int]]:
    """Word paths of exactly `length` words from `start` along the successor links."""
    paths = [[start]]
    for _ in range(length - 1):
        paths = [[*path, nxt] for path in paths for nxt in following[path[-1]]]
    return paths


def _candidates(
    value: Any, words: list[AnchorWord], following: list[list[int]]
) -> list[tuple[float, list[int]]]:
    """(match quality in (0, 1], word indices) for every place `value` may be printed."""
    if isinstance(value, bool):
        return _flags(value, words)
    if isinstance(value, int | float):
        return _typed(words, following, lambda text: _same_number(parse_amount(text), value))
    text = str(value)
    day = _iso_date(text)
    if day is not None:
        return _typed(words, following, lambda span: parse_date(span) == day)
    return _textual(text, words, following)


def _flags(value: bool, words: list[AnchorWord]) -> list[tuple[float, list[int]]]:
    """A ticked box with its yes/no word ("[x] No", "No [x]"), a lone box, or a printed
    yes/no word that no box belongs to."""
    options = {i: _option_word(words, i) for i, w in enumerate(words) if w.checkbox is not None}
    owned = {option for option in options.values() if option is not None}
    found = []
    for index, word in enumerate(words):
        if index in options:
            option = options[index]
            if option is None and word.checkbox is value:
                found.append((1.0, [index]))
            elif (
                option is not None and word.checkbox and parse_boolean(words[option].text) is value
            ):
                found.append((1.0, sorted([index, option])))
        elif index not in owned and parse_boolean(word.text) is value:
            found.append((1.0, [index]))
    return found


def _option_word(words: list[AnchorWord], box: int) -> int | None:
    """The yes/no word a check box belongs to: the nearer neighbour on its line, if any."""
    best: tuple[float, int] | None = None
    for index in (box - 1, box + 1):
        if not 0 <= index < len(words) or words[index].line != words[box].line:
            continue
        if words[index].checkbox is not None or parse_boolean(words[index].text) is None:
            continue
        gap = max(
            words[index].grid[0] - words[box].grid[2], words[box].grid[0] - words[index].grid[2]
        )
        if best is None or gap < best[0]:
            best = (gap, index)
    return None if best is None else best[1]


def read_flag(texts: list[str]) -> bool | None:
    """The boolean a span prints: "[x] No" → False (the ticked option), "[ ]" → False,
    "Yes" → True; None when it reads as neither."""
    boxes = [CHECKBOX_STATES[t] for t in texts if t in CHECKBOX_STATES]
    words = [parse_boolean(t) for t in texts if t not in CHECKBOX_STATES]
    if boxes and words and words[0] is not None:
        return words[0] if boxes[0] else None
    if boxes and not words:
        return boxes[0]
    if len(words) == 1 and not boxes:
        return words[0]
    return None


def _typed(words: list[AnchorWord], following: list[list[int]], fits) -> list:
    """Spans of 1–4 words that read as the value, shortest first: "March 5, 2024" needs all
    three words, "1,234.50 USD" is found by its number alone."""
    found: list[tuple[float, list[int]]] = []
    covered: set[int] = set()
    for length in (1, 2, 3, 4):
        for start in range(len(words)):
            for span in _spans(start, length, following):
                if covered & set(span):
                    continue
                if fits(" ".join(words[i].text for i in span)):
                    found.append((1.0, span))
                    covered |= set(span)
    return found


def _textual(text: str, words: list[AnchorWord], following: list[list[int]]) -> list:
    target = _compact(text)
    if not target:
        return []
    size = len(text.split())
    exact: list[tuple[float, list[int]]] = []
    fuzzy: list[tuple[float, list[int]]] = []
    for start, word in enumerate(words):
        head = _compact(word.text)
        if not head or (
            not target.startswith(head[:2]) and fuzz.ratio(head, target[: len(head)]) < 60
        ):
            continue
        for length in range(max(size - 1, 1), size + MAX_EXTRA_WORDS + 1):
            for span in _spans(start, length, following):
                if not all(_compact(words[i].text) for i in span):
                    continue  # a check box or a lone mark adds nothing to a text value
                joined = _compact(" ".join(words[i].text for i in span))
                if joined == target:
                    exact.append((1.0, span))
                elif abs(len(joined) - len(target)) <= max(2, len(target) // 6):
                    ratio = fuzz.ratio(joined, target)
                    if ratio >= MIN_FUZZY:
                        fuzzy.append((ratio / 100, span))
    return exact or _best_fuzzy(fuzzy)


def _best_fuzzy(found: list[tuple[float, list[int]]]) -> list[tuple[float, list[int]]]:
    """Per starting word, only its best-scoring span."""
    best: dict[int, tuple[float, list[int]]] = {}
    for quality, span in found:
        if span[0] not in best or quality > best[span[0]][0]:
            best[span[0]] = (quality, span)
    return list(best.values())


def _score(
    quality: float,
    span: list[int],
    pointer: str,
    words: list[AnchorWord],
    item_lines: set[int],
    place: Place | None = None,
) -> float:
    """Match quality, plus how well the neighbouring words name the field, plus staying on the
    line of the values already placed for the same array item, less the distance from the
    key's usual `place`."""
    first = words[span[0]]
    before = [
        w.text for w in words[max(0, span[0] - CONTEXT_WORDS) : span[0]] if w.line == first.line
    ]
    after = [
        words[i].text
        for i in range(span[-1] + 1, min(len(words), span[-1] + 4))
        if words[i].segment == first.segment
    ]
    above = [
        w.text
        for w in words
        if w.line < first.line and w.grid[0] <= first.grid[2] and w.grid[2] >= first.grid[0]
    ][-3:]
    name = " ".join(p for p in pointer.split("/") if p and not p.isdigit()).replace("_", " ")
    context = " ".join(before + after + above).lower()
    label = fuzz.token_set_ratio(name.lower(), context) / 100 if context else 0.0
    same_line = 0.5 if first.line in item_lines else 0.0
    off_place = math.dist(first.grid[:2], place) / PLACE_SCALE if place is not None else 0.0
    return quality + 0.3 * label + same_line - off_place - 1e-4 * span[0]


def usual_places(pages: Iterable[tuple[list[AnchorWord], Alignment]]) -> dict[str, Place]:
    """Key → where its values' first words sit, for the keys whose values on these pages (of
    one layout) keep to one place (`MIN_PLACED`, `PLACE_SPREAD`): the median position, so the
    copies a first alignment took wrongly do not move it."""
    seen: dict[str, list[Place]] = {}
    for words, alignment in pages:
        for span in alignment.spans:
            seen.setdefault(span.key, []).append(words[span.words[0]].grid[:2])
    places = {}
    for key, points in seen.items():
        middle = (
            statistics.median(x for x, _ in points),
            statistics.median(y for _, y in points),
        )
        spread = statistics.median(math.dist(point, middle) for point in points)
        if len(points) >= MIN_PLACED and spread <= PLACE_SPREAD:
            places[key] = middle
    return places


def _same_number(parsed: float | None, value: float) -> bool:
    return parsed is not None and abs(parsed - value) <= 0.005 * max(1.0, abs(value) * 1e-6)


def _iso_date(text: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _compact(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
