"""Born-digital pages: PyMuPDF's text layer → headings, paragraphs, lists, code, tables, fields.

One `get_text("dict")` call gives lines with font, size and style per span (lines.py). Each
line is read in its own frame (rotated pages and lines, vertical CJK). Ruled and unruled tables
are cut out (tables.py), filled AcroForm fields become key–value items (forms.py), and the
rest of each frame is ordered with the column-aware `reading_order` and grouped into blocks
(blocks.py): the page's main frame first, then any text running in another direction.
"""

from __future__ import annotations

import weakref
from collections import Counter

from docvlm.document import Block
from docvlm.engines.base import Engine
from docvlm.engines.textlayer.blocks import (
    Item,
    SizeLevels,
    build_blocks,
    scan_sizes,
    usual_line_gap,
)
from docvlm.engines.textlayer.figures import (
    attach_captions,
    figure_labels,
    figure_regions,
    image_regions,
)
from docvlm.engines.textlayer.forms import form_fields
from docvlm.engines.textlayer.lines import Line, extract_lines, merge_markers
from docvlm.engines.textlayer.tables import ruled_tables, unruled_tables
from docvlm.errors import EngineUnavailableError
from docvlm.reading_order import reading_order
from docvlm.sources import SourceDocument, SourcePage

MAX_CODE_SHARE = 0.5  # a page mostly in a monospace font is typewritten text, not a listing

__all__ = ["TextLayerEngine"]


class TextLayerEngine(Engine):
    """Reads a PDF page's own text layer; fast and exact where the layer can be trusted."""

    name = "text"

    def __init__(self) -> None:
        self._size_levels: weakref.WeakKeyDictionary[SourceDocument, SizeLevels] = (
            weakref.WeakKeyDictionary()
        )

    def parse(self, page: SourcePage) -> list[Block]:
        """Blocks of one born-digital page in reading order, bboxes in PDF points."""
        if page.pdf_page is None:
            raise EngineUnavailableError(
                f"page {page.number} is an image without a text layer: use --engine ocr or vlm"
            )
        levels = self._levels_for(page)
        lines = merge_markers(extract_lines(page.pdf_page))
        if not lines and page.pdf_page.get_images():
            raise EngineUnavailableError(
                f"page {page.number} is a scan without a text layer: use --engine ocr or vlm"
            )
        drawings = page.pdf_page.get_cdrawings()
        figures, lines = figure_labels(figure_regions(drawings, page.pdf_page.rect), lines)
        figures += image_regions(page.pdf_page, lines, figures)
        tables = ruled_tables(page.pdf_page, lines, drawings)
        fields, labels = form_fields(page.pdf_page, lines)
        placed = {id(ln) for t in tables for ln in t.members} | {id(ln) for ln in labels}
        lines = [ln for ln in lines if id(ln) not in placed]
        code = _mono_share(lines) < MAX_CODE_SHARE
        blocks: list[Block] = []
        for frame in _frames_by_size(lines):
            framed = [ln for ln in lines if ln.frame == frame]
            unruled, framed = unruled_tables(framed)
            items: list[Item] = [*framed, *unruled]
            items += [t for t in tables if t.frame == frame]
            items += [f for f in fields if f.frame == frame]
            items += [f for f in figures if f.frame == frame]
            ordered = [items[i] for i in reading_order([item.bbox for item in items])]
            blocks += build_blocks(ordered, page.number, levels, usual_line_gap(framed), code)
        if not lines:  # a page of tables, fields or figures only
            items = [*tables, *fields, *figures]
            ordered = [items[i] for i in reading_order([item.bbox for item in items])]
            blocks += build_blocks(ordered, page.number, levels, 0.0, code)
        return attach_captions(blocks)

    def _levels_for(self, page: SourcePage) -> SizeLevels:
        levels = self._size_levels.get(page.source)
        if levels is None:
            levels = scan_sizes(page.pdf_page.parent)
            self._size_levels[page.source] = levels
        return levels


def _frames_by_size(lines: list[Line]) -> list[int]:
    """The frames of the page's lines, the one holding most characters first."""
    chars: Counter[int] = Counter()
    for line in lines:
        chars[line.frame] += len(line.text.strip())
    return [frame for frame, _ in chars.most_common()]


def _mono_share(lines: list[Line]) -> float:
    total = sum(len(ln.text.strip()) for ln in lines)
    mono = sum(len(ln.text.strip()) for ln in lines if ln.mono)
    return mono / total if total else 0.0
