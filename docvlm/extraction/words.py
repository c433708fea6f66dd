"""Words with boxes for a page (text layer, or Tesseract OCR for scans), grouped into lines and
label/value segments, plus the two geometric look-ups extraction needs: where a value is printed
(provenance) and whether a drawn checkbox is ticked."""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import pymupdf
from PIL import Image
from rapidfuzz import fuzz

from docvlm.document import BBox
from docvlm.engines.ocr_backdrop import without_backdrop
from docvlm.engines.ocr_choice import (
    enlarged,
    latin_only,
    rapid_reads,
    rapid_reads_better,
    read_enlarged_by_rapidocr,
)
from docvlm.engines.ocr_layout import OCRWord
from docvlm.engines.ocr_tesseract import PSM_SPARSE_TEXT, TesseractBackend
from docvlm.engines.ocr_unread import sparse_words
from docvlm.errors import EngineUnavailableError
from docvlm.extraction.cells import drawn_cells
from docvlm.extraction.combs import combs_joined
from docvlm.extraction.values import CHECKED_GLYPHS, UNCHECKED_GLYPHS
from docvlm.geometry import union
from docvlm.sources import SourcePage

OCR_DPI = 300  # Tesseract reads 9–10 pt form text best near 300 dpi
# Words further apart than this many line heights belong to different segments (label | value),
# or than this many character widths: a typewriter's word space is a whole character wide.
SEGMENT_GAP = 0.6
SEGMENT_GAP_CHARS = 1.8
VERTICAL = 2.0  # a word of several characters this many times taller than wide runs downwards
CHECKBOX_DPI = 150
LETTER_INSET = 0.35  # label heights a box read as letters may start inside the label
MIN_CHECKBOX = 5.0  # points a side of the smallest square read as a check box, drawn or vector
# Tesseract reads the border of a boxed field as "|" or "[" glued to the words inside it.
_RULE_CHARS = "|[]_"
# A dotted or dashed leader between a label and its answer ("Copies to ---Dr. A. W. Spears")
# is read as runs of these; a lone "-" before a digit is a sign, so is kept.
_LEADER_CHARS = "-—–~_=.·…\"“”‘’'|:"
_QUOTED_WORD = re.compile(r"[\"“]\w+[\"”]")
# A colon after a word's letters with more text glued on ("DATE:June"; not "10:45"), and a
# capitalised label with its colon glued to the text before it ("21,1993DEPARTMENT:").
_GLUED_AFTER = re.compile(r"(?<=[A-Za-z)]):(?=[A-Za-z0-9$#(])")
# A word that is a label by itself ("Time:").
_LABEL_WORD = re.compile(r"[A-Za-z][A-Za-z.'/#-]*[A-Za-z.]:")
_GLUED_BEFORE = re.compile(r"(?<=[a-z0-9,.])(?=[A-Z]{3,}:$)")
_UNDERLINED = re.compile(r"[^_]+")  # the parts of a word between underscores


@dataclass
class Word:
    text: str
    bbox: BBox
    confidence: float = 1.0


