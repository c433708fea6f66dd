"""Tables on scans: the grid from img2table (ruling lines, and word alignment where a table
has none), each cell's text from the page's own OCR words.

Why img2table for the grid and not its OCR: the page is already read once; img2table's own
Tesseract call would read it again. Its grid finder works on the pixels alone.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from PIL import Image

from docvlm.document import BBox, Table, TableCell
from docvlm.engines.ocr_layout import OCRLine, OCRWord, join_words

MARGIN = 0.02  # of the page width: layout boxes sit tight on the ink, rules may lie outside
MIN_ROWS, MIN_COLUMNS = 2, 2
# A grid that holds fewer of the region's words is a part of the table (a skewed scan's rules
# broken up) or a ruled box around text: the region is then read as text.
MIN_PLACED_SHARE = 0.8
# A gutter between unruled columns: at least this many glyph heights wide, crossed by the
# words of at most this share of the table's rows (a header spanning two columns).
MIN_GUTTER = 0.8
GUTTER_CROSSINGS = 0.1
# Cells of a table hold a word or two; the line pieces of prose in columns hold more (3.9 on
# a three-column Federal Register page the layout model called a table), and cut at their
# gutters row by row they lose their reading order.
MAX_CELL_WORDS = 3
# A ruled grid lumping columns in more than this share of its filled cells missed them (a
# header spanning two columns lumps a few).
MISSED_COLUMN_SHARE = 0.1
# An unruled grid is a table where most of its rows hold two cells or more; text with some
# figures aligned to its right (a till receipt: name lines over "TOTAL ... 99.90" rows) is not.
MIN_MULTI_CELL_ROWS = 0.5


def read_table(
    image: Image.Image, bbox: BBox, lines: list[OCRLine]
) -> tuple[Table, set[int]] | None:
    """The table inside `bbox` of `image` (pixels), cells filled from `lines`' words, and the
    ids of the words it placed; None when no grid of at least 2 × 2 cells holding most of the
    words is found there."""
    from img2table.tables.extractor import TableExtractor

    pad = MARGIN * image.width
    x0, y0 = max(int(bbox[0] - pad), 0), max(int(bbox[1] - pad), 0)
    x1, y1 = min(int(bbox[2] + pad), image.width), min(int(bbox[3] + pad), image.height)
    crop = np.ascontiguousarray(np.asarray(image.convert("RGB"))[y0:y1, x0:x1])
    words = [word for line in lines for word in line.words]
    gutters, aligned, _ = _aligned_table(lines)
    # Ruled grids first: the borderless search costs seconds per region. A ruled grid is
    # the table's own unless its cells hold words on both sides of a gutter (faint or short
    # rules found around rows, the columns between them missed).
    found = TableExtractor(img=crop).extract_tables(borderless_tables=False)
    if found:
        ruled_boxes = _cell_boxes(found, x0, y0)
        if aligned is not None and _misses_columns(ruled_boxes, gutters, words):
            return aligned
        return _filled_from(ruled_boxes, words)
    found = TableExtractor(img=crop).extract_tables(borderless_tables=True)
    candidates = [_filled_from(_cell_boxes(found, x0, y0), words)] if found else []
    candidates = [c for c in [*candidates, aligned] if c is not None and _rows_of_cells(c[0])]
    return max(candidates, key=lambda c: _filled(c[0]), default=None)


def _rows_of_cells(table: Table) -> bool:
    """Whether at least MIN_MULTI_CELL_ROWS of the rows with text hold two filled cells."""
    filled: dict[int, int] = {}
    for cell in table.cells:
        if cell.text:
            filled[cell.row] = filled.get(cell.row, 0) + 1
    return sum(count >= 2 for count in filled.values()) >= MIN_MULTI_CELL_ROWS * len(filled)


def columns_of_prose(lines: list[OCRLine]) -> bool:
    """Whether the white gaps between `lines`' words cut them into columns holding more than
    MAX_CELL_WORDS words a cell: prose set in columns, not a table."""
    return _aligned_table(lines)[2]


def _aligned_table(
    lines: list[OCRLine],
) -> tuple[list[list[BBox]], tuple[Table, set[int]] | None, bool]:
    """The white-gap grid of `lines`, the table it makes (None for columns of prose), and
    whether they are columns of prose."""
    words = [word for line in lines for word in line.words]
    gutters = aligned_grid(lines)
    aligned = _filled_from(gutters, words)
    prose = aligned is not None and _words_per_cell(aligned[0]) > MAX_CELL_WORDS
    return gutters, None if prose else aligned, prose


def _misses_columns(
    boxes: list[list[BBox]], gutters: list[list[BBox]], words: list[OCRWord]
) -> bool:
    """Whether more than MISSED_COLUMN_SHARE of a grid's filled cells hold words on both
    sides of a gutter of the white-gap grid `gutters` (one cell lumping two columns)."""
    edges = [box[0] for box in gutters[0][1:]] if gutters else []
    cells = {box for row in boxes for box in row}
    centres = [((w.bbox[0] + w.bbox[2]) / 2, (w.bbox[1] + w.bbox[3]) / 2) for w in words]
    filled = lumped = 0
    for x0, y0, x1, y1 in cells:
        inside = [x for x, y in centres if x0 <= x <= x1 and y0 <= y <= y1]
        if not inside:
            continue
        filled += 1
        lumped += any(min(inside) < edge < max(inside) for edge in edges if x0 < edge < x1)
    return lumped > MISSED_COLUMN_SHARE * filled


def _filled_from(boxes: list[list[BBox]], words: list[OCRWord]) -> tuple[Table, set[int]] | None:
    """grid_to_table's table when it places most of the words, else None."""
    table, placed = grid_to_table(boxes, words)
    if table is None or len(placed) < MIN_PLACED_SHARE * len(words):
        return None
    return table, placed


