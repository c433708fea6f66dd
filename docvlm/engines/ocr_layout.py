"""Recognised OCR lines (the backends' common output) and their assembly into blocks.

Lines are put in column-aware reading order, then consecutive lines are merged into paragraphs
unless a heading, a list marker, a vertical gap, an indent or a column change separates them.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING

from docvlm.document import BBox, Block, BlockType
from docvlm.geometry import area, centre_in, scale, union
from docvlm.reading_order import reading_order

if TYPE_CHECKING:
    from PIL import Image

    from docvlm.layout import Region

HEADING_RATIO = 1.15  # a line whose font is this much larger than the body's is a heading
TITLE_MIN_RATIO = 0.95  # a line in a layout title region needs no larger font than the body
GUTTER_GAP = 1.0  # a word gap this many font sizes wide may be a column gutter
PARAGRAPH_GAP = 0.7  # a vertical gap above this many body font sizes starts a paragraph
INDENT = 0.8  # a first-line indent of this many body font sizes starts a paragraph
MAX_INDENT = 4.0
FIELD_GAP = 2.0  # a word gap this many font sizes wide parts a label from its value
FIELD_WORDS = 2
WORD_SPACE = 0.3  # a space between words, in font sizes
# OCR noise read from a figure or a stain scores below these (bench/scanned.py).
HEADING_CONFIDENCE = 0.75
# A line this many times taller than wide is a vertical column of CJK (engines/ocr.py tells a
# vertical page by it too).
VERTICAL_LINE_RATIO = 2.0
HEADING_LETTER_SHARE = 0.7
FIGURE_TEXT_CONFIDENCE = 0.8
# A "figure" whose area is this much OCR'd text is text: a dense page the layout model took
# for one figure had 0.65, a diagram of labelled boxes 0.27 (its confident labels stay text).
FIGURE_MAX_TEXT = 0.4
# A "figure" of this much text and at most FIGURE_MAX_TEXT may be a table on a shaded ground
# (one such read 0.25; above FIGURE_MAX_TEXT it is text: a big ruled table the model took for
# a figure read worse cut into img2table's cells, 14 rows of its 60, than as text).
FIGURE_TABLE_TEXT = 0.15
# A "figure" holding this many confident lines of two words or more, stacked in rows (each
# with a line's height of leading) over this share of its height, is a page of text the
# model does not know: CDLA took each of 13 till receipts for one figure or table over the
# whole page. A chart's ticks are single words; a diagram's labels are fewer or scattered.
FIGURE_MAX_ROWS = 8
FIGURE_MAX_ROW_COVER = 0.6
# A "figure" over this share of the page holding FIGURE_MAX_ROWS confident lines of words is
# a page the model does not know, however sparse its text: a scanned form's labels and typed
# answers, which OCR reads less surely (on 40 FUNSD training pages 13 were taken for such a
# figure, and its unsure lines took the answers with them: word F1 against FUNSD's words, mean
# of the 40, 0.70 -> 0.76, 13 pages up, none down; `tesseract` alone 0.75).
FIGURE_PAGE_SHARE = 0.5
# ... as is one holding nearly all of the page's lines, read as text more than as noise (a
# sparse form of ten lines, one of them sure: on FUNSD training pages 0-80, 4 pages 0.24-0.72
# -> 0.49-0.78 word F1, none down).
FIGURE_PAGE_LINES = 0.9
FIGURE_TEXT_MEDIAN = 0.5
FIGURE_MIN_LINES = 4

_BULLET = re.compile(r"^[•·●▪◦■□➢►*–—¢-]\s+")  # ¢: Tesseract's usual reading of •
_NUMBERED = re.compile(r"^(?:\d{1,3}[.)]|\(\d{1,3}\)|\([a-z]\)|[a-z]\))\s+")
# A line opening with a label: up to three words, the first capitalized, then a colon.
_LABELLED = re.compile(r"^[A-Z][\w.#/&'-]*(?: [\w.#/&'-]+){0,2}:(?:\s|$)")
_HYPHENATED_END = re.compile(r"[^\W\d_]-$")
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True)
class OCRWord:
    """A recognised word (or CJK character) with its box and confidence in [0, 1]."""

    text: str
    bbox: BBox
    confidence: float
    size: float = 0.0  # font-size estimate (0: unknown)


@dataclass(frozen=True)
class OCRLine:
    """A recognised text line; `bbox` is in image pixels until `scaled` to page points."""

    text: str
    bbox: BBox
    confidence: float
    words: tuple[OCRWord, ...] = ()
    size: float = 0.0  # font-size estimate; only compared with other lines of the same page

    def shifted(self, dx: float, dy: float) -> OCRLine:
        """The same line with every box moved by (dx, dy) (a crop's pixels → the page's)."""
        return self.mapped(lambda box: (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy))

    def mapped(self, move: Callable[[BBox], BBox]) -> OCRLine:
        """The same line with `move` applied to every box (onto another image's pixels)."""
        words = tuple(replace(w, bbox=move(w.bbox)) for w in self.words)
        return replace(self, bbox=move(self.bbox), words=words)

    def scaled(self, factor: float) -> OCRLine:
        """The same line with every box multiplied by `factor` (pixels → points)."""
        words = tuple(
            replace(w, bbox=scale(w.bbox, factor), size=w.size * factor) for w in self.words
        )
        return replace(self, bbox=scale(self.bbox, factor), words=words, size=self.size * factor)


def is_cjk(char: str) -> bool:
    """True for Chinese/Japanese ideographs, CJK punctuation and full-width forms."""
    return bool(_CJK.match(char))


def cjk_share(text: str) -> float:
    """Fraction of the non-space characters of `text` that are CJK."""
    visible = [c for c in text if not c.isspace()]
    return sum(map(is_cjk, visible)) / len(visible) if visible else 0.0


def lines_to_blocks(
    lines: list[OCRLine],
    page_number: int,
    engine: str = "ocr",
    *,
    regions: Sequence[Region] = (),
    image: Image.Image | None = None,
) -> list[Block]:
    """Paragraph, heading, list, table and figure blocks from recognised lines, in reading
    order. `regions` (layout of the same image) make tables, figures and titles; without
    them headings come from font size alone."""
    lines = [line for line in lines if line.text.strip()]
    read = len(lines)
    lines = split_at_gutters(lines) if lines else []
    placed = _place_in_regions(lines, regions)
    items: list[OCRLine | Block] = []
    for region in regions:
        inside = [line for line in lines if placed.get(id(line)) is region]
        if region.kind == "figure":
            # Confident lines stay text (axis labels, and all of a dense page the model took
            # for one figure); the figure block takes the unsure ones, OCR's reading of a
            # drawing or a photo.
            # All lines under it count: overlapping text regions may have claimed them.
            under = [line for line in lines if centre_in(line.bbox, region.bbox)]
            text_share = sum(area(line.bbox) for line in under) / max(area(region.bbox), 1.0)
            # The model takes a table on a shaded ground for a figure: a grid holding the
            # words makes it a table (unless a table region over them reads it already, or
            # they are CJK set in vertical columns: on a vertical Japanese page the model took
            # for one figure the search found no grid in 1 s).
            in_table = any(placed.get(id(line), region).kind == "table" for line in under)
            found = None
            if (
                FIGURE_TABLE_TEXT < text_share <= FIGURE_MAX_TEXT
                and not in_table
                and not _vertical(under)
            ):
                found = _table_block(region, under, image, page_number, engine)
            if found is not None:
                block, inside = found
            elif (
                text_share > FIGURE_MAX_TEXT
                or _rows_of_text(under, region.bbox)
                or _page_of_text(under, region.bbox, image, read)
            ):
                continue
            else:
                inside = [line for line in inside if line.confidence < FIGURE_TEXT_CONFIDENCE]
                block = _region_block(BlockType.FIGURE, region, page_number, engine)
        elif region.kind == "table":
            found = _table_block(region, inside, image, page_number, engine)
            if found is None:
                continue
            block, inside = found
        else:
            continue
        items.append(block)
        consumed = {id(line) for line in inside}
        lines = [line for line in lines if id(line) not in consumed]
    if not lines and not items:
        return []
    body_size = statistics.median(line.size for line in lines) if lines else 0.0
    kinds = {id(line): placed[id(line)].kind if id(line) in placed else None for line in lines}
    # A page the model sees as all titles (a label, a two-line snippet) has no body to head.
    has_body = sum(kind == "title" for kind in kinds.values()) <= len(lines) / 2
    candidates = [
        line
        for line in lines
        if _clean_heading(line)
        and (
            (kinds[id(line)] == "title" and has_body and line.size >= TITLE_MIN_RATIO * body_size)
            or (kinds[id(line)] in (None, "title") and _is_heading_size(line, body_size))
        )
    ]
    heading_levels = _heading_levels(candidates)
    items += lines
    if _vertical(lines):  # CJK set in columns: read right to left, each top to bottom
        ordered = sorted(items, key=lambda item: (-item.bbox[2], item.bbox[1]))
    else:
        ordered = [items[i] for i in reading_order([item.bbox for item in items])]

    fields = _field_lines(ordered)
    groups: list[list[OCRLine] | Block] = []
    for item in ordered:
        if isinstance(item, Block):
            groups.append(item)
        elif (
            groups
            and isinstance(groups[-1], list)
            and _continues(groups[-1], item, body_size, heading_levels, fields)
        ):
            groups[-1].append(item)
        else:
            groups.append([item])
    blocks = []
    list_indents: list[float] = []  # marker x of each open list nesting level
    for group in groups:
        if isinstance(group, Block):
            list_indents.clear()
            blocks.append(group)
            continue
        x = group[0].bbox[0]
        if not _list_marker(group[0].text) or heading_levels.get(id(group[0])):
            list_indents.clear()
        else:
            while list_indents and x < list_indents[-1] - 0.5 * body_size:
                list_indents.pop()
            if not list_indents or x > list_indents[-1] + 0.5 * body_size:
                list_indents.append(x)
        blocks.append(_block(group, page_number, engine, heading_levels, len(list_indents)))
    return blocks


def _page_of_text(lines: list[OCRLine], box: BBox, image: Image.Image | None, read: int) -> bool:
    """Whether `box` spans FIGURE_PAGE_SHARE of the page and `lines` hold FIGURE_MAX_ROWS
    confident lines of words, or nearly all of the `read` lines of the page, words for the
    most part, read as text rather than noise."""
    if image is None or area(box) < FIGURE_PAGE_SHARE * image.width * image.height:
        return False
    if len(_confident_rows(lines)) >= FIGURE_MAX_ROWS:
        return True
    worded = [line for line in lines if sum(c.isalpha() for c in line.text) >= 2]
    return (
        len(lines) >= FIGURE_MIN_LINES
        and len(lines) >= FIGURE_PAGE_LINES * read
        and 2 * len(worded) >= len(lines)  # not a chart's tick labels
        and statistics.median(line.confidence for line in lines) >= FIGURE_TEXT_MEDIAN
    )


def _confident_rows(lines: list[OCRLine]) -> list[OCRLine]:
    return [
        line
        for line in lines
        if line.confidence >= FIGURE_TEXT_CONFIDENCE and len(line.text.split()) >= 2
    ]


def _rows_of_text(lines: list[OCRLine], box: BBox) -> bool:
    """Whether `lines` stack at least FIGURE_MAX_ROWS confident lines of words in rows over
    FIGURE_MAX_ROW_COVER of `box`'s height."""
    rows = _confident_rows(lines)
    if len(rows) < FIGURE_MAX_ROWS:
        return False
    covered, reach = 0.0, box[1]
    for top, bottom in sorted((line.bbox[1], 2 * line.bbox[3] - line.bbox[1]) for line in rows):
        covered += max(0.0, bottom - max(top, reach))
        reach = max(reach, bottom)
    return covered >= FIGURE_MAX_ROW_COVER * (box[3] - box[1])


def _vertical(lines: list[OCRLine]) -> bool:
    """Whether most lines are vertical CJK columns (tall, thin boxes)."""
    tall = [
        line
        for line in lines
        if line.bbox[3] - line.bbox[1] > VERTICAL_LINE_RATIO * (line.bbox[2] - line.bbox[0])
    ]
    return len(tall) > len(lines) / 2 and cjk_share("".join(line.text for line in tall)) > 0.5


def _place_in_regions(lines: list[OCRLine], regions: Sequence[Region]) -> dict[int, Region]:
    """id(line) → the best-scoring region holding the line's centre (regions may overlap),
    a table before a figure: the model often calls a table of numbers both, over the same box
    (two corpus tables lost every cell to a figure scored higher), and a table's grid is
    checked (no grid: its lines stay text)."""
    placed: dict[int, Region] = {}
    for line in lines:
        holding = [r for r in regions if centre_in(line.bbox, r.bbox)]
        if any(r.kind == "table" for r in holding):
            holding = [r for r in holding if r.kind != "figure"]
        if holding:
            placed[id(line)] = max(holding, key=lambda r: r.score)
    return placed


def _table_block(
    region: Region, lines: list[OCRLine], image: Image.Image | None, page_number: int, engine: str
) -> tuple[Block, list[OCRLine]] | None:
    """A table block over `region` from the grid found there, and the lines it holds (lines
    the grid left out, a caption inside the box, stay text); None when no grid holds them."""
    if image is None:
        return None
    from docvlm.engines.ocr_tables import read_table  # imports this module

    found = read_table(image, region.bbox, lines)
    if found is None:
        return None
    table, placed_words = found
    block = _region_block(BlockType.TABLE, region, page_number, engine)
    block.table = table
    return block, [line for line in lines if any(id(w) in placed_words for w in line.words)]


def _region_block(block_type: BlockType, region: Region, page_number: int, engine: str) -> Block:
    """A table or figure block over a layout region (its table or caption comes separately)."""
    return Block(
        type=block_type,
        page=page_number,
        bbox=region.bbox,
        engine=engine,
        confidence=round(region.score, 4),
    )


def _clean_heading(line: OCRLine) -> bool:
    """Whether a line reads like a heading rather than OCR noise ("# synolds |"): confident,
    mostly letters, no stray one-symbol tokens."""
    visible = [c for c in line.text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    stray = [t for t in line.text.split() if len(t) == 1 and not t.isalnum()]
    return (
        line.confidence >= HEADING_CONFIDENCE
        and letters >= HEADING_LETTER_SHARE * len(visible)
        and not stray
        and len(line.text) <= 120
        and not _wide_gaps(line)
    )


def split_at_gutters(lines: list[OCRLine]) -> list[OCRLine]:
    """Cut lines that run across a column gutter (Tesseract joins baselines that line up).

    A gutter is a vertical band that no column-wide line fragment crosses, with such fragments
    on both sides; a line is cut at a word gap that spans a gutter's middle.
    """
    fragments = [piece for line in lines for piece in _split_at(line, _wide_gaps(line))]
    left, right = min(line.bbox[0] for line in lines), max(line.bbox[2] for line in lines)
    width = right - left
    columns = [f for f in fragments if 0.2 * width <= f.bbox[2] - f.bbox[0] <= 0.6 * width]
    gutters = []
    for gap_left, gap_right in _uncovered([(f.bbox[0], f.bbox[2]) for f in columns]):
        middle = (gap_left + gap_right) / 2
        on_left = sum(1 for f in columns if f.bbox[2] <= gap_left)
        on_right = sum(1 for f in columns if f.bbox[0] >= gap_right)
        if on_left >= 2 and on_right >= 2:
            gutters.append(middle)
    if not gutters:
        return lines
    out = []
    for line in lines:
        cuts = [i for i, (x0, x1) in _wide_gaps(line).items() if any(x0 < g < x1 for g in gutters)]
        out += _split_at(line, {i: (0.0, 0.0) for i in cuts})
    return out


def _wide_gaps(line: OCRLine) -> dict[int, tuple[float, float]]:
    """Word index → (x0, x1) of each gap before that word wider than GUTTER_GAP font sizes."""
    gaps = {}
    for index in range(1, len(line.words)):
        x0, x1 = line.words[index - 1].bbox[2], line.words[index].bbox[0]
        if x1 - x0 >= GUTTER_GAP * line.size:
            gaps[index] = (x0, x1)
    return gaps


def _split_at(line: OCRLine, cuts: dict[int, tuple[float, float]]) -> list[OCRLine]:
    if not cuts:
        return [line]
    bounds = [0, *sorted(cuts), len(line.words)]
    pieces = []
    for start, end in pairwise(bounds):
        words = line.words[start:end]
        sizes = [w.size for w in words if w.size]
        pieces.append(
            OCRLine(
                join_words([w.text for w in words]),
                union([w.bbox for w in words]),
                sum(w.confidence for w in words) / len(words),
                words,
                statistics.median(sizes) if sizes else line.size,
            )
        )
    return pieces


def _uncovered(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Gaps between the union of `spans` (x intervals), inside their overall extent."""
    gaps = []
    reach = None
    for x0, x1 in sorted(spans):
        if reach is not None and x0 > reach:
            gaps.append((reach, x0))
        reach = x1 if reach is None else max(reach, x1)
    return gaps


def _heading_levels(candidates: list[OCRLine]) -> dict[int, int]:
    """id(line) → heading level for heading lines (largest font = level 1, at most 3)."""
    sizes = sorted({round(line.size, 1) for line in candidates}, reverse=True)
    size_levels: dict[float, int] = {}
    level, previous = 0, None
    for size in sizes:
        if previous is None or size < previous / 1.1:  # sizes within 10% share a level
            level = min(level + 1, 3)
            previous = size
        size_levels[size] = level
    return {id(line): size_levels[round(line.size, 1)] for line in candidates}


def _is_heading_size(line: OCRLine, body_size: float) -> bool:
    return line.size >= HEADING_RATIO * body_size


def _list_marker(text: str) -> re.Match[str] | None:
    return _BULLET.match(text) or _NUMBERED.match(text)


def _field_lines(ordered: list[OCRLine | Block]) -> set[int]:
    """Ids of the lines that open with a label next to another such line in reading order
    ("DATE: 17/11/18" over "INV NO: 004512" over "CASHIER: ANN"): fields, one to a line. One
    such line alone may open a paragraph ("Note: the totals …")."""
    labelled = [isinstance(item, OCRLine) and bool(_LABELLED.match(item.text)) for item in ordered]
    return {
        id(item)
        for i, item in enumerate(ordered)
        if labelled[i] and any(labelled[j] for j in (i - 1, i + 1) if 0 <= j < len(ordered))
    }


def _continues(
    group: list[OCRLine],
    line: OCRLine,
    body_size: float,
    heading_levels: dict[float, int],
    fields: set[int],
) -> bool:
    """Whether `line` continues the paragraph (or heading, or list item) made by `group`;
    lines in `fields` (`_field_lines`) neither continue nor are continued."""
    previous, first = group[-1], group[0]
    if heading_levels.get(id(line)) != heading_levels.get(id(previous)):
        return False
    if _list_marker(line.text):
        return False
    gap = line.bbox[1] - previous.bbox[3]
    if gap > PARAGRAPH_GAP * body_size or line.bbox[1] < previous.bbox[1]:
        return False  # a blank band, or reading order jumped up to the next column
    if line.bbox[0] >= previous.bbox[2] or line.bbox[2] <= previous.bbox[0]:
        return False  # no horizontal overlap: another column
    if _row_of_fields(previous) or _row_of_fields(line):
        return False  # "SUB-TOTAL        158.34": a label and its value, not prose
    if id(previous) in fields or id(line) in fields:
        return False
    if _ended_short(group, line) or _centred_over(previous, line, body_size):
        return False
    if _list_marker(first.text):
        return line.bbox[0] > first.bbox[0]  # list continuation lines hang under the text
    # A first line may be indented, by a few font sizes: a line further in is set apart.
    return -MAX_INDENT * body_size <= line.bbox[0] - previous.bbox[0] <= INDENT * body_size


def _row_of_fields(line: OCRLine) -> bool:
    """Whether the line ends in a value set apart: at most FIELD_WORDS words after a gap of
    FIELD_GAP font sizes ("SUB-TOTAL        158.34"). A word OCR left unread in prose leaves
    a gap as wide, with the rest of the line after it."""
    wide = [i for i, (x0, x1) in _wide_gaps(line).items() if x1 - x0 >= FIELD_GAP * line.size]
    return bool(wide) and len(line.words) - max(wide) <= FIELD_WORDS


def _ended_short(group: list[OCRLine], line: OCRLine) -> bool:
    """Whether the line before `line` ended where `line`'s first word would have fit: a line
    breaks early only at a paragraph's end (or in lines set apart, an address, a receipt)."""
    previous = group[-1]
    if not line.words or previous.size <= 0:
        return False
    right = max(other.bbox[2] for other in [*group, line])
    first = line.words[0]
    space = WORD_SPACE * previous.size
    return previous.bbox[2] + space + (first.bbox[2] - first.bbox[0]) <= right


def _centred_over(previous: OCRLine, line: OCRLine, body_size: float) -> bool:
    """Whether `previous` sits inside `line`'s span with room on both sides (centred lines);
    an indented first line ends where the next does."""
    inset = INDENT * body_size
    return previous.bbox[0] > line.bbox[0] + inset and previous.bbox[2] < line.bbox[2] - inset


def _block(
    group: list[OCRLine],
    page_number: int,
    engine: str,
    heading_levels: dict[int, int],
    list_level: int,
) -> Block:
    text = join_lines([line.text.strip() for line in group])
    level = heading_levels.get(id(group[0]))
    marker = _list_marker(text)
    if level is not None:
        block_type, ordered = BlockType.HEADING, False
    elif marker:
        block_type, ordered = BlockType.LIST_ITEM, not _BULLET.match(text)
        text = text[marker.end() :]
        level = list_level
    else:
        block_type, ordered = BlockType.PARAGRAPH, False
    words = [word for line in group for word in line.words]
    scores = [w.confidence for w in words] or [line.confidence for line in group]
    return Block(
        type=block_type,
        text=text,
        page=page_number,
        bbox=union([line.bbox for line in group]),
        engine=engine,
        confidence=round(sum(scores) / len(scores), 4),
        level=level,
        ordered=ordered,
    )


def join_words(texts: list[str]) -> str:
    """Join words with spaces, except between CJK characters."""
    joined = ""
    for text in texts:
        cjk_pair = joined and is_cjk(joined[-1]) and is_cjk(text[0])
        joined += text if not joined or cjk_pair else " " + text
    return joined


def join_lines(texts: list[str]) -> str:
    """Join line texts: de-hyphenate word breaks, no space between CJK characters."""
    joined = ""
    for text in texts:
        if not joined:
            joined = text
        elif _HYPHENATED_END.search(joined) and text[:1].islower():
            joined = joined[:-1] + text
        elif is_cjk(joined[-1]) and is_cjk(text[0]):
            joined += text
        else:
            joined += " " + text
    return joined
