"""Tables of a text-layer page: ruled grids (PyMuPDF's `find_tables`) and unruled columns.

`find_tables` is called only on the area of each group of touching rules (it costs ~40 ms per
page when run over a whole page). Cells are read in the frame of the text inside them, so a
table printed sideways comes out row by row. Only real grids are kept: at least 2×2 with most
cells filled — a page-sized frame, a form's boxes or a figure's strokes stay text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

from docvlm.document import BBox, Table, TableCell
from docvlm.engines.textlayer.lines import Line, center_in, mid_y, to_frame
from docvlm.geometry import union

MAX_CELL_WORDS = 4  # unruled tables: longer "cells" are running text
MIN_FULL_ROWS = 0.6  # share of an unruled table's rows with two or more cells
MAX_LABEL_WORDS = 8  # … except a row's first cell, its label
STRAY_ROWS = 0.15  # share of a table's rows whose cells may cross a column gutter
SPACED_ROWS = 2.5  # line heights between two rows of as many cells of one table
HEADER_GAP = 4.0  # line heights a lone header row may stand above its table body
PROSE_WORDS = 6  # a line of running text has at least this many words
AROUND_LINES = 4  # lines above and below a table searched for the text columns beside it
PROSE_SHARE = 0.3  # share of a strip's lines that are running text in a text column
MAX_LONE_ROWS = 3  # lone-cell rows (group labels) a table body may hold in a row
RULED_ROWS = 3  # text rows per horizontal rule in a grid worth `find_tables`
COLLAPSED_CELLS = 2  # cells of one ruled row holding ≥ 3 lines each: rows of text, not a cell
MIN_TABLE_ROWS = 3
MIN_FILLED = 0.5  # share of a grid's cells that hold text
MIN_FORM_WIDGETS = 5
MAX_PAGE_SHARE = 0.85  # a "table" covering more of the page than this is a frame


_WORD = re.compile(r"[^\s]*\w[^\s]*")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")
CJK_WORD = 2  # characters of a CJK word, on average (CJK writes no spaces between words)
_LEADER = re.compile(r"(?:\s*[.…⋯·]){3,}\s*$")  # "Robbery. . . . . ." → "Robbery"


def cell_text(text: str) -> str:
    """A cell's text without the dot leaders that run it up to the next column."""
    return _LEADER.sub("", text).strip()


@dataclass
class TableRegion:
    bbox: BBox  # in the frame
    page_bbox: BBox
    table: Table
    frame: int = 0
    members: list[Line] = field(default_factory=list)  # the lines placed in its cells


def ruled_tables(
    pdf_page: pymupdf.Page, lines: list[Line], drawings: list[dict]
) -> list[TableRegion]:
    """Tables drawn with grid lines, each read in the frame of most of its text."""
    if sum(1 for _ in pdf_page.widgets()) >= MIN_FORM_WIDGETS:
        return []  # a fillable form: its ruled boxes are the form's layout, not tables
    regions = []
    page_area = abs(pdf_page.rect)
    # Only grids holding text are searched: `find_tables` reads the page's characters on every
    # call, which costs more than the search itself.
    grids = [g for g, rules in _rule_groups(drawings) if _rows_ruled(g, rules, lines)]
    claimed: set[int] = set()  # nested tables: each line goes to the first table only
    paths = _as_paths(drawings) if grids else []
    found_tables = [
        table
        for grid in grids
        for table in pdf_page.find_tables(
            clip=grid, use_layout=False, paths=[_fresh(path) for path in paths]
        ).tables
    ]
    for found in sorted(found_tables, key=lambda t: -abs(pymupdf.Rect(t.bbox))):
        cells = [c for c in found.cells if c]
        page_box = tuple(found.bbox)
        inside = [ln for ln in lines if id(ln) not in claimed and center_in(ln.page_bbox, page_box)]
        if not inside or abs(pymupdf.Rect(page_box)) > MAX_PAGE_SHARE * page_area:
            continue
        frame = Counter(ln.frame for ln in inside).most_common(1)[0][0]
        framed = [ln for ln in inside if ln.frame == frame]
        table, members = _grid_table([to_frame(frame, c) for c in cells], framed)
        if is_real_table(table) and not _collapsed(table, members):
            box = to_frame(frame, page_box)
            regions.append(TableRegion(box, page_box, joined_cells(table), frame, members))
            claimed.update(id(ln) for ln in members)
    return regions


