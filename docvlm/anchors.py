"""Document anchors: a page's own words with their positions, for models to read beside pixels.

One word layer serves every use: the text layer on born-digital pages and OCR words on scans
(`docvlm.extraction.words.page_words`), with drawn or printed check boxes as `[x]` / `[ ]`
words and "Name:John" split after the colon. The generative model reads it as prompt lines
`[x,y]text` (`anchor_text`); the form model tags its words (`docvlm.forms`). Both build it
here, the same way at training and at inference.

Positions are on a 0–1000 grid of the page (x across, y down), like GOT's boxes. A line is one
segment of the page (a run of words with no wide gap: a label, a value, or both), at its
top-left corner. `AnchorFormat` makes the text shorter for small models trained from scratch:
a coarser grid (`grid=0` drops positions) and one line per page line, its segments joined by
a space.

Truncation rule (`anchor_text`): lines are kept whole, top to bottom and left to right, each
costing its own tokens plus one for the newline before it; the first line that would push the
total past `max_tokens` ends the text: it and every line after it are left out.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import pymupdf

from docvlm.document import BBox
from docvlm.errors import DocVLMError
from docvlm.extraction.words import (
    MIN_CHECKBOX,
    PageWords,
    Segment,
    Word,
    drawn_checkboxes,
    page_words,
)
from docvlm.geometry import centre_in, overlap, union
from docvlm.sources import SourcePage

ANCHOR_SOURCES = ("auto", "text", "ocr", "none")
DEFAULT_MAX_TOKENS = 1024
CHECKED, UNCHECKED = "[x]", "[ ]"
GRID = 1000
MAX_BOX = 16.0  # side in points of a drawn square read as a check box (from MIN_CHECKBOX)
# What OCR reads of a box glued to the word beside it: its border as brackets or rules, its
# tick or side as one letter before a capital ("X]Health", "JHome") or after a small letter
# ("MarriedX", "Married[-").
_BOX_MARKS = r"[\[\](){}|_\-]"
_GLUED_LEFT = re.compile(rf"^(?:{_BOX_MARKS}|[A-Za-z](?={_BOX_MARKS}|[A-Z][a-z]))+")
_GLUED_RIGHT = re.compile(rf"(?:{_BOX_MARKS}|(?<=[a-z])[A-Z]|(?<={_BOX_MARKS})[A-Za-z])+$")


@dataclass(frozen=True)
class AnchorFormat:
    """How anchor words become prompt lines: positions on a 0–`grid` grid (0: no positions),
    one line per segment or, with `join_lines`, per page line."""

    grid: int = GRID
    join_lines: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.grid <= GRID:
            raise DocVLMError(f"anchor grid {self.grid}: use 0 (no positions) to {GRID}")


DEFAULT_FORMAT = AnchorFormat()


@dataclass
class AnchorWord:
    """One word of the anchor layer: its text, box in points and on the 0–1000 grid, its line."""

    text: str
    bbox: BBox
    grid: tuple[int, int, int, int]
    line: int
    segment: int
    confidence: float = 1.0

    @property
    def checkbox(self) -> bool | None:
        """True / False for a check-box word, None for printed text."""
        return {CHECKED: True, UNCHECKED: False}.get(self.text)


@dataclass
class PageAnchors:
    """The anchor words of one page and where they came from ("text", "ocr" or "none")."""

    page: int
    source: str
    words: list[AnchorWord]


def page_anchors(page: SourcePage, source: str = "auto", ocr_language: str = "eng") -> PageAnchors:
    """The anchor words of `page` from `source`: auto (text layer if trustworthy, else OCR),
    text, ocr, or none (no words)."""
    if source not in ANCHOR_SOURCES:
        raise DocVLMError(f"unknown anchors {source!r}: use one of {', '.join(ANCHOR_SOURCES)}")
    if source == "none":
        return PageAnchors(page.number, "none", [])
    return anchors_from_words(page_words(page, ocr_language, source))


def anchors_from_words(words: PageWords) -> PageAnchors:
    """Anchor words of a page's word layer: segments in reading order, check boxes as words.

    On a PDF text layer the check boxes are the page's drawn squares, ticked by strokes or a
    glyph inside them; on OCR words, the squares drawn along each line (`_with_drawn_boxes`).
    """
    from_text_layer = words.source == "text" and words.pdf_page is not None
    if from_text_layer:
        boxes = vector_checkboxes(words.pdf_page)
        # A flattened form's tick is a glyph (ZapfDingbats "4") printed inside the square.
        marks = [w for w in words.words if len(w.text) <= 2 and any(centre_in(w.bbox, b.bbox)
                 for b in boxes)]  # fmt: skip
        for box in boxes:
            if any(centre_in(mark.bbox, box.bbox) for mark in marks):
                box.text = CHECKED
        kept = [w for w in words.words if w not in marks]
        words = PageWords(words.number, words.source, kept + boxes, words.page)
    width, height = words.page.width, words.page.height
    out: list[AnchorWord] = []
    segment_index = 0
    taken: list[BBox] = []
    for line_index, line in enumerate(words.lines):
        segments = [_with_glyph_box(segment) for segment in line]
        if not from_text_layer:
            segments = [_email_rejoined(s) for s in _with_drawn_boxes(words, segments, taken)]
        for segment in segments:
            for word in segment:
                for part, part_box in split_after_colon(word.text, word.bbox):
                    grid = _to_grid(part_box, width, height)
                    out.append(
                        AnchorWord(part, part_box, grid, line_index, segment_index, word.confidence)
                    )
            segment_index += 1
    return PageAnchors(words.number, words.source, out)


def _with_glyph_box(segment: Segment) -> list[Word]:
    """A segment's words, led by its check-box glyph ("☑ Paid") as a `[x]` / `[ ]` word."""
    if segment.checkbox is None:
        return list(segment.words)
    first = segment.words[0].bbox
    side = first[3] - first[1]
    box = (first[0] - 1.3 * side, first[1], first[0] - 0.3 * side, first[3])
    return [Word(CHECKED if segment.checkbox else UNCHECKED, box), *segment.words]


