"""Text lines of a PDF page, each in its own reading frame, with Unicode repaired.

PyMuPDF reports lines in unrotated page space with a writing direction. A line is given a
frame — the quarter turn that makes its text run left to right with following lines below —
so `/Rotate` pages, rotated tables and side slugs are laid out in their own direction. CJK
written vertically (one glyph per line, stacked) is read in the frame where columns become
rows: top to bottom, right to left. Fragments of one visual line are joined, and ligatures,
presentation forms and detached accents are normalized.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import pairwise

import pymupdf

from docvlm.document import BBox
from docvlm.geometry import union

TEXT_FLAGS = (
    pymupdf.TEXT_PRESERVE_WHITESPACE
    | pymupdf.TEXT_MEDIABOX_CLIP
    | (
        pymupdf.TEXT_PRESERVE_LIGATURES  # kept so that only the ligature code points are NFKC'd
    )
)
_BOLD, _ITALIC, _MONO = 16, 2, 8  # PyMuPDF span flag bits
_MONO_FONT = re.compile(r"mono|courier|consol|menlo|inconsolata|typewriter|cmtt|sftt|code", re.I)

VERTICAL = 1  # the frame of text running downwards (and of vertical CJK)
# PyMuPDF splits a line only at a wide gap (a table column, a tab stop): other pieces of one
# row join only when they touch (a sub- or superscript, a kerning break).
FRAGMENT_GAP = 0.1
DROP_CAP = 2.0  # a drop cap is at least this many times the size of its paragraph
SPACE_WIDTH = 0.25  # the narrowest space of common fonts, in font sizes
CJK_LETTERSPACE = 3.0  # spaced-out CJK glyphs (a "目　录" heading) join up to this × size

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# Ligatures, Hebrew and Arabic presentation forms: the code points NFKC is applied to.
_PRESENTATION = re.compile("[\ufb00-\ufdff\ufe70-\ufeff]+")
# Spacing accents that TeX and Word place before (or after) their letter as separate glyphs.
_SPACING_ACCENT = {
    "\u00a8": "\u0308",
    "\u00b4": "\u0301",
    "`": "\u0300",
    "\u02c6": "\u0302",
    "\u02dc": "\u0303",
    "\u00b8": "\u0327",
    "\u02da": "\u030a",
    "\u02c7": "\u030c",
    "\u02d8": "\u0306",
    "\u00af": "\u0304",
    "\u02d9": "\u0307",
    "\u02dd": "\u030b",
}
_ACCENT_BEFORE = re.compile(f"([{''.join(_SPACING_ACCENT)}])\\s?([^\\W\\d_])")
_DOTLESS = {"ı": "i", "ȷ": "j"}


@dataclass
class Span:
    text: str
    size: float
    bold: bool
    italic: bool
    mono: bool


@dataclass
class Line:
    spans: list[Span]
    bbox: BBox  # in the line's frame: text runs left to right, the next line is below
    page_bbox: BBox  # on the page, in PyMuPDF's unrotated coordinates
    frame: int = 0  # quarter turns from page space to the frame

    @cached_property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)

    @cached_property
    def size(self) -> float:
        """The size of most of the line's characters."""
        weights: dict[float, int] = {}
        for span in self.spans:
            key = round(span.size, 1)
            weights[key] = weights.get(key, 0) + len(span.text.strip())
        return max(weights, key=weights.get)

    @property
    def bold(self) -> bool:
        return all(s.bold for s in self.spans if s.text.strip())

    @property
    def mono(self) -> bool:
        return all(s.mono for s in self.spans if s.text.strip())


def normalize_text(text: str) -> str:
    """NFKC on ligatures and presentation forms only; detached accents put back on letters."""
    text = _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    if any(c in _SPACING_ACCENT for c in text):
        text = _ACCENT_BEFORE.sub(_attach_accent, text)
    if any(unicodedata.combining(c) for c in text):
        text = re.sub("[ıȷ](?=[\u0300-\u036f])", lambda m: _DOTLESS[m.group()], text)
        text = unicodedata.normalize("NFC", text)
    return text


