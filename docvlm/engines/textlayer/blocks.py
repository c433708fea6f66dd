"""Lines in reading order → blocks: headings, paragraphs, list items, code, tables, fields.

Consecutive lines of one style that sit just below each other form one block. Heading levels
come from the document's font sizes; monospace lines (on a page whose body is not monospace)
become code, one line per line with the indentation of the page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

import pymupdf

from docvlm.document import BBox, Block, BlockType
from docvlm.engines.textlayer.figures import FigureRegion, figure_labels_text
from docvlm.engines.textlayer.forms import FormField
from docvlm.engines.textlayer.lines import MARKER, Line, is_cjk, span_sizes
from docvlm.engines.textlayer.tables import TableRegion, table_text
from docvlm.geometry import union

HEADING_RATIO = 1.15  # a line this much larger than body text is a heading
MAX_HEADING_LEVELS = 6
SIZE_SCAN_PAGES = 20  # pages sampled for the document's font-size statistics
PARAGRAPH_GAP = 0.3  # a gap this fraction of the font size above the usual line gap: new block
CODE_GAP = 1.2  # code lines this many sizes apart (a blank line) stay one listing
MONO_WIDTH = 0.6  # a monospace glyph's advance, in font sizes

Item = Line | TableRegion | FormField | FigureRegion


@dataclass
class _Pending:
    """A block being assembled from consecutive lines."""

    type: BlockType
    lines: list[Line] = field(default_factory=list)
    level: int | None = None
    ordered: bool = False
    size: float = 0.0
    code_page: bool = False  # monospace lines on this page are code


@dataclass(frozen=True)
class SizeLevels:
    body: float
    levels: dict[float, int]  # heading font size → level

    def heading_level(self, size: float) -> int | None:
        if not self.body or size < self.body * HEADING_RATIO:
            return None
        for heading_size, level in self.levels.items():
            if abs(size - heading_size) < 0.3:
                return level
        return MAX_HEADING_LEVELS


def scan_sizes(pdf: pymupdf.Document) -> SizeLevels:
    """Body size (most characters) and heading levels (larger sizes, largest = 1) of a document."""
    step = max(1, pdf.page_count // SIZE_SCAN_PAGES)
    chars: Counter[float] = Counter()
    for index in range(0, pdf.page_count, step):
        for size, count in span_sizes(pdf[index]):
            chars[round(size, 1)] += count
    if not chars:
        return SizeLevels(0.0, {})
    body = chars.most_common(1)[0][0]
    larger = sorted((s for s in chars if s >= body * HEADING_RATIO), reverse=True)
    return SizeLevels(body, {s: min(i + 1, MAX_HEADING_LEVELS) for i, s in enumerate(larger)})


def usual_line_gap(lines: list[Line]) -> float:
    """The most common gap between a line and the next one below it in the same text block."""
    gaps: Counter[float] = Counter()
    for above, below in pairwise(lines):
        gap = below.bbox[1] - above.bbox[3]
        overlaps = below.bbox[0] < above.bbox[2] and above.bbox[0] < below.bbox[2]
        # Boxes of tall fonts overlap the next line's box; half a box is a line of its own.
        height = above.bbox[3] - above.bbox[1]
        same_size = abs(below.size - above.size) < 0.5
        if overlaps and same_size and -0.5 * height < gap < 1.5 * above.size:
            gaps[round(gap * 2) / 2] += 1
    return gaps.most_common(1)[0][0] if gaps else 0.0


def build_blocks(
    items: list[Item], page_number: int, levels: SizeLevels, line_gap: float, code: bool
) -> list[Block]:
    """Blocks from items in reading order; `code`: monospace lines are code listings."""
    blocks: list[Block] = []
    pending: _Pending | None = None
    list_indents: list[float] = []  # marker x of each open list nesting level
    for item in items:
        if isinstance(item, TableRegion):
            if pending:
                blocks.append(_finish(pending, page_number))
            pending, list_indents = None, []
            text = table_text(item.table)
            box = item.page_bbox
            blocks.append(_block(BlockType.TABLE, text, box, page_number, table=item.table))
            continue
        if isinstance(item, FigureRegion):
            if pending:
                blocks.append(_finish(pending, page_number))
            pending, list_indents = None, []
            labels = figure_labels_text(item)
            blocks.append(_block(BlockType.FIGURE, "", item.page_bbox, page_number, labels=labels))
            continue
        if isinstance(item, FormField):
            if pending:
                blocks.append(_finish(pending, page_number))
            pending, list_indents = None, []
            kv = _block(BlockType.KEY_VALUE, item.value, item.page_bbox, page_number, key=item.key)
            blocks.append(kv)
            continue
        if pending and _continues(pending, item, line_gap):
            pending.lines.append(item)
            continue
        if pending:
            blocks.append(_finish(pending, page_number))
        pending = _start(item, levels, list_indents, code)
    if pending:
        blocks.append(_finish(pending, page_number))
    return blocks


def _start(line: Line, levels: SizeLevels, list_indents: list[float], code: bool) -> _Pending:
    size = line.size
    if code and line.mono:
        list_indents.clear()
        return _Pending(BlockType.CODE, [line], size=size, code_page=True)
    level = levels.heading_level(size)
    if level is not None:
        list_indents.clear()
        return _Pending(BlockType.HEADING, [line], level=level, size=size, code_page=code)
    match = MARKER.match(line.text)
    if match is None or not line.text[match.end() :].strip():  # a lone "–" is no list item
        list_indents.clear()
        return _Pending(BlockType.PARAGRAPH, [line], size=size, code_page=code)
    x = line.bbox[0]
    while list_indents and x < list_indents[-1] - 2:
        list_indents.pop()
    if not list_indents or x > list_indents[-1] + 2:
        list_indents.append(x)
    ordered = match.group(1) is None  # group 1 is a bullet; otherwise a number or letter
    level = len(list_indents)
    return _Pending(
        BlockType.LIST_ITEM, [line], level=level, ordered=ordered, size=size, code_page=code
    )


def _continues(pending: _Pending, line: Line, line_gap: float) -> bool:
    """Does `line` carry on the block being built (same style, just below, not a new item)?"""
    last = pending.lines[-1].bbox
    gap = line.bbox[1] - last[3]
    if pending.type == BlockType.CODE:
        return line.mono and -0.5 * line.size < gap < CODE_GAP * line.size
    if pending.code_page and line.mono != pending.lines[-1].mono:
        return False
    overlaps = line.bbox[0] < last[2] and last[0] < line.bbox[2]
    above = -0.5 * (last[3] - last[1])
    if not (above < gap < line_gap + PARAGRAPH_GAP * pending.size and overlaps):
        return False
    if abs(line.size - pending.size) > 0.5:
        return False
    if pending.type == BlockType.LIST_ITEM:
        return not MARKER.match(line.text) and line.bbox[0] > pending.lines[0].bbox[0] + 2
    return pending.type == BlockType.HEADING or not MARKER.match(line.text)


def _finish(pending: _Pending, page_number: int) -> Block:
    bbox = union([ln.page_bbox for ln in pending.lines])
    if pending.type == BlockType.CODE and len(pending.lines) > 1:
        return _block(BlockType.CODE, _code_text(pending.lines), bbox, page_number)
    if pending.type == BlockType.HEADING:
        text = _join_plain(pending.lines)
        return _block(BlockType.HEADING, text, bbox, page_number, level=pending.level)
    text = _join_markdown(pending.lines)
    if pending.type == BlockType.LIST_ITEM:
        text = MARKER.sub("", text, count=1).strip()
        text = re.sub(r"^\*\*\s*\*\*|^\*\s*\*", "", text).strip()  # a styled marker's husk
        return _block(
            BlockType.LIST_ITEM,
            text,
            bbox,
            page_number,
            level=pending.level,
            ordered=pending.ordered,
        )
    return _block(BlockType.PARAGRAPH, text, bbox, page_number)


def _code_text(lines: list[Line]) -> str:
    """Listing lines with their indentation measured in glyph widths from the left edge."""
    left = min(ln.bbox[0] for ln in lines)
    return "\n".join(
        " " * round((ln.bbox[0] - left) / (MONO_WIDTH * ln.size)) + ln.text.strip() for ln in lines
    )


def _block(kind: BlockType, text: str, bbox: BBox, page_number: int, **extra) -> Block:
    rounded = tuple(round(v, 2) for v in bbox)
    return Block(
        type=kind, text=text, page=page_number, bbox=rounded, engine="text", confidence=1.0, **extra
    )


def _join_plain(lines: list[Line]) -> str:
    return _join_texts([ln.text.strip() for ln in lines])


def _join_texts(texts: list[str]) -> str:
    out = ""
    for text in texts:
        out = _join_two(out, text) if out else text
    return out


def _join_two(before: str, after: str) -> str:
    """Join wrapped lines, undoing a hyphenated break ("infor-" + "mation")."""
    if _hyphen_break(before, after):
        return before[:-1] + after
    if is_cjk(before[-1:]) and is_cjk(after[:1]):
        return before + after
    return before + " " + after


def _hyphen_break(before: str, after: str) -> bool:
    """A word broken over two lines: a hyphen before a lowercase letter, or a soft hyphen."""
    if before.endswith("\u00ad"):
        return True
    return bool(re.search(r"[^\W\d_]-$", before)) and after[:1].islower()


def _join_markdown(lines: list[Line]) -> str:
    """Lines' spans as one markdown string: bold/italic runs merged across spans and lines."""
    runs: list[list] = []  # [text, bold, italic]
    for line in lines:
        first = True
        for span in line.spans:
            text = span.text.lstrip() if first else span.text
            if not text:
                continue
            if first and runs:
                before = runs[-1][0].rstrip()
                if _hyphen_break(before, text):
                    runs[-1][0] = before[:-1]
                else:
                    runs[-1][0] = (
                        before if is_cjk(before[-1:]) and is_cjk(text[:1]) else before + " "
                    )
            first = False
            style = [span.bold, span.italic]
            if runs and (not text.strip() or runs[-1][1:] == style):
                runs[-1][0] += text
            else:
                runs.append([text, *style])
    return "".join(_styled(*run) for run in runs).strip()


def _styled(text: str, bold: bool, italic: bool) -> str:
    core = text.strip()
    if not core or not (bold or italic):
        return text
    marker = "***" if bold and italic else "**" if bold else "*"
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"
