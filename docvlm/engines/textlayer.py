"""Born-digital pages: PyMuPDF's text layer → headings, paragraphs, lists and tables.

One `get_text("dict")` call gives lines with font, size and style per span. Ruled tables come
from `find_tables`, called only on the area of the page's line drawings (it costs little there
and ~40 ms per page when run over a whole page); unruled tables are found from rows of short
cells that share column bands. The rest is ordered with the column-aware
`reading_order` and grouped into blocks line by line.
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

import pymupdf

from docvlm.document import BBox, Block, BlockType, Table, TableCell
from docvlm.engines.base import Engine
from docvlm.errors import EngineUnavailableError
from docvlm.geometry import union
from docvlm.reading_order import reading_order
from docvlm.sources import SourceDocument, SourcePage

_TEXT_FLAGS = (
    pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
)
_BOLD, _ITALIC = 16, 2  # PyMuPDF span flag bits

HEADING_RATIO = 1.15  # a line this much larger than body text is a heading
MAX_HEADING_LEVELS = 6
SIZE_SCAN_PAGES = 50  # pages sampled for the document's font-size statistics
PARAGRAPH_GAP = 0.3  # a gap this fraction of the font size above the usual line gap: new block
MAX_CELL_WORDS = 4  # unruled tables: longer "cells" are running text
MIN_TABLE_ROWS = 3

_BULLETS = "•◦▪▫‣●○■□·-–—*"
_MARKER = re.compile(rf"^\s*(?:([{re.escape(_BULLETS)}])|\(?(\d{{1,3}}|[a-zA-Z])[.)])(?=\s|$)")


@dataclass
class _Span:
    text: str
    size: float
    bold: bool
    italic: bool


@dataclass
class _Line:
    spans: list[_Span]
    bbox: BBox

    @cached_property
    def text(self) -> str:
        return "".join(s.text for s in self.spans)

    @cached_property
    def size(self) -> float:
        """The size of most of the line's characters."""
        weights: Counter[float] = Counter()
        for span in self.spans:
            weights[round(span.size, 1)] += len(span.text.strip())
        return weights.most_common(1)[0][0]

    @property
    def bold(self) -> bool:
        return all(s.bold for s in self.spans if s.text.strip())


@dataclass
class _TableRegion:
    bbox: BBox
    table: Table


@dataclass
class _Pending:
    """A block being assembled from consecutive lines."""

    type: BlockType
    lines: list[_Line] = field(default_factory=list)
    level: int | None = None
    ordered: bool = False
    size: float = 0.0


@dataclass(frozen=True)
class _SizeLevels:
    body: float
    levels: dict[float, int]  # heading font size → level

    def heading_level(self, size: float) -> int | None:
        if not self.body or size < self.body * HEADING_RATIO:
            return None
        for heading_size, level in self.levels.items():
            if abs(size - heading_size) < 0.3:
                return level
        return MAX_HEADING_LEVELS


class TextLayerEngine(Engine):
    """Reads a PDF page's own text layer; fast and exact where the layer can be trusted."""

    name = "text"

    def __init__(self) -> None:
        self._size_levels: weakref.WeakKeyDictionary[SourceDocument, _SizeLevels] = (
            weakref.WeakKeyDictionary()
        )

    def parse(self, page: SourcePage) -> list[Block]:
        """Blocks of one born-digital page in reading order, bboxes in PDF points."""
        if page.pdf_page is None:
            raise EngineUnavailableError(
                f"page {page.number} is an image without a text layer: use --engine ocr or vlm"
            )
        levels = self._levels_for(page)
        lines = _merge_markers(_extract_lines(page.pdf_page))
        if not lines and page.pdf_page.get_images():
            raise EngineUnavailableError(
                f"page {page.number} is a scan without a text layer: use --engine ocr or vlm"
            )
        tables = _ruled_tables(page.pdf_page, lines)
        lines = [ln for ln in lines if not any(_center_in(ln.bbox, t.bbox) for t in tables)]
        unruled, lines = _unruled_tables(lines)
        tables += unruled

        items: list[_Line | _TableRegion] = [*lines, *tables]
        order = reading_order([item.bbox for item in items])
        ordered = [items[i] for i in order]
        return _build_blocks(ordered, page.number, levels, _usual_line_gap(lines))

    def _levels_for(self, page: SourcePage) -> _SizeLevels:
        levels = self._size_levels.get(page.source)
        if levels is None:
            levels = _scan_sizes(page.pdf_page.parent)
            self._size_levels[page.source] = levels
        return levels