def is_real_table(table: Table) -> bool:
    """At least 2×2 and mostly filled (spanning cells count once)."""
    if table.num_rows < 2 or table.num_cols < 2:
        return False
    filled = sum(1 for c in table.cells if c.text.strip())
    used_rows = {c.row for c in table.cells if c.text.strip()}
    used_cols = {c.col for c in table.cells if c.text.strip()}
    return len(used_rows) >= 2 and len(used_cols) >= 2 and filled >= MIN_FILLED * len(table.cells)


def _rows_ruled(area: pymupdf.Rect, horizontal_rules: int, lines: list[Line]) -> bool:
    """Whether a grid has text and rules between most of its text rows; one ruled only around
    its header is left to the text-row detector (and spares `find_tables` its cost)."""
    inside = [ln for ln in lines if center_in(ln.page_bbox, area)]
    text_rows = len({round(mid_y(ln.page_bbox) / 3) for ln in inside})
    return len(inside) >= 2 and text_rows <= RULED_ROWS * horizontal_rules + 2


def _collapsed(table: Table, members: list[Line]) -> bool:
    """Rows of an unruled body drawn inside one ruled frame: several cells of one grid row
    each hold a stack of lines. Such a grid is read from the text's own rows instead."""
    stacked = Counter(c.row for c in table.cells if c.text and c.text.count("\n") >= 2)
    # A header row wraps its labels over lines; the body below it does not.
    return any(n >= COLLAPSED_CELLS and (row or table.num_rows == 1) for row, n in stacked.items())


_PATH_KEYS = (
    "closePath", "fill", "color", "width", "lineCap", "lineJoin", "dashes",
    "stroke_opacity", "fill_opacity", "even_odd",
)  # fmt: skip


def _as_paths(drawings: list[dict]) -> list[dict]:
    """The drawings as `get_drawings` gives them (Rect and Point objects), made once for
    `find_tables(paths=...)`, which would otherwise extract and convert every drawing of the
    page again for each grid (seconds on a page of many thousand strokes)."""
    paths = []
    for path in drawings:
        items = [
            ("re", pymupdf.Rect(item[1]).normalize(), item[2])
            if item[0] == "re"
            else ("qu", pymupdf.Quad(item[1]))
            if item[0] == "qu"
            else (item[0], *(pymupdf.Point(point) for point in item[1:]))
            for item in path["items"]
        ]
        paths.append(
            {key: path.get(key) for key in _PATH_KEYS}
            | path
            | {"rect": pymupdf.Rect(path["rect"]), "items": items}
        )
    return paths


def _fresh(path: dict) -> dict:
    """A path's copy for one `find_tables` call, which extends its rect and items in place."""
    items = [(i[0], pymupdf.Rect(i[1]), *i[2:]) if i[0] == "re" else i for i in path["items"]]
    return dict(path, rect=pymupdf.Rect(path["rect"]), items=items)


Rule = tuple[float, float, float, float, int, int]  # padded box, horizontal, vertical edges


def _rule_groups(drawings: list[dict]) -> list[tuple[pymupdf.Rect, int]]:
    """Areas of touching straight rules and rectangles with enough of both to form a grid,
    with their count of horizontal edges. The page's rules are cut into parts at empty bands
    rather than grouped path by path: one path may draw two tables apart on the page, and
    `find_tables` run over both at once makes one grid of them, the text between included."""
    rules = [
        rule
        for path in drawings
        # mostly curves: a figure's strokes, not a grid
        if sum(item[0] == "c" for item in path["items"]) <= len(path["items"]) // 2
        for item in path["items"]
        if (rule := _rule(item)) is not None
    ]
    groups = []
    for part in _separate(rules):
        horizontal, vertical = sum(r[4] for r in part), sum(r[5] for r in part)
        # Three rules each way: a lone box (a checkbox, a frame) has only two.
        if horizontal >= 3 and vertical >= 3:
            x0, y0 = min(r[0] for r in part), min(r[1] for r in part)
            x1, y1 = max(r[2] for r in part), max(r[3] for r in part)
            groups.append((pymupdf.Rect(x0, y0, x1, y1), horizontal))
    return groups