def _attach_accent(match: re.Match) -> str:
    accent, letter = match.groups()
    composed = unicodedata.normalize("NFC", _DOTLESS.get(letter, letter) + _SPACING_ACCENT[accent])
    return composed if len(composed) == 1 else match.group()


def to_frame(frame: int, box: Iterable[float]) -> BBox:
    """A page-space box turned `frame` quarter turns into its reading frame."""
    x0, y0, x1, y1 = box
    match frame % 4:
        case 0:
            return (x0, y0, x1, y1)
        case 1:  # text running down: (x, y) → (y, −x)
            return (y0, -x1, y1, -x0)
        case 2:
            return (-x1, -y1, -x0, -y0)
        case _:  # text running up: (x, y) → (−y, x)
            return (-y1, x0, -y0, x1)


def _frame_of(direction: tuple[float, float], wmode: int) -> int:
    dx, dy = direction
    if wmode == 1:
        return VERTICAL
    if abs(dx) >= abs(dy):
        return 0 if dx > 0 else 2
    return 1 if dy > 0 else 3


def span_sizes(pdf_page: pymupdf.Page) -> list[tuple[float, int]]:
    """(font size, visible characters) of every span: the input of the size statistics."""
    return [
        (span["size"], len(span["text"].strip()))
        for block in pdf_page.get_text("dict", flags=TEXT_FLAGS)["blocks"]
        for line in block.get("lines", ())
        for span in line["spans"]
    ]


def extract_lines(pdf_page: pymupdf.Page) -> list[Line]:
    """The page's text lines, normalized, framed, and with one visual line per entry."""
    lines: list[Line] = []
    for block in pdf_page.get_text("dict", flags=TEXT_FLAGS)["blocks"]:
        for line in block.get("lines", ()):
            frame = _frame_of(line["dir"], line.get("wmode", 0))
            for raw_spans, box in _drop_cap_apart(line):
                spans = [
                    Span(
                        normalize_text(s["text"]),
                        s["size"],
                        bool(s["flags"] & _BOLD),
                        bool(s["flags"] & _ITALIC),
                        bool(s["flags"] & _MONO) or bool(_MONO_FONT.search(s["font"])),
                    )
                    for s in raw_spans
                    if s["text"]
                ]
                if any(s.text.strip() for s in spans):
                    lines.append(Line(spans, _trimmed(to_frame(frame, box), spans), box, frame))
    return join_fragments(_drop_caps_joined(_stack_vertical_cjk(lines)))


def _is_drop_cap(span: dict, others: list[dict]) -> bool:
    text = span["text"].strip()
    sizes = [s["size"] for s in others if s["text"].strip()]
    big = bool(sizes) and span["size"] >= DROP_CAP * max(sizes)
    return len(text) == 1 and text.isupper() and big


def _drop_cap_apart(line: dict) -> list[tuple[list[dict], BBox]]:
    """A PyMuPDF line's spans, with a drop cap that it put at the end of a line beside it
    (a margin note's last word) as a line of its own."""
    spans = line["spans"]
    if len(spans) >= 2 and _is_drop_cap(spans[-1], spans[:-1]):
        rest = union([tuple(s["bbox"]) for s in spans[:-1]])
        return [(spans[:-1], rest), (spans[-1:], tuple(spans[-1]["bbox"]))]
    return [(spans, tuple(line["bbox"]))]


def _drop_caps_joined(lines: list[Line]) -> list[Line]:
    """A large capital letter that opens a paragraph, set beside its first lines: joined to
    the first of them, the word it begins ("T" + "his release" = "This release")."""
    caps = {
        i
        for i, ln in enumerate(lines)
        if len(ln.text.strip()) == 1 and ln.text.strip().isupper() and ln.frame == 0
    }
    joined: dict[int, Line | None] = {}
    for c in caps:
        cap = lines[c]
        height = cap.bbox[3] - cap.bbox[1]
        beside = [
            i
            for i, ln in enumerate(lines)
            if i not in caps
            and i not in joined
            and ln.frame == cap.frame
            and cap.size >= DROP_CAP * ln.size
            and -1 <= ln.bbox[0] - cap.bbox[2] < cap.size / 2
            and abs(ln.bbox[1] - cap.bbox[1]) < height / 2
        ]
        if beside:
            first = min(beside, key=lambda i: lines[i].bbox[1])
            line = lines[first]
            opening = replace(line.spans[0], text=cap.text.strip() + line.spans[0].text.lstrip())
            # The line keeps its own height: the cap's would swallow the lines below it.
            box = (min(cap.bbox[0], line.bbox[0]), *line.bbox[1:])
            joined[first] = Line([opening, *line.spans[1:]], box, box, line.frame)
            joined[c] = None
    return [joined.get(i, ln) for i, ln in enumerate(lines) if joined.get(i, ln) is not None]