def _scan_sizes(pdf: pymupdf.Document) -> _SizeLevels:
    """Body size (most characters) and heading levels (larger sizes, largest = 1) of a document."""
    step = max(1, pdf.page_count // SIZE_SCAN_PAGES)
    chars: Counter[float] = Counter()
    for index in range(0, pdf.page_count, step):
        for line in _extract_lines(pdf[index]):
            for span in line.spans:
                chars[round(span.size, 1)] += len(span.text.strip())
    if not chars:
        return _SizeLevels(0.0, {})
    body = chars.most_common(1)[0][0]
    larger = sorted((s for s in chars if s >= body * HEADING_RATIO), reverse=True)
    return _SizeLevels(body, {s: min(i + 1, MAX_HEADING_LEVELS) for i, s in enumerate(larger)})


def _extract_lines(pdf_page: pymupdf.Page) -> list[_Line]:
    lines: list[_Line] = []
    for block in pdf_page.get_text("dict", flags=_TEXT_FLAGS)["blocks"]:
        for line in block.get("lines", ()):
            spans = [
                _Span(s["text"], s["size"], bool(s["flags"] & _BOLD), bool(s["flags"] & _ITALIC))
                for s in line["spans"]
                if s["text"]
            ]
            if any(s.text.strip() for s in spans):
                lines.append(_Line(spans, tuple(line["bbox"])))
    return lines


def _merge_markers(lines: list[_Line]) -> list[_Line]:
    """Join a lone list marker ("•", "1.") with the text that follows it on its baseline."""
    merged: list[_Line] = []
    absorbed: set[int] = set()
    for i, line in enumerate(lines):
        if i in absorbed:
            continue
        if _MARKER.fullmatch(line.text.strip()):
            follower = _follower(lines, i, absorbed)
            if follower is not None:
                absorbed.add(follower)
                other = lines[follower]
                x0, y0, x1, y1 = line.bbox
                bbox = (x0, min(y0, other.bbox[1]), other.bbox[2], max(y1, other.bbox[3]))
                space = _Span(" ", other.spans[0].size, False, False)
                line = _Line([*line.spans, space, *other.spans], bbox)
        merged.append(line)
    return merged


def _follower(lines: list[_Line], index: int, absorbed: set[int]) -> int | None:
    marker = lines[index]
    height = marker.bbox[3] - marker.bbox[1]
    for j, other in enumerate(lines):
        if j == index or j in absorbed:
            continue
        gap = other.bbox[0] - marker.bbox[2]
        same_row = abs(_mid_y(other.bbox) - _mid_y(marker.bbox)) < 0.3 * height
        if same_row and 0 <= gap < 2.5 * marker.size:
            return j
    return None


def _ruled_tables(pdf_page: pymupdf.Page, lines: list[_Line]) -> list[_TableRegion]:
    """Tables drawn with grid lines, found by `find_tables` within each grid's own area."""
    regions = []
    for clip in _rule_groups(pdf_page):
        for table in pdf_page.find_tables(clip=clip, use_layout=False).tables:
            if table.row_count >= 2 and table.col_count >= 2:
                grid = _grid_table([c for c in table.cells if c], lines)
                regions.append(_TableRegion(tuple(table.bbox), grid))
    return regions


def _rule_groups(pdf_page: pymupdf.Page) -> list[pymupdf.Rect]:
    """Areas of touching straight rules and rectangles with enough of both to form a grid."""
    groups: list[list] = []  # [area, horizontal edges, vertical edges]
    for path in pdf_page.get_cdrawings():
        horizontal = vertical = 0
        for item in path["items"]:
            if item[0] == "l":
                (x0, y0), (x1, y1) = item[1], item[2]
                horizontal += abs(y1 - y0) < 1
                vertical += abs(x1 - x0) < 1
            elif item[0] == "re":
                horizontal, vertical = horizontal + 2, vertical + 2
        if not horizontal + vertical:
            continue
        area = pymupdf.Rect(path["rect"]) + (-2, -2, 2, 2)
        touching = [g for g in groups if g[0].intersects(area)]
        for group in touching:
            groups.remove(group)
            area |= group[0]
            horizontal += group[1]
            vertical += group[2]
        groups.append([area, horizontal, vertical])
    # Three rules each way: a lone box (a checkbox, a frame) has only two.
    return [area for area, horizontal, vertical in groups if horizontal >= 3 and vertical >= 3]


def _grid_table(cells: list[tuple], lines: list[_Line]) -> Table:
    """A cell grid from cell rectangles (spans where a cell covers several grid columns/rows)."""
    xs = _edges([c[0] for c in cells] + [c[2] for c in cells])
    ys = _edges([c[1] for c in cells] + [c[3] for c in cells])
    inside: dict[int, list[_Line]] = {}
    for line in lines:
        for k, cell in enumerate(cells):
            if _center_in(line.bbox, cell):
                inside.setdefault(k, []).append(line)
                break
    table_cells = []
    for k, (x0, y0, x1, y1) in enumerate(cells):
        row, col = _edge_index(ys, y0), _edge_index(xs, x0)
        cell_lines = sorted(inside.get(k, []), key=lambda ln: (ln.bbox[1], ln.bbox[0]))
        table_cells.append(
            TableCell(
                row=row,
                col=col,
                text=" ".join(ln.text.strip() for ln in cell_lines),
                row_span=max(1, _edge_index(ys, y1) - row),
                col_span=max(1, _edge_index(xs, x1) - col),
                header=row == 0 and all(ln.bold for ln in cell_lines),
            )
        )
    return _with_header(Table(num_rows=len(ys) - 1, num_cols=len(xs) - 1, cells=table_cells))


def _with_header(table: Table) -> Table:
    """Keep the first row's header flag only when the whole row looks like a header."""
    first_row = [c for c in table.cells if c.row == 0]
    if not all(c.header for c in first_row):
        for cell in first_row:
            cell.header = False
    return table


def _edges(values: list[float], tolerance: float = 2.0) -> list[float]:
    edges: list[float] = []
    for value in sorted(values):
        if not edges or value - edges[-1] > tolerance:
            edges.append(value)
    return edges


def _edge_index(edges: list[float], value: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - value))