def _rule(item: tuple) -> Rule | None:
    """A drawing item as a rule: its box padded to touch its neighbours, and its edges."""
    if item[0] == "l":
        (x0, y0), (x1, y1) = item[1], item[2]
        horizontal, vertical = int(abs(y1 - y0) < 1), int(abs(x1 - x0) < 1)
        if not horizontal + vertical:
            return None
        return (
            min(x0, x1) - 2,
            min(y0, y1) - 2,
            max(x0, x1) + 2,
            max(y0, y1) + 2,
            horizontal,
            vertical,
        )
    if item[0] == "re":
        x0, y0, x1, y1 = item[1]
        return (x0 - 2, y0 - 2, x1 + 2, y1 + 2, 2, 2)
    return None


def _separate(rules: list[Rule]) -> list[list[Rule]]:
    """Rules cut into parts at empty bands, across then along the page, as long as one cuts."""
    for axis in (1, 0):
        parts = _cut(rules, axis)
        if len(parts) > 1:
            return [piece for part in parts for piece in _separate(part)]
    return [rules] if rules else []


def _cut(rules: list[Rule], axis: int) -> list[list[Rule]]:
    """Rules grouped where their extents along one axis (0: x, 1: y) overlap."""
    parts: list[list[Rule]] = []
    end = float("-inf")
    for rule in sorted(rules, key=lambda r: r[axis]):
        if rule[axis] > end:
            parts.append([])
        parts[-1].append(rule)
        end = max(end, rule[axis + 2])
    return parts


def _grid_table(cells: list[BBox], lines: list[Line]) -> tuple[Table, list[Line]]:
    """A cell grid from cell rectangles (spans where a cell covers several grid columns/rows),
    and the lines placed in its cells."""
    xs = _edges([c[0] for c in cells] + [c[2] for c in cells])
    ys = _edges([c[1] for c in cells] + [c[3] for c in cells])
    inside: dict[int, list[Line]] = {}
    for line in lines:
        for k, cell in enumerate(cells):
            if center_in(line.bbox, cell):
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
                text="\n".join(cell_text(ln.text) for ln in cell_lines),
                row_span=max(1, _edge_index(ys, y1) - row),
                col_span=max(1, _edge_index(xs, x1) - col),
                header=row == 0 and all(ln.bold for ln in cell_lines),
            )
        )
    table = Table(num_rows=len(ys) - 1, num_cols=len(xs) - 1, cells=table_cells)
    return _group_header_merged(_with_header(table)), [
        ln for placed in inside.values() for ln in placed
    ]


def joined_cells(table: Table) -> Table:
    """The table with each multi-line cell's lines joined into one text."""
    for cell in table.cells:
        cell.text = " ".join(cell.text.split("\n"))
    return table


def _with_header(table: Table) -> Table:
    """Keep the first row's header flag only when the whole row looks like a header."""
    first_row = [c for c in table.cells if c.row == 0]
    if not all(c.header for c in first_row):
        for cell in first_row:
            cell.header = False
    return table


def _group_header_merged(table: Table) -> Table:
    """Leading rows with a spanning group label ("Totals", a scenario's title) and the row of
    labels under them become one header row: markdown has one header row per table. A
    spanning label is written once, in its first column."""
    groups = 0
    while groups < table.num_rows - 2 and any(
        c.row == groups and c.col_span > 1 and c.text for c in table.cells
    ):
        groups += 1
    if not groups:
        return table
    header = [""] * table.num_cols
    for cell in sorted(table.cells, key=lambda c: c.row):
        if cell.row <= groups and cell.text:
            header[cell.col] = f"{header[cell.col]} {cell.text}".strip()
    cells = [TableCell(row=0, col=k, text=t, header=True) for k, t in enumerate(header)]
    for cell in table.cells:
        if cell.row > groups:
            cells.append(cell.model_copy(update={"row": cell.row - groups}))
    return Table(num_rows=table.num_rows - groups, num_cols=table.num_cols, cells=cells)


def _edges(values: list[float], tolerance: float = 2.0) -> list[float]:
    edges: list[float] = []
    for value in sorted(values):
        if not edges or value - edges[-1] > tolerance:
            edges.append(value)
    return edges


