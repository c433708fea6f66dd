"""A document scanned or photographed on a darker backdrop (a receipt on the scanner's
cardboard, a page on a desk): the backdrop is painted in the paper's own shade, so that OCR's
page segmentation sees the document alone. Boxes keep their place: nothing is cropped."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

SCALE = 8  # the paper is found on the page shrunk this much (a text line is ~5 px there)
MIN_SIDE = 40  # shrunk pages smaller than this are not looked at
PAPER_PERCENTILE = 90  # the paper's shade: most of a page is paper
# Paper is within this of its shade (a grey cardboard backdrop was 57 darker, a lit strip of
# it 35): a wider band joined the strip to the roll.
PAPER_BAND = 25
BACKDROP_CONTRAST = 40  # the backdrop's median is at least this much darker than the paper
MIN_SOLID = 0.8  # the paper (text closed over) fills this much of its box: a sheet, not a blob
# The paper covers at most this much of the page, and at most NARROW_COVER where the backdrop
# shows on one side only: a page whose dark header band spans its width is not a document on
# a backdrop.
MAX_COVER = 0.9
NARROW_COVER = 0.5
EDGE_SLACK = 2  # shrunk pixels: a side this close to the page's edge has no backdrop
MARGIN = 2  # shrunk pixels of backdrop kept around the paper (its edge is blurred)


def paper_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The box, in `image` pixels, of a document lying on a darker backdrop; None where the
    page is all paper (or no paper stands out clearly)."""
    if min(image.size) < MIN_SIDE * SCALE:
        return None
    readable = image if image.mode in ("L", "RGB") else image.convert("RGB")
    small = np.asarray(readable.reduce(SCALE).convert("L"))
    height, width = small.shape
    paper = float(np.percentile(small, PAPER_PERCENTILE))
    mask = (small >= paper - PAPER_BAND).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        return None
    index = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[index])
    cover = w * h / (width * height)
    if cover > MAX_COVER or area < MIN_SOLID * w * h:
        return None
    outside = np.ones(small.shape, dtype=bool)
    outside[y : y + h, x : x + w] = False
    if np.median(small[outside]) > paper - BACKDROP_CONTRAST:
        return None
    open_sides = sum(gap > EDGE_SLACK for gap in (x, y, width - (x + w), height - (y + h)))
    if open_sides < 2 and cover > NARROW_COVER:
        return None
    x0, y0 = max(x - MARGIN, 0), max(y - MARGIN, 0)
    x1, y1 = min(x + w + MARGIN, width), min(y + h + MARGIN, height)
    right = image.width if x1 == width else x1 * SCALE
    bottom = image.height if y1 == height else y1 * SCALE
    return x0 * SCALE, y0 * SCALE, right, bottom


def without_backdrop(image: Image.Image) -> Image.Image:
    """`image` with the backdrop around its document painted in the paper's shade (the same
    image where there is none). Not white: Tesseract's threshold then fell between white and
    a till roll's grey paper, and it read the whole roll as one dark block."""
    box = paper_box(image)
    if box is None:
        return image
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    document = image.crop(box)
    shrunk = np.asarray(document.reduce(SCALE))
    shade = np.median(shrunk.reshape(-1, len(image.getbands())), axis=0)
    filled = Image.new(image.mode, image.size, tuple(int(v) for v in shade))
    filled.paste(document, box[:2])
    return filled