def _unruled_tables(lines: list[_Line]) -> tuple[list[_TableRegion], list[_Line]]:
    """Find runs of ≥3 rows of short cells that share column bands; return them and the rest."""
    rows = _rows(lines)
    tables: list[_TableRegion] = []
    used: set[int] = set()
    run: list[list[int]] = []
    for row in [*rows, []]:  # the empty sentinel row closes the last run
        if _is_cell_row(row, lines) and (not run or _follows(run[-1], row, lines)):
            run.append(row)
            continue
        region = _table_from_rows(run, lines)
        if region is not None:
            tables.append(region)
            used.update(i for r in run for i in r)
        run = [row] if _is_cell_row(row, lines) else []
    return tables, [ln for i, ln in enumerate(lines) if i not in used]


def _rows(lines: list[_Line]) -> list[list[int]]:
    """Line indices grouped into visual rows (shared baseline band), top to bottom."""
    rows: list[list[int]] = []
    for i in sorted(range(len(lines)), key=lambda i: _mid_y(lines[i].bbox)):
        if rows:
            last = lines[rows[-1][0]].bbox
            if abs(_mid_y(lines[i].bbox) - _mid_y(last)) < 0.3 * (last[3] - last[1]):
                rows[-1].append(i)
                continue
        rows.append([i])
    return [sorted(r, key=lambda i: lines[i].bbox[0]) for r in rows]


def _is_cell_row(row: list[int], lines: list[_Line]) -> bool:
    return len(row) >= 2 and all(len(lines[i].text.split()) <= MAX_CELL_WORDS for i in row)


def _follows(previous: list[int], row: list[int], lines: list[_Line]) -> bool:
    above = max(lines[i].bbox[3] for i in previous)
    below = min(lines[i].bbox[1] for i in row)
    height = lines[row[0]].bbox[3] - lines[row[0]].bbox[1]
    return below - above < 1.5 * height


def _table_from_rows(rows: list[list[int]], lines: list[_Line]) -> _TableRegion | None:
    if len(rows) < MIN_TABLE_ROWS:
        return None
    bands = _bands([lines[i].bbox for r in rows for i in r])
    if len(bands) < 2:
        return None
    grid: list[list[str]] = []
    for row in rows:
        texts = [""] * len(bands)
        for i in row:
            band = next(b for b, (x0, x1) in enumerate(bands) if x0 <= lines[i].bbox[0] <= x1)
            if texts[band]:  # two cells in one band: not a grid
                return None
            texts[band] = lines[i].text.strip()
        grid.append(texts)
    header = all(lines[i].bold for i in rows[0])
    boxes = [lines[i].bbox for r in rows for i in r]
    return _TableRegion(union(boxes), Table.from_rows(grid, header_rows=int(header)))


def _bands(boxes: list[BBox]) -> list[tuple[float, float]]:
    """Merge the boxes' horizontal extents into disjoint column bands, left to right."""
    bands: list[list[float]] = []
    for x0, _, x1, _ in sorted(boxes):
        if bands and x0 <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], x1)
        else:
            bands.append([x0, x1])
    return [(b[0], b[1]) for b in bands]