def _edge_index(edges: list[float], value: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - value))


def unruled_tables(lines: list[Line]) -> tuple[list[TableRegion], list[Line]]:
    """Find runs of ≥3 rows of short cells that share column bands; return them and the rest.

    The page is searched whole, then each strip of it between a column of running text and
    the gutter beside it: a table in a side panel shares its rows with the text beside it. A
    table found across the gutter of two text columns is searched again column by column.
    """
    found, rest = _unruled_in(lines)
    tables: list[TableRegion] = []
    for table in found:
        columns = _text_columns_crossed(table, lines)
        if columns is None:
            tables.append(table)
            continue
        split, left = _search_strips(table.members, columns)
        tables += split
        rest += left
    strips = _text_strips(rest)
    if len(strips) < 2:
        return tables, rest
    split, rest = _search_strips(rest, strips)
    return tables + split, rest


def _text_strips(lines: list[Line]) -> list[tuple[float, float]]:
    """Strips between gutters that run the page's full height, where a column of running
    text stands apart; neighbouring strips without running text (a table's own columns)
    stay one strip."""
    strips = _bands([ln.bbox for ln in lines])
    prose: Counter[int] = Counter()
    total: Counter[int] = Counter()
    for line in lines:
        strip = _band_of(line.bbox, strips)
        total[strip] += 1
        prose[strip] += _words(line.text) >= PROSE_WORDS
    merged: list[tuple[float, float]] = []
    was_text = True
    for k, strip in enumerate(strips):
        text = prose[k] >= PROSE_SHARE * total[k]
        if merged and not text and not was_text:
            merged[-1] = (merged[-1][0], strip[1])
        else:
            merged.append(strip)
        was_text = text
    return merged


def _search_strips(
    lines: list[Line], strips: list[tuple[float, float]]
) -> tuple[list[TableRegion], list[Line]]:
    """Unruled tables of each strip's lines (a line belongs to the strip it overlaps most)."""
    by_strip: dict[int, list[Line]] = {}
    for line in lines:
        by_strip.setdefault(_band_of(line.bbox, strips), []).append(line)
    tables: list[TableRegion] = []
    kept: set[int] = set()
    for strip_lines in by_strip.values():
        found, left = _unruled_in(strip_lines)
        tables += found
        kept.update(id(ln) for ln in left)
    return tables, [ln for ln in lines if id(ln) in kept]


def _text_columns_crossed(
    table: TableRegion, lines: list[Line]
) -> list[tuple[float, float]] | None:
    """The text columns around a table when its rows join two columns of running text (a
    contents list beside a column of equations), else None."""
    line = table.members[0].bbox
    margin = AROUND_LINES * (line[3] - line[1])
    y0, y1 = table.bbox[1] - margin, table.bbox[3] + margin
    around = [ln for ln in lines if ln.bbox[3] > y0 and ln.bbox[1] < y1]
    columns = _bands([ln.bbox for ln in around])
    crossed = {_band_of(ln.bbox, columns) for ln in table.members}
    members = {id(ln) for ln in table.members}
    prose = {
        _band_of(ln.bbox, columns)
        for ln in around
        if id(ln) not in members and _words(ln.text) >= PROSE_WORDS
    }
    return columns if len(crossed & prose) >= 2 else None


def _unruled_in(lines: list[Line]) -> tuple[list[TableRegion], list[Line]]:
    """Unruled tables of a set of lines (a row of one short cell may sit inside a run)."""
    rows = _rows(lines)
    tables: list[TableRegion] = []
    used: set[int] = set()
    run: list[list[int]] = []
    for row in [*rows, []]:  # the empty sentinel row closes the last run
        inside = _is_cell_row(row, lines, 1 if run else 2)
        if inside and (not run or _follows(run, row, lines)):
            run.append(row)
            continue
        for lone_rows in (MAX_LONE_ROWS, 1):  # group labels inside, else a stricter end
            body = _body_ends(run, lines, lone_rows)
            region = _table_from_rows(body, lines)
            if region is not None:
                tables.append(region)
                used.update(i for r in body for i in r)
                break
        run = [row] if _is_cell_row(row, lines, 2) else []
    return tables, [ln for i, ln in enumerate(lines) if i not in used]