@dataclass
class Segment:
    """A run of words on one line with no wide gap: a label, a value, or both ("Date: 3/4/24")."""

    words: list[Word]
    page: int
    line: int
    checkbox: bool | None = None  # a leading glyph such as ☑ or [ ] ticks (or not) this segment
    widget: bool = False  # an AcroForm field's value standing in as printed text
    # A label's first lines, printed above its words (see `wrapped`): part of its text, not of
    # its box.
    lead: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join([*(s.text for s in self.lead), *(w.text for w in self.words)])

    # Pairing asks a segment's box millions of times a page set: kept with the word list it was
    # measured on, since a few steps cut or regroup a segment's words after it was built.
    _measured: tuple[list[Word], int, BBox] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def bbox(self) -> BBox:
        measured = self._measured
        if measured is None or measured[0] is not self.words or measured[1] != len(self.words):
            measured = (self.words, len(self.words), union([w.bbox for w in self.words]))
            self._measured = measured
        return measured[2]

    @property
    def height(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return max(y1 - y0, 1.0)


@dataclass
class PageWords:
    """Everything extraction reads from one page."""

    number: int
    source: str  # "text" or "ocr"
    words: list[Word]
    page: SourcePage
    widget_segments: list[Segment] = field(default_factory=list)

    @cached_property
    def lines(self) -> list[list[Segment]]:
        """Segments grouped into visual lines, top to bottom, each line left to right. Words
        printed down the page (a document number along the margin) are on no line: they are
        no label's value, and joined to a line they would stretch its band."""
        across = [w for w in self.words if not _runs_down(w)]
        return _segment_lines(across, self.widget_segments, self.number)

    @property
    def pdf_page(self) -> pymupdf.Page | None:
        return self.page.pdf_page

    @cached_property
    def fillable(self) -> bool:
        """A page with AcroForm widgets: its values live in them, its printed text is the form."""
        return self.pdf_page is not None and self.pdf_page.first_widget is not None

    @cached_property
    def gray(self) -> tuple[Image.Image, float]:
        """Greyscale raster of the page and its pixels per point, for check boxes and cells."""
        if self.pdf_page is None:
            return self.page.render_dpi(72).convert("L"), 1.0
        zoom = CHECKBOX_DPI / 72
        pixmap = self.pdf_page.get_pixmap(
            matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY, alpha=False
        )
        return Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples), zoom

    @cached_property
    def cells(self) -> list[BBox]:
        """The cells of the page's drawn grid (see `cells`), in points."""
        heights = [w.bbox[3] - w.bbox[1] for w in self.words if len(w.text) > 1]
        if not heights:
            return []
        image, zoom = self.gray
        boxes = drawn_cells(image, statistics.median(heights) * zoom)
        return [tuple(v / zoom for v in box) for box in boxes]


def page_words(page: SourcePage, ocr_language: str = "eng", source: str = "auto") -> PageWords:
    """Words of a page: its text layer when trustworthy, else OCR of its raster.

    `source` "text" or "ocr" forces one; an image page has no text layer and is always OCRed.
    """
    if source not in ("auto", "text", "ocr"):
        raise ValueError(f"unknown word source {source!r}: use auto, text or ocr")
    has_text = page.pdf_page is not None and source != "ocr"
    if has_text and (source == "text" or page.probe.trusted):
        raw = page.pdf_page.get_text("words", sort=True)
        # A word drawn twice in one place (a flattened widget's appearance; fake bold) is one.
        drawn = list(dict.fromkeys((w[4], *(round(v, 1) for v in w[:4])) for w in raw))
        words = [Word(text, tuple(box)) for text, *box in drawn]
        return PageWords(page.number, "text", combs_joined(words), page)
    source_image = without_backdrop(page.render_dpi(OCR_DPI))
    image = enlarged(source_image)
    points_per_pixel = page.width / image.width
    words = [
        part
        for word in _ocr_words_once(image, image.width / source_image.width, ocr_language)
        if (text := word.text.strip(_RULE_CHARS))
        for part in _unglued(
            Word(text, tuple(v * points_per_pixel for v in word.bbox), word.confidence)
        )
    ]
    return PageWords(page.number, "ocr", combs_joined(words), page)


def _unglued(word: Word) -> list[Word]:
    """An OCR word cut where a label's colon was read glued to its neighbours ("DATE:June",
    "1993DEPARTMENT:"): a colon ends a label, so what follows it is the value; and where the
    answer line under typed words was read as underscores ("Date_March 18"). Each part gets
    its share of the box by characters."""
    spans = [m.span() for m in _UNDERLINED.finditer(word.text)]
    cuts = {m.end() for m in _GLUED_AFTER.finditer(word.text)}
    cuts |= {m.start() for m in _GLUED_BEFORE.finditer(word.text)}
    parts = [
        (a, b)
        for start, end in spans
        for a, b in itertools.pairwise([start, *sorted(c for c in cuts if start < c < end), end])
    ]
    if parts == [(0, len(word.text))]:
        return [word]
    return word_parts(word, parts)


