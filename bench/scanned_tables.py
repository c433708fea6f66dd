"""Table ground truth and cell-text F1 for bench/scanned.py.

The truth of a page is, in order of trust:
- camelot's own expected tables (its tests/data.py) for the camelot test files that have them;
- otherwise the tables PyMuPDF's `find_tables()` finds on the born-digital page that are real
  tables: at least 2 × 2 and more than half of their cells filled (a form's frame of mostly
  empty boxes is not one), each cell's text read from the text layer inside its box. A table of
  contents (two columns, entries led by dot leaders to page numbers that never go back) is a
  list, not a table: it is no truth table.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from collections import Counter
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import pymupdf
from corpus import _camelot_tables  # bench/corpus.py: the parser of camelot's tests/data.py

from docvlm.engines.ocr_layout import is_cjk

CAMELOT_GIT = Path("/work/.mirror/camelot-dev+camelot/repo")
# Corpus file → the tests/data.py tables camelot's tests expect of its first page. Left out:
# row_span_1 (its expected table copies text into spanned cells, copy_text="v").
CAMELOT_TRUTH = {
    "camelot-health": ("data_stream",),
    "camelot-clockwise_table_2": ("data_stream_table_rotated",),
    "camelot-anticlockwise_table_1": ("data_lattice_table_rotated",),
    "camelot-12s0324": ("data_stream_two_tables_1", "data_stream_two_tables_2"),
    "camelot-background_lines_1": ("data_lattice_process_background",),
    "camelot-mexican_towns": ("data_stream_columns",),
    "camelot-superscript": ("data_stream_flag_size",),
    "camelot-column_span_2": ("data_lattice_shift_text_left_top",),
    "camelot-arabic": ("data_arabic",),
}
MIN_ROWS = MIN_COLS = 2
MIN_FILLED_SHARE = 0.5  # a table has more filled cells than empty ones; a form frame fewer
MAX_MEAN_CELL_CHARS = 80  # cells of whole paragraphs are a page's frame (a gazette's columns)
# A line with a blank this many font sizes wide inside one cell spans columns the grid missed;
# a table with more than MAX_SPLIT_SHARE of such cells is not read right by find_tables.
COLUMN_GAP = 3.0
MAX_SPLIT_SHARE = 0.05
# Glyphs of one text line whose vertical centres lie within this share of the font size (a
# decimal point, a superscript sits lower or higher than the digits around it).
LINE_TOLERANCE = 0.5
SPACE_GAP = 0.15  # a gap this many font sizes wide between glyphs is a space
# A glyph repeated less than this many font sizes further along is drawn twice over itself
# (a PDF's fake bold); further is a second glyph ("11" set in full-width digits at half
# advance repeats "１" half a font size along).
FAKE_BOLD_SHIFT = 0.2

Rows = list[list[str]]
_NUMBER_SPACE = re.compile(r"(?<=[\d.,]) (?=[\d.,])")
_SPACE_BETWEEN = re.compile(r"(\S) (?=(\S))")
_SIZE_FLAG = re.compile(r"</?s>")  # camelot's flag_size marks superscripts <s>…</s>
_DOT_LEADER = re.compile(r"(?:[.·…⋯]\s*){3,}$")  # dots leading an entry to its page number


def normalize_cell(text: str) -> str:
    """NFKC, whitespace collapsed, spaces inside numbers ("1 234 . 5" → "1234.5") and between
    CJK characters (letter-spaced in print, joined by OCR) removed."""
    text = _NUMBER_SPACE.sub("", " ".join(unicodedata.normalize("NFKC", text).split()))
    return _SPACE_BETWEEN.sub(lambda m: m[1] if is_cjk(m[1]) and is_cjk(m[2]) else m[0], text)


def cell_f1(predicted: list[str], truth: list[str]) -> float:
    """F1 of the non-empty normalized cell texts, matched exactly as multisets."""
    predicted_counts = Counter(filter(None, map(normalize_cell, predicted)))
    truth_counts = Counter(filter(None, map(normalize_cell, truth)))
    matched = sum((predicted_counts & truth_counts).values())
    if not matched:
        return 0.0
    precision = matched / sum(predicted_counts.values())
    recall = matched / sum(truth_counts.values())
    return 2 * precision * recall / (precision + recall)


def truth_tables(name: str, page: pymupdf.Page) -> list[Rows]:
    """The real tables of a corpus page as rows of cell texts (empty list: none)."""
    if name in CAMELOT_TRUTH and page.number == 0 and CAMELOT_GIT.is_dir():
        expected = camelot_expected()
        return [
            [[_SIZE_FLAG.sub("", cell) for cell in row] for row in expected[variable]]
            for variable in CAMELOT_TRUTH[name]
        ]
    if page.rotation:
        return []  # find_tables' cell boxes and the text layer disagree on a turned page
    tables = []
    for table in page.find_tables().tables:
        read = [
            [cell_text(page, box) if box else ("", False) for box in row.cells]
            for row in table.rows
        ]
        rows = [[text for text, _ in row] for row in read]
        filled = [(text, split) for row in read for text, split in row if text]
        size = len(rows) * table.col_count
        if (
            len(rows) >= MIN_ROWS
            and table.col_count >= MIN_COLS
            and len(filled) > MIN_FILLED_SHARE * size
            and sum(len(text) for text, _ in filled) <= MAX_MEAN_CELL_CHARS * len(filled)
            and sum(split for _, split in filled) <= MAX_SPLIT_SHARE * len(filled)
            and not is_contents_list(rows)
        ):
            tables.append(rows)
    return tables


def is_contents_list(rows: Rows) -> bool:
    """Whether rows are a table of contents: no row fills more than two cells, every row that
    fills two leads from its entry to a page number by dot leaders, and the page numbers
    never go back."""
    filled = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    if any(len(cells) > 2 for cells in filled):
        return False
    entries = [cells for cells in filled if len(cells) == 2]
    pages = [unicodedata.normalize("NFKC", page) for _, page in entries]
    return (
        bool(entries)
        and all(page.isdigit() for page in pages)
        and all(_DOT_LEADER.search(entry) for entry, _ in entries)
        and all(int(a) <= int(b) for a, b in pairwise(pages))
    )


@cache
def camelot_expected() -> dict[str, Rows]:
    data_py = subprocess.run(
        ["git", f"--git-dir={CAMELOT_GIT}", "show", "HEAD:tests/data.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return _camelot_tables(data_py)


def cell_text(page: pymupdf.Page, box: tuple[float, float, float, float]) -> tuple[str, bool]:
    """The text layer's glyphs whose centres lie in `box`, line by line (lines grouped along
    each glyph's writing direction, so turned text reads too), lines joined by newlines; and
    whether a line holds a blank of COLUMN_GAP font sizes (the box spans two columns)."""
    rect = pymupdf.Rect(box)
    glyphs: dict[tuple[int, int], list[_Glyph]] = {}  # by writing direction
    for block in page.get_text("rawdict", clip=rect)["blocks"]:
        for line in block.get("lines", []):
            dx, dy = line["dir"]
            for span in line["spans"]:
                for char in span["chars"]:
                    x0, y0, x1, y1 = char["bbox"]
                    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                    if char["c"].isspace() or not rect.contains(pymupdf.Point(cx, cy)):
                        continue
                    along0, along1 = sorted((x0 * dx + y0 * dy, x1 * dx + y1 * dy))
                    across = -cx * dy + cy * dx
                    glyph = _Glyph(across, along0, along1, span["size"], char["c"])
                    glyphs.setdefault((round(dx), round(dy)), []).append(glyph)
    lines = [_join_glyphs(group) for chars in glyphs.values() for group in _group_lines(chars)]
    return "\n".join(text for text, _ in lines), any(split for _, split in lines)


class _Glyph(NamedTuple):
    across: float  # position across the writing direction (down the page for Latin)
    along0: float  # extent along the writing direction
    along1: float
    size: float
    char: str


def _group_lines(glyphs: list[_Glyph]) -> list[list[_Glyph]]:
    """Glyphs cut into lines by their position across the writing direction."""
    groups: list[list[_Glyph]] = []
    for glyph in sorted(glyphs, key=lambda g: g.across):
        if groups and glyph.across - groups[-1][-1].across <= LINE_TOLERANCE * glyph.size:
            groups[-1].append(glyph)
        else:
            groups.append([glyph])
    return groups


def _join_glyphs(glyphs: list[_Glyph]) -> tuple[str, bool]:
    """A line's text (a space at each gap of SPACE_GAP font sizes; a glyph drawn twice over
    itself, a PDF's fake bold, once) and whether it has a gap of COLUMN_GAP font sizes."""
    text, last, split = "", None, False
    for glyph in sorted(glyphs, key=lambda g: g.along0):
        if last is not None:
            if (
                glyph.char == last.char
                and glyph.along0 - last.along0 < FAKE_BOLD_SHIFT * glyph.size
            ):
                continue
            gap = glyph.along0 - last.along1
            text += " " if gap > SPACE_GAP * glyph.size else ""
            split |= gap > COLUMN_GAP * glyph.size
        text += glyph.char
        last = glyph
    return text, split


def img2table_cells(png: bytes) -> list[str]:
    """img2table's own reading of a page image (its grids and its Tesseract call, one OpenMP
    thread as docvlm's): the reference docvlm's scan tables are measured against."""
    from img2table.document import Image as Img2TableImage
    from img2table.ocr import TesseractOCR

    ocr = TesseractOCR(lang="eng")
    ocr.env["OMP_THREAD_LIMIT"] = "1"
    document = Img2TableImage(src=png, detect_rotation=True)
    cells = []
    for table in document.extract_tables(ocr=ocr, borderless_tables=True):
        seen: set[tuple[int, int, int, int]] = set()  # a merged cell repeats in every slot
        for row in table.content.values():
            for cell in row:
                box = (cell.bbox.x1, cell.bbox.y1, cell.bbox.x2, cell.bbox.y2)
                if box not in seen:
                    seen.add(box)
                    cells.append(cell.value or "")
    return cells
