"""Page headers and footers: short lines repeated at the same edge of many pages.

A document-level pass over every page's blocks, whichever engine read the page, so a header
printed on born-digital and scanned pages alike is recognised across both. Candidates are the
short blocks of the two outermost rows at the top and bottom of a page (a row may hold many
pieces: "VerDate … Jkt … PO … Frm …" print slugs) and text set sideways in a side margin.
A long body paragraph is never furniture, even when two pages open with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from math import ceil

from docvlm.document import Block, BlockType

FURNITURE_SHARE = 0.25  # a header/footer repeats on at least this share of pages (and ≥ 2)
EDGE_ROWS = 2  # rows of blocks per page edge that may be furniture
MAX_WORDS = 15  # furniture is short: a running title, a page number, a slug
EDGE_BAND = 0.12  # … and lies within this share of the page's text height from its edge

_DIGITS = re.compile(r"\d+")
_NOISE = re.compile(r"[^\w#]+")


def mark_furniture(pages_blocks: Sequence[list[Block]]) -> None:
    """Retype blocks repeated at the top/bottom/side of enough pages as PAGE_HEADER/PAGE_FOOTER."""
    if len(pages_blocks) < 2:
        return
    min_pages = max(2, ceil(FURNITURE_SHARE * len(pages_blocks)))
    edges = (("top", BlockType.PAGE_HEADER), ("bottom", BlockType.PAGE_FOOTER))
    edges += (("side", BlockType.PAGE_FOOTER),)
    for edge, kind in edges:
        candidates = [_edge_blocks(blocks, edge) for blocks in pages_blocks]
        pages_with: Counter[str] = Counter()
        for blocks in candidates:
            pages_with.update({_furniture_key(b) for b in blocks})
        for blocks in candidates:
            for block in blocks:
                if pages_with[_furniture_key(block)] >= min_pages:
                    block.type = kind


def _edge_blocks(blocks: list[Block], edge: str) -> list[Block]:
    """Short text blocks of a page's outermost rows at one edge (tables never are furniture)."""
    text_blocks = [
        b
        for b in blocks
        if b.bbox
        and b.type != BlockType.TABLE
        and b.text.strip()
        and len(b.text.split()) <= MAX_WORDS
    ]
    if edge == "side":  # sideways slugs: much taller than wide, outside the text's left/right
        left = min((b.bbox[0] for b in blocks if b.bbox), default=0.0)
        right = max((b.bbox[2] for b in blocks if b.bbox), default=0.0)
        return [
            b
            for b in text_blocks
            if _sideways(b) and (b.bbox[0] <= left + 1 or b.bbox[2] >= right - 1)
        ]
    every = [b for b in blocks if b.bbox and not _sideways(b)]
    if not every:
        return []
    top = min(b.bbox[1] for b in every)
    bottom = max(b.bbox[3] for b in every)
    band = EDGE_BAND * (bottom - top)
    if edge == "top":
        text_blocks = [b for b in text_blocks if b.bbox[3] <= top + band]
    else:
        text_blocks = [b for b in text_blocks if b.bbox[1] >= bottom - band]
    if edge == "top":
        outer = sorted(every, key=lambda b: b.bbox[1])
    else:
        outer = sorted(every, key=lambda b: -b.bbox[3])
    rows: list[tuple[float, float]] = []
    for block in outer:
        top, bottom = block.bbox[1], block.bbox[3]
        if any(top < r[1] and r[0] < bottom for r in rows):
            continue
        if len(rows) == EDGE_ROWS:
            break
        rows.append((top, bottom))
    return [b for b in text_blocks if any(b.bbox[1] < r[1] and r[0] < b.bbox[3] for r in rows)]


def _sideways(block: Block) -> bool:
    x0, y0, x1, y1 = block.bbox
    return (y1 - y0) > 3 * (x1 - x0)


def _furniture_key(block: Block) -> str:
    """Text with digits and punctuation normalized: "Page 1" and "Page 2." count as one line.

    Case is kept: a title page's "THE DIGITAL MILLENNIUM COPYRIGHT ACT" is not the running
    header "The Digital Millennium Copyright Act" of the pages after it.
    """
    return _NOISE.sub(" ", _DIGITS.sub("#", block.text)).strip()