def _with_drawn_boxes(
    words: PageWords, segments: list[list[Word]], taken: list[BBox]
) -> list[list[Word]]:
    """An OCR line's segments with the check boxes drawn along it as `[x]` / `[ ]` words.

    OCR reads a box as a letter ("X", "O"), as a word of its own, or glues it to the word
    beside it ("Married[-"): what it read inside a box is dropped. Each box goes beside the
    word nearest it and closes its segment on that side, so that "Single [x] Married [ ]"
    is two segments, "Single [x]" and "Married [ ]", and "[x] Yes [ ] No" is "[x] Yes" and
    "[ ] No". `taken` holds the boxes placed on earlier lines.
    """
    printed = [w for segment in segments for w in segment if w.text not in (CHECKED, UNCHECKED)]
    if not printed:
        return segments
    height = statistics.median(w.bbox[3] - w.bbox[1] for w in printed)
    x0, y0, x1, y1 = union([w.bbox for w in printed])
    region = (x0 - 3 * height, y0 - 0.4 * height, x1 + 3 * height, y1 + 0.4 * height)
    marks = [w.bbox for segment in segments for w in segment if w not in printed]
    boxes = [
        (ticked, box)
        for ticked, box in drawn_checkboxes(words, region, height)
        if not any(overlap(box, other) > 0 for other in [*marks, *taken])
    ]
    if not boxes:
        return segments
    taken += [box for _, box in boxes]
    kept = [[part for w in segment for part in _outside(w, boxes)] for segment in segments]
    kept = [segment for segment in kept if segment]
    for ticked, box in sorted(boxes, key=lambda found: found[1][0]):
        mark = Word(CHECKED if ticked else UNCHECKED, box)
        if not kept:
            kept = [[mark]]
            continue
        row, index = min(
            ((r, i) for r, segment in enumerate(kept) for i in range(len(segment))),
            key=lambda at: _gap(kept[at[0]][at[1]].bbox, box),
        )
        segment = kept[row]
        if (box[0] + box[2]) / 2 < (segment[index].bbox[0] + segment[index].bbox[2]) / 2:
            kept[row : row + 1] = [part for part in (segment[:index], [mark, *segment[index:]])
                                   if part]  # fmt: skip
        else:
            kept[row : row + 1] = [part for part in ([*segment[: index + 1], mark],
                                                     segment[index + 1 :]) if part]  # fmt: skip
    return kept


def _outside(word: Word, boxes: list[tuple[bool, BBox]]) -> list[Word]:
    """`word` without what OCR read of a drawn box: nothing if it lies in a box, else its
    box clipped at the box's edge and the marks glued on that side stripped (`_GLUED_LEFT`)."""
    if word.text in (CHECKED, UNCHECKED):
        return [word]
    for _, box in boxes:
        if overlap(word.bbox, box) <= 0:
            continue
        if centre_in(word.bbox, box):
            return []
        x0, y0, x1, y1 = word.bbox
        if (box[0] + box[2]) / 2 < (x0 + x1) / 2:
            text, x0 = _GLUED_LEFT.sub("", word.text), min(max(x0, box[2]), x1)
        else:
            text, x1 = _GLUED_RIGHT.sub("", word.text), max(min(x1, box[0]), x0)
        if not text:
            return []
        word = Word(text, (x0, y0, x1, y1), word.confidence)
    return [word]


