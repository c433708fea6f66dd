"""Text a reading left out: runs of character-sized ink outside every word box.

Tesseract's automatic page segmentation can drop a whole block it takes for a picture or
noise, such as a receipt's column of right-aligned amounts on a faded scan; read again as
sparse text, the same page gives those words. Only the ink is looked at here, so the check is
cheap (~0.2 CPU-s on a 2000 px page) and the second reading runs only where text went unread
(on none of 15 generated scanned forms; on most faded till receipts).
"""

from __future__ import annotations

import statistics

import cv2
import numpy as np
from PIL import Image

from docvlm.document import BBox
from docvlm.engines.ocr_layout import OCRWord
from docvlm.engines.ocr_tesseract import ink_mask

# A character is 0.4 to 1.5 word heights tall and at most 1.5 wide; characters closer than
# CHAR_GAP word heights join into one word, and a run at least MIN_RUN heights wide is text
# (a check box or a speck is not).
CHAR_HEIGHTS = (0.4, 1.5)
CHAR_WIDTH = 1.5
CHAR_GAP = 1.2
MIN_RUN = 1.5
WORD_MARGIN = 0.25  # word heights: ink this close to a word box is that word's


def unread_text(image: Image.Image, words: list[OCRWord]) -> list[BBox]:
    """Boxes (pixels) of word-like runs of character-sized ink that no word of `words` covers."""
    heights = [w.bbox[3] - w.bbox[1] for w in words if len(w.text) > 1]
    if not heights:
        return []
    height = statistics.median(heights)
    gray = np.asarray(image.convert("L"))
    ink = ink_mask(gray)
    margin = round(WORD_MARGIN * height)
    for word in words:
        x0, y0, x1, y1 = (round(v) for v in word.bbox)
        ink[max(y0 - margin, 0) : y1 + margin, max(x0 - margin, 0) : x1 + margin] = 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    low, high = CHAR_HEIGHTS
    is_char = (h >= low * height) & (h <= high * height) & (w <= CHAR_WIDTH * height)
    is_char[0] = False  # the background
    chars = is_char.astype(np.uint8)[labels]
    gap = max(round(CHAR_GAP * height), 1)
    joined = cv2.dilate(chars, np.ones((1, gap), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    return [
        (float(x), float(y), float(x + w), float(y + h))
        for x, y, w, h, _ in stats[1:]
        if w - gap >= MIN_RUN * height  # the width of the ink, without the joining
    ]