def _body_ends(run: list[list[int]], lines: list[Line], lone_rows: int) -> list[list[int]]:
    """The run up to its last row of ≥ 2 cells after the header, which alone has lone cells.

    Inside the body, a few lone cells just above a full row are group labels ("Outlays:",
    "Mandatory programs:") or the first lines of a wrapped cell; a lone cell tight under the
    last row is the end of its wrapped label.
    """
    if not run:
        return run
    most = max(len(r) for r in run)
    first_full = next(k for k, r in enumerate(run) if len(r) >= max(2, most - 1))
    end = first_full
    while end < len(run) and any(len(r) >= 2 for r in run[end : end + 1 + lone_rows]):
        end += 1
    if end < len(run) and len(run[end]) == 1:
        last, lone = lines[run[end - 1][-1]].bbox, lines[run[end][0]].bbox
        end += abs(mid_y(lone) - mid_y(last)) < last[3] - last[1]
    return run[:end]


def _rows(lines: list[Line]) -> list[list[int]]:
    """Line indices grouped into visual rows (shared baseline band), top to bottom."""
    rows: list[list[int]] = []
    for i in sorted(range(len(lines)), key=lambda i: mid_y(lines[i].bbox)):
        if rows:
            last = lines[rows[-1][0]].bbox
            if abs(mid_y(lines[i].bbox) - mid_y(last)) < 0.3 * (last[3] - last[1]):
                rows[-1].append(i)
                continue
        rows.append([i])
    return [sorted(r, key=lambda i: lines[i].bbox[0]) for r in rows]


def _is_cell_row(row: list[int], lines: list[Line], min_cells: int) -> bool:
    """Enough short cells (dot leaders are no words; the first cell may be a longer label)."""
    if len(row) < min_cells:
        return False
    counts = [_words(lines[i].text) for i in row]
    # One longer cell may be a row label (or a name) when the rest are short: figures, codes.
    figures = all(_is_figure(lines[i].text) for i in row[1:])
    longer_allowed = len(row) >= 3 or figures
    long_cells = [n for n in counts if n > MAX_CELL_WORDS]
    if not long_cells:
        return True
    return longer_allowed and len(long_cells) == 1 and long_cells[0] <= MAX_LABEL_WORDS


def _words(text: str) -> float:
    """Words of a line: spaced words ("IA/MN/NE", "1.35" are one each), and runs of CJK
    counted a word per two characters."""
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    return len(_WORD.findall(_CJK_RUN.sub(" ", text))) + cjk / CJK_WORD


def _is_figure(text: str) -> bool:
    """A number, amount or dash: mostly digits among its letters and digits."""
    alnum = [c for c in text if c.isalnum()]
    return text.strip() in "–—-" or sum(c.isdigit() for c in alnum) > 0.5 * len(alnum)


def _follows(run: list[list[int]], row: list[int], lines: list[Line]) -> bool:
    """Whether `row` sits just below the run; a row with as many cells as the last, or a
    body under a lone header row of short labels (years, column names), may stand further
    apart."""
    above = max(lines[i].bbox[3] for i in run[-1])
    below = min(lines[i].bbox[1] for i in row)
    height = lines[row[0]].bbox[3] - lines[row[0]].bbox[1]
    if below - above < 1.5 * height:
        return True
    if len(row) >= 3 and len(run[-1]) == len(row) and below - above < SPACED_ROWS * height:
        return True  # rows of as many cells, set apart: a table with airy rows
    header = len(run) == 1 and len(run[0]) >= 3
    labels = all(_words(lines[i].text) <= 2 for i in run[0])
    return header and labels and below - above < HEADER_GAP * height