def word_parts(word: Word, parts: list[tuple[int, int]]) -> list[Word]:
    """The words of `word.text[a:b]` for each (a, b), each with its share of the box by
    characters."""
    x0, y0, x1, y1 = word.bbox
    per_char = (x1 - x0) / len(word.text)
    return [
        Word(word.text[a:b], (x0 + a * per_char, y0, x0 + b * per_char, y1), word.confidence)
        for a, b in parts
    ]


_read_before: ContextVar[dict[str, list[OCRWord]] | None] = ContextVar("read_before", default=None)


@contextmanager
def pages_read_once() -> Iterator[None]:
    """Within this block a page raster OCR has read is not read again: fine-tuning reads every
    page for its anchors, then its held-out pages again to calibrate, each at a second or more
    a scan."""
    token = _read_before.set({})
    try:
        yield
    finally:
        _read_before.reset(token)


def _ocr_words_once(image: Image.Image, enlarged_by: float, ocr_language: str) -> list[OCRWord]:
    read = _read_before.get()
    if read is None:
        return _ocr_words(image, enlarged_by, ocr_language)
    key = hashlib.sha256(image.tobytes())
    key.update(repr((image.size, image.mode, enlarged_by, ocr_language)).encode())
    digest = key.hexdigest()
    if digest not in read:
        read[digest] = _ocr_words(image, enlarged_by, ocr_language)
    return read[digest]


def _ocr_words(image: Image.Image, enlarged_by: float, ocr_language: str) -> list[OCRWord]:
    """Tesseract's words of a page raster; small print (a low-resolution scan) or print it
    reads unsurely, in a language RapidOCR reads, is read again by RapidOCR instead."""
    words = [word for line in _tesseract(ocr_language).recognize(image) for word in line.words]
    if not (rapid_reads(ocr_language) and rapid_reads_better(words, enlarged_by)):
        tesseract = _tesseract(ocr_language)
        return words + sparse_words(
            image, words, lambda crop: tesseract.recognize(crop, psm=PSM_SPARSE_TEXT)
        )
    try:
        lines = read_enlarged_by_rapidocr(image)
    except EngineUnavailableError:
        return words  # rapidocr not installed: keep Tesseract's reading
    rapid_words = [word for line in lines for word in line.words]
    return rapid_words if "chi_sim" in ocr_language else latin_only(rapid_words)


@lru_cache(maxsize=4)
def _tesseract(languages: str) -> TesseractBackend:
    return TesseractBackend(languages)


def trim_leaders(segment: Segment) -> Segment | None:
    """`segment` without the leader marks OCR read before and after its words: whole words of
    leader characters, and a run of them glued to the first word's letters or the last word's
    end. None when nothing else is left. A word in quotes ('"D"') keeps them: they are written."""
    if _QUOTED_WORD.fullmatch(segment.text):
        return segment
    words = [w for w in segment.words if w.text.strip(_LEADER_CHARS)]
    if not words:
        return None
    first = words[0]
    head = first.text.lstrip(_LEADER_CHARS)
    if head != first.text and (head[0].isalpha() or len(first.text) - len(head) >= 2):
        words[0] = Word(head, first.bbox, first.confidence)
    last = words[-1]
    tail = last.text.rstrip(_LEADER_CHARS.replace(".", ""))  # "Jr." keeps its full stop
    if tail and len(last.text) - len(tail) >= 2:
        words[-1] = Word(tail, last.bbox, last.confidence)
    if words == segment.words:
        return segment
    return Segment(words, segment.page, segment.line, segment.checkbox, segment.widget)


