"""Recognised OCR lines (the backends' common output) and their assembly into blocks.

Lines are put in column-aware reading order, then consecutive lines are merged into paragraphs
unless a heading, a list marker, a vertical gap, an indent or a column change separates them.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, replace

from docvlm.document import BBox, Block, BlockType
from docvlm.reading_order import reading_order

HEADING_RATIO = 1.3  # a line this much taller than the body's median line is a heading
PARAGRAPH_GAP = 0.7  # a vertical gap above this many body line heights starts a paragraph
INDENT = 0.8  # a first-line indent of this many body line heights starts a paragraph

_BULLET = re.compile(r"^[•·●▪◦■□➢►*–-]\s+")
_NUMBERED = re.compile(r"^(?:\d{1,3}[.)]|\(\d{1,3}\)|\([a-z]\)|[a-z]\))\s+")
_HYPHENATED_END = re.compile(r"[^\W\d_]-$")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True)
class OCRWord:
    """A recognised word (or CJK character) with its box and confidence in [0, 1]."""

    text: str
    bbox: BBox
    confidence: float


@dataclass(frozen=True)
class OCRLine:
    """A recognised text line; `bbox` is in image pixels until `scaled` to page points."""

    text: str
    bbox: BBox
    confidence: float
    words: tuple[OCRWord, ...] = ()

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]

    def scaled(self, factor: float) -> OCRLine:
        """The same line with every box multiplied by `factor` (pixels → points)."""
        words = tuple(replace(w, bbox=_scale(w.bbox, factor)) for w in self.words)
        return replace(self, bbox=_scale(self.bbox, factor), words=words)


def is_cjk(char: str) -> bool:
    """True for Chinese/Japanese ideographs, CJK punctuation and full-width forms."""
    return bool(_CJK.match(char))


def cjk_share(text: str) -> float:
    """Fraction of the non-space characters of `text` that are CJK."""
    visible = [c for c in text if not c.isspace()]
    return sum(map(is_cjk, visible)) / len(visible) if visible else 0.0


def lines_to_blocks(lines: list[OCRLine], page_number: int, engine: str = "ocr") -> list[Block]:
    """Paragraph, heading and list blocks from recognised lines, in reading order."""
    lines = [line for line in lines if line.text.strip()]
    if not lines:
        return []
    ordered = [lines[i] for i in reading_order([line.bbox for line in lines])]
    body_height = statistics.median(line.height for line in lines)
    heading_levels = _heading_levels(lines, body_height)

    groups: list[list[OCRLine]] = []
    for line in ordered:
        if groups and _continues(groups[-1], line, body_height, heading_levels):
            groups[-1].append(line)
        else:
            groups.append([line])
    return [_block(group, page_number, engine, heading_levels) for group in groups]


def _heading_levels(lines: list[OCRLine], body_height: float) -> dict[float, int]:
    """Heading level for each line height that marks a heading (tallest = level 1, max 3)."""
    tall = sorted({round(line.height, 1) for line in lines if _is_heading_size(line, body_height)})
    levels: dict[float, int] = {}
    level, previous = 0, None
    for height in reversed(tall):
        if previous is None or height < previous / 1.1:  # sizes within 10% share a level
            level = min(level + 1, 3)
            previous = height
        levels[height] = level
    return levels


def _is_heading_size(line: OCRLine, body_height: float) -> bool:
    return line.height >= HEADING_RATIO * body_height and len(line.text) <= 120


def _level(line: OCRLine, heading_levels: dict[float, int]) -> int | None:
    return heading_levels.get(round(line.height, 1))


def _list_marker(text: str) -> re.Match[str] | None:
    return _BULLET.match(text) or _NUMBERED.match(text)


def _continues(
    group: list[OCRLine], line: OCRLine, body_height: float, heading_levels: dict[float, int]
) -> bool:
    """Whether `line` continues the paragraph (or heading, or list item) made by `group`."""
    previous, first = group[-1], group[0]
    if _level(line, heading_levels) != _level(previous, heading_levels):
        return False
    if _list_marker(line.text):
        return False
    gap = line.bbox[1] - previous.bbox[3]
    if gap > PARAGRAPH_GAP * body_height or line.bbox[1] < previous.bbox[1]:
        return False  # a blank band, or reading order jumped up to the next column
    if line.bbox[0] >= previous.bbox[2] or line.bbox[2] <= previous.bbox[0]:
        return False  # no horizontal overlap: another column
    if _list_marker(first.text):
        return line.bbox[0] > first.bbox[0]  # list continuation lines hang under the text
    return line.bbox[0] - previous.bbox[0] <= INDENT * body_height


def _block(
    group: list[OCRLine], page_number: int, engine: str, heading_levels: dict[float, int]
) -> Block:
    text = join_lines([line.text.strip() for line in group])
    level = _level(group[0], heading_levels)
    marker = _list_marker(text)
    if level is not None:
        block_type, ordered = BlockType.HEADING, False
    elif marker:
        block_type, ordered = BlockType.LIST_ITEM, not _BULLET.match(text)
        text = text[marker.end() :]
        level = 1
    else:
        block_type, ordered = BlockType.PARAGRAPH, False
    words = [word for line in group for word in line.words]
    scores = [w.confidence for w in words] or [line.confidence for line in group]
    return Block(
        type=block_type,
        text=text,
        page=page_number,
        bbox=_union([line.bbox for line in group]),
        engine=engine,
        confidence=round(sum(scores) / len(scores), 4),
        level=level,
        ordered=ordered,
    )


def join_lines(texts: list[str]) -> str:
    """Join line texts: de-hyphenate word breaks, no space between CJK characters."""
    joined = ""
    for text in texts:
        if not joined:
            joined = text
        elif _HYPHENATED_END.search(joined) and text[:1].islower():
            joined = joined[:-1] + text
        elif is_cjk(joined[-1]) and is_cjk(text[0]):
            joined += text
        else:
            joined += " " + text
    return joined


def _union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _scale(bbox: BBox, factor: float) -> BBox:
    return (bbox[0] * factor, bbox[1] * factor, bbox[2] * factor, bbox[3] * factor)
