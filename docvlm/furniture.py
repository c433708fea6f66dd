"""Page headers and footers: lines repeated at the top or bottom of many pages.

A document-level pass over every page's blocks, whichever engine read the page, so a header
printed on born-digital and scanned pages alike is recognised across both.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from math import ceil

from docvlm.document import Block, BlockType

FURNITURE_SHARE = 0.25  # a header/footer repeats on at least this share of pages (and ≥ 2)
EDGE_BLOCKS = 2  # blocks per page edge that may be furniture

_DIGITS = re.compile(r"\d+")
_NOISE = re.compile(r"[^\w#]+")


def mark_furniture(pages_blocks: Sequence[list[Block]]) -> None:
    """Retype blocks repeated near the top/bottom of enough pages as PAGE_HEADER/PAGE_FOOTER."""
    if len(pages_blocks) < 2:
        return
    min_pages = max(2, ceil(FURNITURE_SHARE * len(pages_blocks)))
    for edge, kind in (("top", BlockType.PAGE_HEADER), ("bottom", BlockType.PAGE_FOOTER)):
        candidates = [_edge_blocks(blocks, edge) for blocks in pages_blocks]
        pages_with: Counter[str] = Counter()
        for blocks in candidates:
            pages_with.update({_furniture_key(b) for b in blocks})
        for blocks in candidates:
            for block in blocks:
                if pages_with[_furniture_key(block)] >= min_pages:
                    block.type = kind


def _edge_blocks(blocks: list[Block], edge: str) -> list[Block]:
    """The blocks nearest the top or bottom edge of a page (tables never are furniture)."""
    text_blocks = [b for b in blocks if b.bbox and b.type != BlockType.TABLE and b.text.strip()]
    if edge == "top":
        return sorted(text_blocks, key=lambda b: b.bbox[1])[:EDGE_BLOCKS]
    return sorted(text_blocks, key=lambda b: -b.bbox[3])[:EDGE_BLOCKS]


def _furniture_key(block: Block) -> str:
    """Text with digits and punctuation normalized: "Page 1" and "Page 2." count as one line."""
    return _NOISE.sub(" ", _DIGITS.sub("#", block.text.lower())).strip()