def _segment_lines(words: list[Word], widgets: list[Segment], page: int) -> list[list[Segment]]:
    items = [(w.bbox, [w], None) for w in words] + [(s.bbox, s.words, s) for s in widgets]
    items.sort(key=lambda item: (item[0][1] + item[0][3]) / 2)
    rows: list[list[tuple]] = []
    for item in items:
        box = item[0]
        center = (box[1] + box[3]) / 2
        if rows:
            last = rows[-1]
            top = sum(i[0][1] for i in last) / len(last)
            bottom = sum(i[0][3] for i in last) / len(last)
            if top <= center <= bottom:
                last.append(item)
                continue
        rows.append([item])
    lines: list[list[Segment]] = []
    for row in rows:
        row.sort(key=lambda item: item[0][0])
        segments: list[Segment] = []
        height = sorted(i[0][3] - i[0][1] for i in row)[len(row) // 2]
        previous_right = None
        previous_char = 0.0
        for box, row_words, widget in row:
            char_width = _char_width(row_words)
            new_segment = (
                widget is not None
                or not segments
                or segments[-1].widget
                or box[0] - previous_right
                > max(SEGMENT_GAP * height, SEGMENT_GAP_CHARS * max(char_width, previous_char))
                or segments[-1].words[-1].text.endswith(":")
                or _label_after_figures(segments[-1], row_words[0])
                or _glyph_state(row_words[0].text) is not None
            )
            if widget is not None:
                segments.append(
                    Segment(list(widget.words), page, len(lines), widget.checkbox, True)
                )
            elif new_segment:
                segments.append(Segment(list(row_words), page, len(lines)))
            else:
                segments[-1].words += row_words
            previous_right, previous_char = box[2], char_width
        lines.append([_pull_glyph(s) for s in segments])
    return lines


def _runs_down(word: Word) -> bool:
    x0, y0, x1, y1 = word.bbox
    return len(word.text) >= 3 and y1 - y0 > VERTICAL * (x1 - x0)


def _label_after_figures(segment: Segment, word: Word) -> bool:
    """A label word right after figures starts a segment of its own, so a value printed just
    before it ("Date: 2018-11-17 Time: 08:54") does not run on into it; after words it may
    end a longer label ("Date of Birth:")."""
    before = segment.words[-1].text
    digits = sum(c.isdigit() for c in before)
    return (
        _LABEL_WORD.fullmatch(word.text) is not None
        and digits >= 2
        and digits >= sum(c.isalpha() for c in before)  # figures, not "0F" misread for "OF"
    )


def _char_width(words: list[Word]) -> float:
    characters = sum(len(w.text) for w in words)
    return sum(w.bbox[2] - w.bbox[0] for w in words) / characters if characters else 0.0


def _glyph_state(text: str) -> bool | None:
    if text in CHECKED_GLYPHS:
        return True
    if text in UNCHECKED_GLYPHS:
        return False
    return None


def _pull_glyph(segment: Segment) -> Segment:
    """Move a leading checkbox glyph ("☑ Paid", "[ ] Home") into the segment's `checkbox`."""
    if segment.widget or len(segment.words) < 2:
        return segment
    state = _glyph_state(segment.words[0].text)
    if state is not None:
        segment.checkbox = state
        segment.words = segment.words[1:]
    return segment


def drawn_checkbox(
    page_words: PageWords, label: BBox, side: str = "left"
) -> tuple[bool, BBox] | None:
    """(ticked, box) for a square box drawn just left of a label (or under the label's first
    characters, where OCR read the box as letters), or just right of it with `side="right"`;
    None if there is none."""
    height = label[3] - label[1]
    edge = label[0] if side == "left" else label[2]
    inward, outward = (
        (1.5 * height, -2.2 * height) if side == "left" else (-1.5 * height, 2.2 * height)
    )
    region = (min(edge + inward, edge + outward), label[1] - 0.4 * height,
              max(edge + inward, edge + outward), label[3] + 0.4 * height)  # fmt: skip
    # Inside the label a box can only be where OCR read it as the label's first letters;
    # an outline further in is one of the label's own letters ("o" of "Consent").
    reach = edge + (1 if side == "left" else -1) * LETTER_INSET * height
    boxes = [
        (ticked, box)
        for ticked, box in drawn_checkboxes(page_words, region, height)
        if ((box[0] <= reach) if side == "left" else (box[2] >= reach))
    ]
    if not boxes:
        return None
    return min(
        boxes, key=lambda found: abs((found[1][2] if side == "left" else found[1][0]) - edge)
    )


def drawn_checkboxes(page_words: PageWords, region: BBox, height: float) -> list[tuple[bool, BBox]]:
    """(ticked, box) for every check box drawn in `region` beside text `height` points tall:
    a square outline with straight sides (`_is_outline`), at least `MIN_CHECKBOX` points and
    0.6 to 1.8 text heights a side (a box is about as tall as a capital letter or taller; a
    smaller outline is a letter's bowl), ticked where ink fills its middle."""
    image, zoom = page_words.gray
    left, top = max(round(region[0] * zoom), 0), max(round(region[1] * zoom), 0)
    crop = image.crop((left, top, round(region[2] * zoom), round(region[3] * zoom)))
    width, rows = crop.size
    if width < 4 or rows < 4:
        return []
    data = crop.tobytes()
    dark = {(i % width, i // width) for i, value in enumerate(data) if value < 140}
    smallest = max(0.6 * height, MIN_CHECKBOX) * zoom
    found = []
    for component in _components(dark):
        xs = [p[0] for p in component]
        ys = [p[1] for p in component]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        side_w, side_h = x1 - x0 + 1, y1 - y0 + 1
        squareish = max(side_w, side_h) <= 1.2 * min(side_w, side_h)  # a bold "B" is 1.25
        if not squareish or not smallest <= min(side_w, side_h) <= 1.8 * height * zoom:
            continue
        if not _is_outline(component, x0, x1, y0, y1):
            continue
        margin_x, margin_y = max((x1 - x0) // 4, 1), max((y1 - y0) // 4, 1)
        inner = [(x, y) for x, y in dark if x0 + margin_x <= x <= x1 - margin_x
                 and y0 + margin_y <= y <= y1 - margin_y]  # fmt: skip
        inner_area = max((x1 - x0 + 1 - 2 * margin_x) * (y1 - y0 + 1 - 2 * margin_y), 1)
        ticked = len(inner) / inner_area > 0.08
        box = ((left + x0) / zoom, (top + y0) / zoom, (left + x1 + 1) / zoom, (top + y1 + 1) / zoom)
        found.append((ticked, box))
    return found


def _components(pixels: set[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """8-connected groups of dark pixels."""
    remaining = set(pixels)
    groups = []
    while remaining:
        stack = [remaining.pop()]
        group = []
        while stack:
            x, y = stack.pop()
            group.append((x, y))
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    neighbour = (x + dx, y + dy)
                    if neighbour in remaining:
                        remaining.remove(neighbour)
                        stack.append(neighbour)
        groups.append(group)
    return groups


def _is_outline(component: list[tuple[int, int]], x0: int, x1: int, y0: int, y1: int) -> bool:
    """All four sides of the component's box are mostly inked: a drawn box, not a letter."""
    points = set(component)

    def inked(cells: list[list[tuple[int, int]]]) -> float:
        return sum(any(p in points for p in cell) for cell in cells) / len(cells)

    xs, ys = range(x0, x1 + 1), range(y0, y1 + 1)
    top = [[(x, y0), (x, y0 + 1)] for x in xs]
    bottom = [[(x, y1), (x, y1 - 1)] for x in xs]
    left = [[(x0, y), (x0 + 1, y)] for y in ys]
    right = [[(x1, y), (x1 - 1, y)] for y in ys]
    # A drawn side is inked along its whole length (scanned boxes: 0.9 and more); a curved
    # or bold letter's ("D", "O", "B") fills 0.7-0.83.
    return all(inked(side) >= 0.85 for side in (top, bottom, left, right))


def locate(value: str, lines: list[list[Segment]]) -> tuple[BBox, float] | None:
    """Where `value` is printed on a page: exact word run first, then the best fuzzy run."""
    target = value.split()
    if not target:
        return None
    words = [w for line in lines for s in line for w in s.words]
    texts = [w.text for w in words]
    size = len(target)
    for start in range(len(words) - size + 1):
        if texts[start : start + size] == target:
            return union([w.bbox for w in words[start : start + size]]), 1.0
    best: tuple[BBox, float] | None = None
    for window in {max(size - 1, 1), size, size + 1}:
        for start in range(len(words) - window + 1):
            candidate = " ".join(texts[start : start + window])
            score = fuzz.ratio(candidate.lower(), value.lower()) / 100
            if score >= 0.75 and (best is None or score > best[1]):
                best = union([w.bbox for w in words[start : start + window]]), score
    return best