def _usual_line_gap(lines: list[_Line]) -> float:
    """The most common gap between a line and the next one below it in the same text block."""
    gaps: Counter[float] = Counter()
    for above, below in pairwise(lines):
        gap = below.bbox[1] - above.bbox[3]
        overlaps = below.bbox[0] < above.bbox[2] and above.bbox[0] < below.bbox[2]
        if overlaps and abs(below.size - above.size) < 0.5 and -0.5 < gap / above.size < 1.5:
            gaps[round(gap * 2) / 2] += 1
    return gaps.most_common(1)[0][0] if gaps else 0.0


def _build_blocks(
    items: list[_Line | _TableRegion], page_number: int, levels: _SizeLevels, line_gap: float
) -> list[Block]:
    blocks: list[Block] = []
    pending: _Pending | None = None
    list_indents: list[float] = []  # marker x of each open list nesting level
    for item in items:
        if isinstance(item, _TableRegion):
            if pending:
                blocks.append(_finish(pending, page_number))
            pending, list_indents = None, []
            text = _table_text(item.table)
            blocks.append(_block(BlockType.TABLE, text, item.bbox, page_number, table=item.table))
            continue
        if pending and _continues(pending, item, line_gap):
            pending.lines.append(item)
            continue
        if pending:
            blocks.append(_finish(pending, page_number))
        pending = _start(item, levels, list_indents)
    if pending:
        blocks.append(_finish(pending, page_number))
    return blocks


def _start(line: _Line, levels: _SizeLevels, list_indents: list[float]) -> _Pending:
    size = line.size
    level = levels.heading_level(size)
    if level is not None:
        list_indents.clear()
        return _Pending(BlockType.HEADING, [line], level=level, size=size)
    match = _MARKER.match(line.text)
    if match is None:
        list_indents.clear()
        return _Pending(BlockType.PARAGRAPH, [line], size=size)
    x = line.bbox[0]
    while list_indents and x < list_indents[-1] - 2:
        list_indents.pop()
    if not list_indents or x > list_indents[-1] + 2:
        list_indents.append(x)
    ordered = match.group(1) is None  # group 1 is a bullet; otherwise a number or letter
    level = len(list_indents)
    return _Pending(BlockType.LIST_ITEM, [line], level=level, ordered=ordered, size=size)


def _continues(pending: _Pending, line: _Line, line_gap: float) -> bool:
    """Does `line` carry on the block being built (same style, just below, not a new item)?"""
    last = pending.lines[-1].bbox
    gap = line.bbox[1] - last[3]
    overlaps = line.bbox[0] < last[2] and last[0] < line.bbox[2]
    if not (-0.5 * pending.size < gap < line_gap + PARAGRAPH_GAP * pending.size and overlaps):
        return False
    if abs(line.size - pending.size) > 0.5:
        return False
    if pending.type == BlockType.LIST_ITEM:
        return not _MARKER.match(line.text) and line.bbox[0] > pending.lines[0].bbox[0] + 2
    return pending.type == BlockType.HEADING or not _MARKER.match(line.text)


def _finish(pending: _Pending, page_number: int) -> Block:
    bbox = union([ln.bbox for ln in pending.lines])
    if pending.type == BlockType.HEADING:
        text = _join_plain(pending.lines)
        return _block(BlockType.HEADING, text, bbox, page_number, level=pending.level)
    text = _join_markdown(pending.lines)
    if pending.type == BlockType.LIST_ITEM:
        text = _MARKER.sub("", text, count=1).strip()
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


def _block(kind: BlockType, text: str, bbox: BBox, page_number: int, **extra) -> Block:
    rounded = tuple(round(v, 2) for v in bbox)
    return Block(
        type=kind, text=text, page=page_number, bbox=rounded, engine="text", confidence=1.0, **extra
    )


def _join_plain(lines: list[_Line]) -> str:
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
    return before + " " + after


def _hyphen_break(before: str, after: str) -> bool:
    return bool(re.search(r"[^\W\d_]-$", before)) and after[:1].islower()


def _join_markdown(lines: list[_Line]) -> str:
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
                runs[-1][0] = before[:-1] if _hyphen_break(before, text) else before + " "
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


def _table_text(table: Table) -> str:
    return "\n".join(" ".join(c for c in row if c) for row in table.rows())


def _center_in(box: BBox, area: BBox | tuple) -> bool:
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return area[0] <= x <= area[2] and area[1] <= y <= area[3]


def _mid_y(box: BBox) -> float:
    return (box[1] + box[3]) / 2