def _email_rejoined(segment: list[Word]) -> list[Word]:
    """OCR words of a segment with an e-mail address made whole where OCR split it: an
    address has no spaces, so a word beside one, closer than half a character and neither an
    address nor a label nor a mark, is part of it ("teil." "nguyen@post.net"). The joined word is
    as legible as its less legible part."""
    out: list[Word] = []
    for word in segment:
        if out and _split_email(out[-1], word):
            left = out.pop()
            word = Word(left.text + word.text, union([left.bbox, word.bbox]),
                        min(left.confidence, word.confidence))  # fmt: skip
        out.append(word)
    return out


def _split_email(left: Word, right: Word) -> bool:
    if ("@" in left.text) == ("@" in right.text) or ":" in left.text + right.text:
        return False
    if not all(any(c.isalnum() for c in word.text) for word in (left, right)):
        return False  # a check box, a leader
    address = left if "@" in left.text else right
    char_width = (address.bbox[2] - address.bbox[0]) / len(address.text)
    return right.bbox[0] - left.bbox[2] < 0.5 * char_width


def _gap(word: BBox, box: BBox) -> float:
    """Points between a word and a box on its line, edge to edge."""
    return max(box[0] - word[2], word[0] - box[2], 0.0)


def vector_checkboxes(pdf_page: pymupdf.Page) -> list[Word]:
    """`[x]` / `[ ]` words for the small squares drawn on a PDF page; a square with strokes
    inside it is ticked."""
    drawings = pdf_page.get_drawings()
    squares = [
        d["rect"]
        for d in drawings
        if MIN_CHECKBOX <= d["rect"].width <= MAX_BOX
        and abs(d["rect"].width - d["rect"].height) <= 1.5
        and any(item[0] == "re" for item in d["items"])
    ]
    out = []
    for square in squares:
        inner = square + (1, 1, -1, -1)
        ticked = any(d["rect"] != square and inner.intersects(d["rect"]) for d in drawings)
        out.append(Word(CHECKED if ticked else UNCHECKED, tuple(square)))
    return out


def split_after_colon(text: str, box: BBox) -> list[tuple[str, BBox]]:
    """ "Name:John" → "Name:", "John" (boxes shared by character count); "10:30" stays whole."""
    head, colon, tail = text.partition(":")
    if not colon or not tail or not any(c.isalpha() for c in head):
        return [(text, box)]
    x0, y0, x1, y1 = box
    cut = x0 + (x1 - x0) * (len(head) + 1) / len(text)
    return [(head + colon, (x0, y0, cut, y1)), *split_after_colon(tail, (cut, y0, x1, y1))]


def anchor_lines(anchors: PageAnchors, form: AnchorFormat = DEFAULT_FORMAT) -> list[str]:
    """One `[x,y]text` line per segment (or page line), at its top-left on the grid."""
    lines: list[str] = []
    current = -1
    for word in anchors.words:
        started = word.line if form.join_lines else word.segment
        if started == current:
            lines[-1] += " " + word.text
            continue
        current = started
        position = ""
        if form.grid:
            x, y = (round(v * form.grid / GRID) for v in word.grid[:2])
            position = f"[{x},{y}]"
        lines.append(position + word.text)
    return lines


def anchor_text(
    anchors: PageAnchors,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    count_tokens: Callable[[str], int] | None = None,
    form: AnchorFormat = DEFAULT_FORMAT,
) -> str:
    """The anchor lines joined by newlines, cut by the module's truncation rule.

    `count_tokens` measures a text in the reader's tokens (default: UTF-8 bytes, which bounds
    any byte-level BPE from above).
    """
    count = count_tokens or (lambda text: len(text.encode("utf-8")))
    kept: list[str] = []
    used = 0
    for line in anchor_lines(anchors, form):
        cost = count(line) + (1 if kept else 0)
        if used + cost > max_tokens:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept)


def _to_grid(box: BBox, width: float, height: float) -> tuple[int, int, int, int]:
    def clamp(value: float) -> int:
        return min(GRID, max(0, round(value)))

    x0, y0, x1, y1 = box
    return (
        clamp(x0 / width * GRID),
        clamp(y0 / height * GRID),
        clamp(x1 / width * GRID),
        clamp(y1 / height * GRID),
    )
