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

import math
from collections.abc import Callable
from dataclasses import dataclass

import pymupdf

from docvlm.document import BBox
from docvlm.errors import DocVLMError
from docvlm.extraction.values import parse_boolean
from docvlm.extraction.words import PageWords, Segment, Word, drawn_checkbox, page_words
from docvlm.geometry import centre_in, overlap, union
from docvlm.sources import SourcePage

ANCHOR_SOURCES = ("auto", "text", "ocr", "none")
DEFAULT_MAX_TOKENS = 1024
CHECKED, UNCHECKED = "[x]", "[ ]"
GRID = 1000
MIN_BOX, MAX_BOX = 5.0, 16.0  # side in points of a drawn square read as a check box


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
    glyph inside them; on OCR words, a square found in the raster left of a segment or, where
    none is, after it (`_drawn_boxes`), whose misread marks ("X", "O") are dropped.
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
    for line_index, line in enumerate(words.lines):
        drawn = {} if from_text_layer else _drawn_boxes(words, line)
        for position, segment in enumerate(line):
            texts_boxes = [(w.text, w.bbox, w.confidence) for w in segment.words]
            state = segment.checkbox
            if state is not None:
                first = segment.words[0].bbox
                side = first[3] - first[1]
                box = (first[0] - 1.3 * side, first[1], first[0] - 0.3 * side, first[3])
                texts_boxes.insert(0, (CHECKED if state else UNCHECKED, box, 1.0))
            elif position in drawn:
                state, box, after = drawn[position]
                texts_boxes = [t for t in texts_boxes if not centre_in(t[1], box)]
                mark = (CHECKED if state else UNCHECKED, box, 1.0)
                texts_boxes = [*texts_boxes, mark] if after else [mark, *texts_boxes]
            for text, box, confidence in texts_boxes:
                for part, part_box in split_after_colon(text, box):
                    grid = _to_grid(part_box, width, height)
                    out.append(
                        AnchorWord(part, part_box, grid, line_index, segment_index, confidence)
                    )
            segment_index += 1
    return PageAnchors(words.number, words.source, out)


def _drawn_boxes(words: PageWords, line: list[Segment]) -> dict[int, tuple[bool, BBox, bool]]:
    """Check boxes drawn beside the segments of an OCR line: (ticked, box, after the label)
    by the segment's place in the line. A box left of a segment is its own; a segment with
    none may have one drawn after it ("Do you smoke? [ ]", "Single [x] Married [ ]"), looked
    for past the label's own words (OCR reads a ticked box as "X" or "kX" glued on), with
    gaps up to a line height more than `drawn_checkbox` allows and boxes up to half a
    label's height taller than its ink, and kept where no segment claimed it and it is no
    letter ending a word (the "e" of a bold "Name" is outlined)."""
    found: dict[int, tuple[bool, BBox, bool]] = {}
    for position, segment in enumerate(line):
        if segment.checkbox is None and not segment.widget:
            left = drawn_checkbox(words, segment.bbox)
            if left is not None:
                found[position] = (*left, False)
    line_words = [word for segment in line for word in segment.words]
    for position, segment in enumerate(line):
        label = _label_words(segment.words)
        if position in found or segment.checkbox is not None or segment.widget or not label:
            continue
        x0, y0, x1, y1 = union([word.bbox for word in label])
        pad = (y1 - y0) / 4
        right = drawn_checkbox(words, (x0, y0 - pad, x1 + 4 * pad, y1 + pad), side="right")
        if right is None:
            continue
        claimed = any(overlap(right[1], other[1]) > 0 for other in found.values())
        if not claimed and not _is_letter(right[1], line_words):
            found[position] = (*right, True)
    return found


def _label_words(segment_words: list[Word]) -> list[Word]:
    """A segment's words without the marks OCR may have read from a box drawn after them:
    trailing words of one or two characters that are neither digits nor a yes/no answer."""
    words = list(segment_words)
    while words and len(words[-1].text) <= 2 and not _answer(words[-1].text):
        words.pop()
    return words


def _answer(text: str) -> bool:
    return any(c.isdigit() for c in text) or parse_boolean(text) is not None


def _is_letter(box: BBox, line_words: list[Word]) -> bool:
    """Whether `box` lies over letters or digits of a word of three characters or more (each
    character taking its share of the word's box)."""
    for word in line_words:
        if len(word.text) <= 2 or not centre_in(box, word.bbox):
            continue
        per_char = (word.bbox[2] - word.bbox[0]) / len(word.text)
        first = max(0, int((box[0] - word.bbox[0]) / per_char))
        last = max(first + 1, math.ceil((box[2] - word.bbox[0]) / per_char))
        if word.text[first:last].isalnum():
            return True
    return False


def vector_checkboxes(pdf_page: pymupdf.Page) -> list[Word]:
    """`[x]` / `[ ]` words for the small squares drawn on a PDF page; a square with strokes
    inside it is ticked."""
    drawings = pdf_page.get_drawings()
    squares = [
        d["rect"]
        for d in drawings
        if MIN_BOX <= d["rect"].width <= MAX_BOX
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
