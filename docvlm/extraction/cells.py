"""Cells of a form's drawn grid: the rectangles its ruling lines close, found in the page
raster. A label printed at the top of a cell is answered inside that cell, under it, and the
answer ends at the cell's border.

Ruling lines are long thin runs of ink, kept by a morphological opening with a line-shaped
kernel longer than any letter's stroke; a cell is a region of paper those lines enclose, so
the text inside a cell does not split it, and only the innermost regions of nested boxes are
cells.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from docvlm.document import BBox
from docvlm.engines.ocr_tesseract import ink_mask
from docvlm.geometry import centre_in

# Kernel lengths in text heights: a letter's horizontal stroke is under one text height wide
# and its vertical stroke about one text height tall.
RULE_LENGTH = 3.0
STEM_LENGTH = 1.6
# Text heights a scan's faint rule may be broken across between pieces (FUNSD training pages
# 0-40: 2 boxes more than at 2, 3 fewer at 1), and the gap a rule's end may leave to the rule
# it should meet. Boxes printed closer than that get their borders joined: the thin cell
# between them holds no label, so it answers nothing.
BREAK = 3.0
JOIN = 0.25
RECTANGULAR = 0.85  # of its box's area a cell's paper fills (a rule's stub inside takes some)
MIN_CELL = (2.0, 1.0)  # text heights: a cell holds at least a short word


def drawn_cells(image: Image.Image, text_height: float) -> list[BBox]:
    """Interiors (pixels) of the closed rectangles the ruling lines of `image` draw;
    `text_height` (pixels) tells a rule from a letter's stroke."""
    gray = np.asarray(image.convert("L"))
    ink = ink_mask(gray)
    rules = _rules(ink, (1, max(round(RULE_LENGTH * text_height), 8)), text_height)
    rules |= _rules(ink, (max(round(STEM_LENGTH * text_height), 6), 1), text_height)
    join = max(round(JOIN * text_height), 1)
    rules = cv2.dilate(rules, np.ones((2 * join + 1, 2 * join + 1), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(1 - rules, connectivity=4)
    height, width = gray.shape
    min_w, min_h = (m * text_height for m in MIN_CELL)
    cells = []
    for x, y, w, h, filled in stats[1:count]:
        inside = x > 0 and y > 0 and x + w < width and y + h < height
        if (
            inside
            and w + 2 * join >= min_w
            and h + 2 * join >= min_h
            and filled >= RECTANGULAR * w * h
        ):
            cells.append(
                (float(x - join), float(y - join), float(x + w + join), float(y + h + join))
            )
    return cells


def _rules(ink: np.ndarray, shape: tuple[int, int], text_height: float) -> np.ndarray:
    """The runs of `ink` at least `shape` long (rows, columns) in its direction, with the
    breaks a scan leaves between a faint rule's pieces closed."""
    gap = max(round(BREAK * text_height), 1)
    closing = (gap, 1) if shape[0] > 1 else (1, gap)
    runs = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones(shape, np.uint8))
    return cv2.morphologyEx(runs, cv2.MORPH_CLOSE, np.ones(closing, np.uint8))


def cell_of(cells: list[BBox], box: BBox) -> BBox | None:
    """The cell holding `box`'s centre, if any (cells do not nest)."""
    return next((cell for cell in cells if centre_in(box, cell)), None)