def _trimmed(box: BBox, spans: list[Span]) -> BBox:
    """A line's frame box without the spaces at its ends, which PyMuPDF counts in its width
    and which would narrow a column gutter (a space is at least a quarter of the size)."""
    text = "".join(s.text for s in spans)
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text) - len(text.rstrip(" "))
    x0, y0, x1, y1 = box
    return (
        x0 + SPACE_WIDTH * lead * spans[0].size,
        y0,
        x1 - SPACE_WIDTH * trail * spans[-1].size,
        y1,
    )


def _stack_vertical_cjk(lines: list[Line]) -> list[Line]:
    """Single CJK glyphs stacked in a column (≥ 3) are vertical text: move them to that frame."""
    singles = [
        i
        for i, ln in enumerate(lines)
        if ln.frame == 0 and len(ln.text.strip()) == 1 and _CJK_CHAR.match(ln.text.strip())
    ]
    horizontal = _in_a_row(lines, singles)
    singles = [i for i in singles if i not in horizontal]
    # Sorted by column, then downwards: a glyph's lower neighbour is the next entry.
    singles.sort(key=lambda i: (round(lines[i].page_bbox[0] / 2), lines[i].page_bbox[1]))
    below: dict[int, int] = {}
    for i, j in pairwise(singles):
        a, b = lines[i].page_bbox, lines[j].page_bbox
        if abs(a[0] - b[0]) < 0.3 * (a[2] - a[0]) and 0 <= b[1] - a[3] < 0.5 * (a[3] - a[1]):
            below[i] = j
    stacked: set[int] = set()
    above = set(below.values())
    for start in (i for i in below if i not in above):
        run = [start]
        while run[-1] in below and len(run) <= len(singles):
            run.append(below[run[-1]])
        if len(run) >= 3:
            stacked.update(run)
    return [
        replace(ln, frame=VERTICAL, bbox=to_frame(VERTICAL, ln.page_bbox)) if i in stacked else ln
        for i, ln in enumerate(lines)
    ]


def _in_a_row(lines: list[Line], singles: list[int]) -> set[int]:
    """Glyphs with a glyph right beside them on their baseline: horizontal text."""
    by_row = sorted(
        singles, key=lambda i: (round(lines[i].page_bbox[1] / 2), lines[i].page_bbox[0])
    )
    beside: set[int] = set()
    for i, j in pairwise(by_row):
        a, b = lines[i].page_bbox, lines[j].page_bbox
        size = lines[i].size
        if abs(a[1] - b[1]) < 0.3 * (a[3] - a[1]) and -1.2 * size < b[0] - a[2] < 0.25 * size:
            beside.update((i, j))
    return beside


def join_fragments(lines: list[Line]) -> list[Line]:
    """Merge pieces of one visual line: same frame and baseline, next to each other.

    Monospace pieces keep their spacing (a code line and its comment); CJK glyphs join without
    a space, even when spaced out like a heading.
    """
    by_row = sorted(lines, key=lambda ln: (ln.frame, mid_y(ln.bbox)))
    rows: list[list[Line]] = []
    for line in by_row:
        last = rows[-1][0] if rows else None
        height = line.bbox[3] - line.bbox[1]
        if (
            last
            and last.frame == line.frame
            and abs(mid_y(last.bbox) - mid_y(line.bbox))
            < (0.25 * min(height, last.bbox[3] - last.bbox[1]))
        ):
            rows[-1].append(line)
        else:
            rows.append([line])
    merged: list[Line] = []
    for row in rows:
        row.sort(key=lambda ln: ln.bbox[0])
        pieces, pads = [row[0]], []
        for line in row[1:]:
            pad = _fragment_pad(pieces[-1], line)
            if pad is None:
                merged.append(_joined(pieces, pads))
                pieces, pads = [line], []
            else:
                pieces.append(line)
                pads.append(pad)
        merged.append(_joined(pieces, pads))
    return sorted(merged, key=lambda ln: (ln.frame, ln.bbox[1], ln.bbox[0]))


