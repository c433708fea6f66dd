"""Tables on scans: the grid from img2table (ruling lines, and word alignment where a table
has none), each cell's text from the page's own OCR words.

Why img2table for the grid and not its OCR: the page is already read once; img2table's own
Tesseract call would read it again. Its grid finder works on the pixels alone.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from docvlm.document import BBox, Table, TableCell
from docvlm.engines.ocr_layout import OCRLine, OCRWord, join_words

MARGIN = 0.02  # of the page width: layout boxes sit tight on the ink, rules may lie outside
MIN_ROWS, MIN_COLUMNS = 2, 2
# A grid that holds fewer of the region's words is a part of the table (a skewed scan's rules
# broken up) or a ruled box around text: the region is then read as text.
MIN_PLACED_SHARE = 0.8


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
    # Ruled grids first: the borderless search (word alignment) costs seconds per region.
    found = TableExtractor(img=crop).extract_tables(borderless_tables=False)
    if not found:
        found = TableExtractor(img=crop).extract_tables(borderless_tables=True)
    if not found:
        return None
    grid = max(found, key=lambda t: len(t.rows) * max(len(r.cells) for r in t.rows))
    boxes = [[(c.x1 + x0, c.y1 + y0, c.x2 + x0, c.y2 + y0) for c in row.cells] for row in grid.rows]
    words = [word for line in lines for word in line.words]
    table, placed = grid_to_table(boxes, words)
    if table is None or len(placed) < MIN_PLACED_SHARE * len(words):
        return None
    return table, placed


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