def _table_from_rows(rows: list[list[int]], lines: list[Line]) -> TableRegion | None:
    """A grid whose columns are the bands of its fullest rows; rows above them form the header.

    Header lines sit in the column they overlap most; several header rows (a header wrapped
    over lines, a spanning group label) merge into one header row per column.
    """
    if len(rows) < MIN_TABLE_ROWS:
        return None
    most = max(len(r) for r in rows)
    full = [r for r in rows if len(r) >= max(2, most - 1)]
    bands = _bands([lines[i].bbox for r in full for i in r], len(full))
    if len(bands) < 2:
        return None
    first_full = next(k for k, r in enumerate(rows) if len(r) >= max(2, most - 1))
    grid: list[list[str]] = []
    for row in rows:
        texts = [""] * len(bands)
        for i in row:
            band = _band_of(lines[i].bbox, bands)
            texts[band] = f"{texts[band]} {cell_text(lines[i].text)}".strip()
        grid.append(texts)
    header = [" ".join(t for t in column if t) for column in zip(*grid[:first_full], strict=True)]
    middles = [mid_y(union([lines[i].bbox for i in row])) for row in rows]
    height = lines[rows[first_full][0]].bbox[3] - lines[rows[first_full][0]].bbox[1]
    body = _centred_labels_merged(grid[first_full:], middles[first_full:], height)
    body = _wrapped_cells_merged(body)
    if header and any(header):
        body = [header, *body]
    elif all(lines[i].bold for i in rows[0]):
        header = body[0]
    if sum(1 for row in body if sum(1 for t in row if t) >= 2) < MIN_FULL_ROWS * len(body):
        return None  # mostly lone cells: an address block beside a date, not a grid
    table = Table.from_rows(body, header_rows=int(bool(header and any(header))))
    if not is_real_table(table):
        return None
    members = [lines[i] for r in rows for i in r]
    return TableRegion(
        union([ln.bbox for ln in members]),
        union([ln.page_bbox for ln in members]),
        table,
        members[0].frame,
        members,
    )


def _centred_labels_merged(
    grid: list[list[str]], middles: list[float], height: float
) -> list[list[str]]:
    """A row label wrapped over two lines, with the row's figures set midway between them:
    the label's lines (rows of a lone first cell just above and below) join that row."""
    merged = [list(row) for row in grid]
    taken: set[int] = set()
    for k, row in enumerate(grid):
        if row[0] or sum(1 for t in row if t) < 2:
            continue
        for near in (k - 1, k + 1):
            lone = 0 <= near < len(grid) and near not in taken and _lone_label(grid[near])
            if lone and abs(middles[near] - middles[k]) < height:
                merged[k][0] = f"{merged[k][0]} {grid[near][0]}".strip()
                taken.add(near)
    return [row for k, row in enumerate(merged) if k not in taken]


def _lone_label(row: list[str]) -> bool:
    return bool(row[0]) and not any(row[1:])


def _wrapped_cells_merged(grid: list[list[str]]) -> list[list[str]]:
    """Rows of one filled cell joined to the row below: the first line(s) of a wrapped cell."""
    merged: list[list[str]] = []
    carry: list[str] | None = None
    for row in grid:
        if carry is not None:
            row = [f"{a} {b}".strip() for a, b in zip(carry, row, strict=True)]
            carry = None
        filled = [k for k, t in enumerate(row) if t]
        below = grid.index(row) + 1 if row in grid else len(grid)
        if len(filled) == 1 and below < len(grid) and grid[below][filled[0]]:
            carry = row
            continue
        merged.append(row)
    return merged


def _band_of(box: BBox, bands: list[tuple[float, float]]) -> int:
    """The band a box overlaps most (the nearest one when it overlaps none)."""

    def score(k: int) -> float:
        x0, x1 = bands[k]
        overlap = min(box[2], x1) - max(box[0], x0)
        return overlap if overlap > 0 else -min(abs(box[0] - x1), abs(box[2] - x0))

    return max(range(len(bands)), key=score)


def _bands(boxes: list[BBox], rows: int = 1) -> list[tuple[float, float]]:
    """Column bands, left to right: where the boxes of more than a few of `rows` rows lie.

    A cell that strays over a gutter in one or two rows (dot leaders, a wide note) does not
    join two columns of a long table into one.
    """
    stray = int(STRAY_ROWS * rows)
    edges = sorted([(b[0], 1) for b in boxes] + [(b[2], -1) for b in boxes])
    bands: list[list[float]] = []
    covering = 0
    for x, step in edges:
        before, covering = covering, covering + step
        if before <= stray < covering:
            if bands and x <= bands[-1][1]:
                continue
            bands.append([x, x])
        elif covering <= stray < before:
            bands[-1][1] = x
    return [(b[0], b[1]) for b in bands]


def table_text(table: Table) -> str:
    return "\n".join(" ".join(c for c in row if c) for row in table.rows())