def _fragment_pad(left: Line, right: Line) -> str | None:
    """What goes between two pieces of one line, or None when they are separate lines."""
    gap = right.bbox[0] - left.bbox[2]
    size = min(left.size, right.size)
    cjk = _cjk_edge(left.text.rstrip()[-1:]) and _cjk_edge(right.text.strip()[:1])
    if left.mono and right.mono:
        limit = 40 * size
    elif cjk and len(left.text.strip()) <= 2 and len(right.text.strip()) <= 2:
        limit = CJK_LETTERSPACE * size
    else:
        limit = FRAGMENT_GAP * size
    # CJK glyph boxes are often wider than their advance, so neighbours overlap.
    if not (-1.2 if cjk else -0.2) * size <= gap < limit:
        return None
    if left.mono and right.mono:
        return " " * max(1, round(gap / (0.6 * size)))
    # A sub- or superscript (smaller) or a CJK neighbour is glued; touching words stay apart.
    smaller = abs(left.size - right.size) > 0.1 * max(left.size, right.size)
    return "" if cjk or smaller else " "


def _cjk_edge(char: str) -> bool:
    return bool(char) and bool(_CJK_CHAR.match(char))


def _joined(pieces: list[Line], pads: list[str]) -> Line:
    """One line from the pieces of a row and what goes between each pair."""
    if len(pieces) == 1:
        return pieces[0]
    spans = list(pieces[0].spans)
    for pad, piece in zip(pads, pieces[1:], strict=True):
        spans[-1] = replace(spans[-1], text=spans[-1].text.rstrip())
        if pad:
            spans.append(Span(pad, spans[-1].size, False, False, piece.mono))
        spans += [replace(piece.spans[0], text=piece.spans[0].text.lstrip()), *piece.spans[1:]]
    return Line(
        spans,
        union([p.bbox for p in pieces]),
        union([p.page_bbox for p in pieces]),
        pieces[0].frame,
    )


def merge_markers(lines: list[Line]) -> list[Line]:
    """Join a lone list marker ("•", "1.") with the text that follows it on its baseline."""
    merged: list[Line] = []
    absorbed: set[int] = set()
    for i, line in enumerate(lines):
        if i in absorbed:
            continue
        if MARKER.fullmatch(line.text.strip()):
            follower = _follower(lines, i, absorbed)
            if follower is not None:
                absorbed.add(follower)
                other = lines[follower]
                space = Span(" ", other.spans[0].size, False, False, False)
                line = Line(
                    [*line.spans, space, *other.spans],
                    union([line.bbox, other.bbox]),
                    union([line.page_bbox, other.page_bbox]),
                    line.frame,
                )
        merged.append(line)
    return merged


def _follower(lines: list[Line], index: int, absorbed: set[int]) -> int | None:
    marker = lines[index]
    height = marker.bbox[3] - marker.bbox[1]
    for j, other in enumerate(lines):
        if j == index or j in absorbed or other.frame != marker.frame:
            continue
        gap = other.bbox[0] - marker.bbox[2]
        same_row = abs(mid_y(other.bbox) - mid_y(marker.bbox)) < 0.3 * height
        if same_row and 0 <= gap < 2.5 * marker.size:
            return j
    return None


_BULLETS = "•◦▪▫‣●○■□·-–—*"
# A capital letter and a period is an initial ("M. Gagné", "J. Smith"), not an item marker.
MARKER = re.compile(
    rf"^\s*(?:([{re.escape(_BULLETS)}])|\(?(\d{{1,3}}|[a-z])[.)]|\(?[A-Z]\))(?=\s|$)"
)


def is_cjk(char: str) -> bool:
    return _cjk_edge(char)


def center_in(box: BBox, area: BBox | tuple) -> bool:
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return area[0] <= x <= area[2] and area[1] <= y <= area[3]


def mid_y(box: BBox) -> float:
    return (box[1] + box[3]) / 2
