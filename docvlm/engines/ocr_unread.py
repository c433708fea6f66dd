"""Text a reading left out: runs of character-sized ink outside every word box, and their
words read again as sparse text.

Tesseract's automatic page segmentation can drop a whole block it takes for a picture or
noise, such as a receipt's column of right-aligned amounts on a faded scan; read again as
sparse text, the same page gives those words. Only the ink is looked at here, so the check is
cheap (~0.2 CPU-s on a 2000 px page) and the second reading runs only where text went unread
(on none of 15 generated scanned forms; on most faded till receipts).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from docvlm.document import BBox
from docvlm.engines.ocr_layout import OCRLine, OCRWord, join_words
from docvlm.engines.ocr_tesseract import ink_mask
from docvlm.geometry import centre_in, union

# A character is 0.4 to 1.5 word heights tall and at most 1.5 wide; characters closer than
# CHAR_GAP word heights join into one word, and a run at least MIN_RUN heights wide is text
# (a check box or a speck is not).
CHAR_HEIGHTS = (0.4, 1.5)
CHAR_WIDTH = 1.5
CHAR_GAP = 1.2
MIN_RUN = 1.5
WORD_MARGIN = 0.25  # word heights: ink this close to a word box is that word's
CROP_MARGIN = 1.0  # run heights of page around the unread runs read again
SAME_ROW = 0.5  # share of the lower box's height two boxes overlap by on one row


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


def sparse_words(
    image: Image.Image, words: list[OCRWord], read: Callable[[Image.Image], list[OCRLine]]
) -> list[OCRWord]:
    """Words of the text a reading (`words`) left out, `read` again (as sparse text) from the
    part of `image` that holds it; none, and no second reading, where every run of ink was
    read."""
    unread = unread_text(image, words)
    if not unread:
        return []
    margin = CROP_MARGIN * max(box[3] - box[1] for box in unread)
    x0, y0, x1, y1 = union(unread)
    x0, y0 = max(round(x0 - margin), 0), max(round(y0 - margin), 0)
    x1, y1 = min(round(x1 + margin), image.width), min(round(y1 + margin), image.height)
    lines = [line.shifted(x0, y0) for line in read(image.crop((x0, y0, x1, y1)))]
    return [
        word
        for line in lines
        for word in line.words
        if any(centre_in(word.bbox, box) for box in unread)
    ]


def with_sparse_words(lines: list[OCRLine], words: list[OCRWord]) -> list[OCRLine]:
    """`lines` with `words` read apart from them: a word after a line on its row joins it (a
    figure after its label's dot leader), others make new lines of the words on their row (a
    transcript's line numbers in the margin stay a column of their own). A word within a
    line's own span is dropped: ink there that the line's reading left out is a rule or a
    mark between its words."""
    rows: dict[int, list[OCRWord]] = {}
    extra: list[list[OCRWord]] = []
    for word in sorted(words, key=lambda w: w.bbox[0]):
        centre = (word.bbox[0] + word.bbox[2]) / 2
        on_row = [i for i, line in enumerate(lines) if _same_row(line.bbox, word.bbox)]
        if any(lines[i].bbox[0] <= centre <= lines[i].bbox[2] for i in on_row):
            continue
        before = [i for i in on_row if lines[i].bbox[2] <= centre]
        if before:
            rows.setdefault(max(before, key=lambda i: lines[i].bbox[2]), []).append(word)
            continue
        group = next((g for g in extra if _same_row(g[-1].bbox, word.bbox)), None)
        if group is None:
            extra.append([word])
        else:
            group.append(word)
    joined = [
        _line([*line.words, *rows[i]], line.size) if i in rows else line
        for i, line in enumerate(lines)
    ]
    return joined + [_line(group, 0.0) for group in extra]


def _same_row(a: BBox, b: BBox) -> bool:
    shared = min(a[3], b[3]) - max(a[1], b[1])
    return shared >= SAME_ROW * min(a[3] - a[1], b[3] - b[1])


def _line(words: list[OCRWord], size: float) -> OCRLine:
    ordered = tuple(sorted(words, key=lambda w: w.bbox[0]))
    sizes = [w.size for w in ordered if w.size]
    return OCRLine(
        join_words([w.text for w in ordered]),
        union([w.bbox for w in ordered]),
        sum(w.confidence for w in ordered) / len(ordered),
        ordered,
        size or (statistics.median(sizes) if sizes else 0.0),
    )