def _cell_boxes(found: list, x0: int, y0: int) -> list[list[BBox]]:
    """Rows of cell boxes (page pixels) of img2table's largest table in a crop at (x0, y0)."""
    grid = max(found, key=lambda t: len(t.rows) * max(len(r.cells) for r in t.rows))
    return [[(c.x1 + x0, c.y1 + y0, c.x2 + x0, c.y2 + y0) for c in row.cells] for row in grid.rows]


def _words_per_cell(table: Table) -> float:
    filled = [cell.text for cell in table.cells if cell.text]
    return sum(len(text.split()) for text in filled) / max(len(filled), 1)


def _filled(table: Table) -> int:
    """Cells with text: a grid that keeps apart what the other lumps together has more."""
    return sum(1 for cell in table.cells if cell.text)


def aligned_grid(lines: list[OCRLine]) -> list[list[BBox]]:
    """Rows of cell boxes of an unruled table: a row per text line, a column between each
    pair of gutters, the vertical bands that (next to) no row's words cross. A header that
    spans two columns crosses a gutter in one or two rows of many, so gutters may be crossed
    by GUTTER_CROSSINGS of the rows."""
    rows = sorted((line for line in lines if line.words), key=lambda line: line.bbox[1])
    if len(rows) < MIN_ROWS:
        return []
    left = min(word.bbox[0] for line in rows for word in line.words)
    right = max(word.bbox[2] for line in rows for word in line.words)
    covered = np.zeros(int(right - left) + 2, np.int32)
    for line in rows:
        inked = np.zeros_like(covered, dtype=bool)
        for word in line.words:
            inked[int(word.bbox[0] - left) : int(word.bbox[2] - left) + 1] = True
        covered += inked
    heights = [word.bbox[3] - word.bbox[1] for line in rows for word in line.words]
    min_gutter = MIN_GUTTER * float(np.median(heights))
    open_columns = covered > GUTTER_CROSSINGS * len(rows)
    edges = [left]
    for start, end in runs(~open_columns):
        if start > 0 and end < len(covered) and end - start >= min_gutter:
            edges.append(left + (start + end) / 2)
    edges.append(right)
    if len(edges) < MIN_COLUMNS + 1:
        return []
    tops = [rows[0].bbox[1]]
    tops += [(above.bbox[3] + below.bbox[1]) / 2 for above, below in pairwise(rows)]
    tops.append(rows[-1].bbox[3])
    return [
        [(x_left, top, x_right, bottom) for x_left, x_right in pairwise(edges)]
        for top, bottom in pairwise(tops)
    ]


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in a 1-D mask."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def grid_to_table(boxes: list[list[BBox]], words: list[OCRWord]) -> tuple[Table | None, set[int]]:
    """A Table from rows of cell boxes (a merged cell repeats its box in every position it
    covers) with each word placed in the cell holding its centre, and the placed words' ids."""
    num_rows, num_cols = len(boxes), max((len(row) for row in boxes), default=0)
    if num_rows < MIN_ROWS or num_cols < MIN_COLUMNS:
        return None, set()
    texts: dict[BBox, list[OCRWord]] = {}
    placed: set[int] = set()
    for word in words:
        cx, cy = (word.bbox[0] + word.bbox[2]) / 2, (word.bbox[1] + word.bbox[3]) / 2
        for row in boxes:
            cell = next((b for b in row if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]), None)
            if cell is not None:
                texts.setdefault(cell, []).append(word)
                placed.add(id(word))
                break
    cells: list[TableCell] = []
    seen: set[BBox] = set()
    for r, row in enumerate(boxes):
        for c, box in enumerate(row):
            if box in seen:
                continue
            seen.add(box)
            row_span = sum(1 for other in boxes[r:] if c < len(other) and other[c] == box)
            col_span = sum(1 for other in row[c:] if other == box)
            text = join_words([w.text for w in texts.get(box, [])])  # OCR's reading order
            cells.append(
                TableCell(
                    row=r, col=c, text=text, row_span=row_span, col_span=col_span, header=r == 0
                )
            )
    if not any(cell.text for cell in cells):
        return None, set()
    return Table(num_rows=num_rows, num_cols=num_cols, cells=cells), placed
