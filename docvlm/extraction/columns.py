"""A table's column under its header: whether a printed label heads one, and the column's cells
top to bottom, up to the table's end.

A label heads a table's column where the first row under it is a table's row: cells sit under
the other headings of the label's row too, not only under the label.
"""

from __future__ import annotations

from collections.abc import Callable

from docvlm.extraction.neighbours import BELOW_LINES, band_of, page_segments, stacked
from docvlm.extraction.values import has_digit
from docvlm.extraction.words import PageWords, Segment

SLACK = 1.2  # header heights a cell's centre may sit past the header's ends
COLUMN_GAP = 2.0  # line heights between one cell of a table's column and the next
BRIDGED_ROWS = 2  # table rows' spacings a column's cell may lie down past its blank rows
MAX_COLUMN_CELLS = 30
MIN_HEADINGS = 2  # the header and another heading on its row
ROW_HEADERS_GAP = 3.5  # line heights between one row header and the next down a table's side
ROW_ALIGN = 0.6  # line heights the row headers down a table's side start apart
UNITS_ROW = 2  # characters of a cell between a header and its table's first row ("%", "$")


def in_column(cell: Segment, header: Segment) -> bool:
    """Whether `cell` sits in the column `header` heads: its centre under the header, give or
    take a line height, its start aligned with the header's, or it spans half the header or
    more (a text column with the header centred over it)."""
    slack = SLACK * header.height
    overlap = min(cell.bbox[2], header.bbox[2]) - max(cell.bbox[0], header.bbox[0])
    return (
        header.bbox[0] - slack <= _middle(cell) <= header.bbox[2] + slack
        or abs(cell.bbox[0] - header.bbox[0]) <= slack
        or overlap >= 0.5 * (header.bbox[2] - header.bbox[0])
    )


def heads_table(page: PageWords, header: Segment, stops: Callable[[Segment], bool]) -> bool:
    """Whether `header` heads a table's column: its row is of words, and the first segment
    under it is no stop (a label under a label is a row of label–value pairs) and sits on a
    table's row, with figures under another of the row's headings."""
    segments = page_segments(page)
    headings = _headings(page, header)
    if len(headings) < MIN_HEADINGS or any(has_digit(s.text) for s in headings):
        return False
    if row_headed_cells(page, header, stops):
        return True
    first = first_cell(page, header)
    if first is None or stops(first):
        return False
    row = [s for s in band_of(segments, first) if all(s is not h for h in headings)]
    return _table_row(first, row, headings)


def _headings(page: PageWords, header: Segment) -> list[Segment]:
    """`header` and the other headings of its row: its band's segments but those starting
    below its middle (the first row's cells, where the rows sit close or the scan is
    skewed) and characters stacked one a line (a number stamped down the margin)."""
    middle = (header.bbox[1] + header.bbox[3]) / 2
    return [
        header,
        *(
            s
            for s in band_of(page_segments(page), header)
            if s.bbox[1] < middle and not (len(s.text.strip()) <= 2 and stacked(page, s))
        ),
    ]


def first_cell(
    page: PageWords, header: Segment, labels: Callable[[Segment], bool] | None = None
) -> Segment | None:
    """The first cell under `header` in its column, past a gloss in brackets ("(Mg/Cigt)"),
    as far down as a value under a label, or the first on a row its table's row headers head
    (see `row_headed_cells`, rows headed by `labels`)."""
    rows = row_headed_cells(page, header, labels)
    if rows:
        return rows[0]
    segments = page_segments(page)
    cell = _next_cell(segments, header, header, BELOW_LINES)
    return _past_gloss(segments, header, cell) if cell is not None else down_the_table(page, header)


def down_the_table(page: PageWords, header: Segment) -> Segment | None:
    """The first cell under `header` further down than a value under a label, past lines of
    text one a row, printed under the other headings of its row (a description's lines over
    the first priced item), each no further than a table row's spacing under the one before:
    where it opens with figures (an amount, a count) on a row of the table. Figures or a row
    of several cells passed (sub-headings) say the table's rows began above."""
    segments = page_segments(page)
    if _next_cell(segments, header, header, BELOW_LINES) is not None:
        return None
    span = _span(_headings(page, header))
    under = [s for s in segments if s.bbox[1] >= header.bbox[3] and in_column(s, header)]
    cell = min(under, key=lambda s: s.bbox[1], default=None)
    if cell is None or not opens_with_figures(cell.text) or not _on_table_row(segments, cell, span):
        return None
    row = band_of(segments, cell)
    passed = [
        s
        for s in segments
        if header.bbox[3] < s.bbox[1] < cell.bbox[1]
        and _within(s, span)
        and all(s is not r for r in row)
    ]
    if any(has_digit(s.text) or band_of(passed, s) for s in passed):
        return None
    reach = COLUMN_GAP * max(header.height, cell.height)
    return cell if _filled_down(segments, header.bbox[3], cell, reach, span) else None


def heads_row_headers(page: PageWords, header: Segment, stops: Callable[[Segment], bool]) -> bool:
    """Whether `header` heads a table's column of row headers: two cells of figures or more
    under it, down to a stop or words, each first on its line and heading a row of two
    figure cells or more ("2-AMINOANTHRACENE" over "4.0 | .72 | 3.07", "2.0 | 1.24 | 2.86":
    doses and their results)."""
    segments = page_segments(page)
    cells: list[Segment] = []
    cell = first_cell(page, header)
    while cell is not None and not stops(cell) and figures(cell.text):
        cells.append(cell)
        if len(cells) == MAX_COLUMN_CELLS:
            break
        cell = _next_cell(segments, header, cell)
    return len(cells) >= MIN_HEADINGS and all(_heads_row(segments, c) for c in cells)


def _heads_row(segments: list[Segment], cell: Segment) -> bool:
    band = band_of(segments, cell)
    after = [s for s in band if s.bbox[0] >= cell.bbox[2]]
    first = len(after) == len(band)
    return first and len(after) >= MIN_HEADINGS and all(figures(s.text) for s in after)


def _table_row(first: Segment, row: list[Segment], headings: list[Segment]) -> bool:
    """Whether `first`, the cell under the header (`headings[0]`), and the rest of its `row`
    read as a table's row under `headings`: no other cell under the header, one opening with
    figures under another heading, and, left to right, no words after the first figures (a
    row's own heading comes first). Label–value pairs side by side alternate words and
    figures."""
    header = headings[0]
    under = [(cell, _heading_of(cell, headings)) for cell in row]
    cells = sorted(
        [(first, header), *((c, h) for c, h in under if h is not None)],
        key=lambda pair: pair[0].bbox[0],
    )
    if sum(heading is header for _, heading in cells) > 1:
        return False  # a heading over several columns: which are its answer is a guess
    kinds = [opens_with_figures(cell.text) for cell, _ in cells]
    if True in kinds and not all(kinds[kinds.index(True) :]):
        return False
    return any(
        kind and heading is not header for (_, heading), kind in zip(cells, kinds, strict=True)
    )


def column_cells(
    page: PageWords, header: Segment, first: Segment, stops: Callable[[Segment], bool]
) -> list[Segment]:
    """The column `header` heads from `first` down (from under `first` where it is the
    header's gloss: "(Mg/Cigt)"): each the next segment down in its column, no further than a
    table row's spacing (further is a blank gap), until a stop (a label, a widget, a check
    box) or the table's end: a cell of another kind (words after figures, or figures after
    words), or a row of words where the table's first row has figures (the next table's
    header row)."""
    rows = row_headed_cells(page, header, stops)
    if rows:
        return rows
    segments = page_segments(page)
    under = _past_gloss(segments, header, first)
    first = under if under is not None and not stops(under) else first
    headings = _headings(page, header)
    figured = _figured(headings, [first, *band_of(segments, first)])
    cells = [first]
    while len(cells) < MAX_COLUMN_CELLS:
        nearest = _next_cell(segments, header, cells[-1], span=_span(headings))
        if nearest is None or stops(nearest) or _past_table(segments, cells, nearest, figured):
            break
        cells.append(nearest)
    return cells


def row_headed_cells(
    page: PageWords,
    header: Segment,
    labels: Callable[[Segment], bool] | None = None,
    alone: bool = True,
) -> list[Segment]:
    """The cells of `header`'s column in a table whose rows are headed at its left ("SEX:",
    "Male", "Female", ...): on each row header's row, the one segment under `header`, blank
    rows (an empty row, a group's heading) passed over, down to the last row header. Empty
    unless `header` has another heading of words on its row, its column holds two or more
    cells (or one of figures, unless `alone` is false, where another heading's column of
    the row is such a table's over rows around it: see `_in_table_beside`; one of words is
    as often a signature OCR garbles), all figures or else on rows one after another, each
    headed by one of `labels`, nothing in it lies between the rows, nothing of a row's
    other cells under the header, no row of two cells or more blank in it but filled in
    the column beside (a cell OCR dropped), and over the first row at most a units row
    ("%"). The header's own wording may hold a figure ("PM6 SCORES")."""
    headings = _headings(page, header)
    if len(headings) < MIN_HEADINGS or figures(header.text):
        return []
    if any(has_digit(s.text) for s in headings[1:]):
        return []
    segments = page_segments(page)
    rows = _row_headers(segments, headings)
    column = [s for s in _column(segments, header, headings) if all(s is not r for r in rows)]
    placed = [(s, _row_of(s, rows)) for s in column]
    cells = sorted((s for s, row in placed if row is not None), key=lambda s: s.bbox[1])
    filled = {id(row) for _, row in placed if row is not None}
    if not cells or len(filled) < len(cells):
        return []  # two cells on a row: the header spans several columns
    if len(cells) < MIN_HEADINGS and not (
        alone
        and figures(cells[0].text)
        and _in_table_beside(page, headings, rows, cells[0], labels)
    ):
        return []
    if _spans_more(segments, header, cells):
        return []  # the header spans the next cell of a row too: a heading over columns
    beside = _row_ids(segments, _beside(header, headings), headings, rows)
    if len(cells) > 1 and beside - filled:
        return []
    if not all(figures(s.text) for s in cells) and not _labelled_rows(rows, filled, labels):
        return []  # words, or words and figures: only on labelled rows
    outside = [s for s, row in placed if row is None]
    return [] if _off_rows(segments, header, cells, outside) else cells


def _in_table_beside(
    page: PageWords,
    headings: list[Segment],
    rows: list[Segment],
    cell: Segment,
    labels: Callable[[Segment], bool] | None,
) -> bool:
    """Whether `cell`, alone in its column, lies on a row from the first to the last of a
    row-headed column of two cells or more under another of `headings` (a date signed on one
    row of a table of names: a table's cell wherever it is printed)."""
    order = {id(row): index for index, row in enumerate(rows)}
    row = _row_of(cell, rows)
    for heading in headings[1:]:
        beside = row_headed_cells(page, heading, labels, alone=False)
        spanned = [order[id(_row_of(s, rows))] for s in beside]
        if spanned and row is not None and min(spanned) <= order[id(row)] <= max(spanned):
            return True
    return False


def _spans_more(segments: list[Segment], header: Segment, cells: list[Segment]) -> bool:
    """Whether a segment beside one of `cells` on its row, not a cell itself, reaches under
    `header`."""
    beside = (s for c in cells for s in band_of(segments, c) if all(s is not c for c in cells))
    return any(_spans_overlap(s, header) for s in beside)


def _off_rows(
    segments: list[Segment], header: Segment, cells: list[Segment], outside: list[Segment]
) -> bool:
    """Whether the column under `header` holds more than its `cells` on the table's rows:
    a segment on no row (`outside`) among them or over them, other than a units row ("%"),
    or a cell of their kind just under the last (a row whose header was not read)."""
    top, bottom = cells[0].bbox[1], max(s.bbox[3] for s in cells)
    between = [s for s in outside if s.bbox[1] < bottom]
    if any(s.bbox[1] > top or sum(c.isalnum() for c in s.text) > UNITS_ROW for s in between):
        return True
    after = _next_cell(segments, header, cells[-1])
    return after is not None and figures(after.text) == figures(cells[0].text)


def _labelled_rows(
    rows: list[Segment], filled: set[int], labels: Callable[[Segment], bool] | None
) -> bool:
    """Whether a column of words fills `rows` one after another, with no blank row between
    (past one is the next section's), each headed by a label (a code is the cell's part)."""
    spanned = [i for i, row in enumerate(rows) if id(row) in filled]
    if len(spanned) <= spanned[-1] - spanned[0]:
        return False
    return labels is not None and all(labels(rows[i]) for i in spanned)


def _column(segments: list[Segment], header: Segment, headings: list[Segment]) -> list[Segment]:
    """The segments under `header` in its column, right of the table's row headers."""
    start = _span(headings)[0]
    return [
        s
        for s in segments
        if s.bbox[1] > header.bbox[3] - 0.3 * header.height
        and in_column(s, header)
        and _middle(s) > start
    ]


def _beside(header: Segment, headings: list[Segment]) -> Segment:
    """The heading nearest `header` across its row, on either side (its pair: "SCORE | BASE")."""
    others = [h for h in headings if h is not header]
    return min(others, key=lambda h: max(h.bbox[0] - header.bbox[2], header.bbox[0] - h.bbox[2]))


def _row_ids(
    segments: list[Segment], header: Segment, headings: list[Segment], rows: list[Segment]
) -> set[int]:
    """The ids of the `rows` with a cell in `header`'s column."""
    placed = (_row_of(s, rows) for s in _column(segments, header, headings))
    return {id(row) for row in placed if row is not None}


def _row_of(cell: Segment, rows: list[Segment]) -> Segment | None:
    """The row header whose band holds `cell`, the nearest of several (rows printed close)."""
    holding = [row for row in rows if band_of([cell], row)]
    return min(holding, key=lambda row: abs(_centre(row) - _centre(cell)), default=None)


def _row_headers(segments: list[Segment], headings: list[Segment]) -> list[Segment]:
    """The row headers down the left of the table `headings` head, top to bottom: segments
    starting where the first under the headings' row starts (give or take a little: a
    footer's note starts elsewhere), left of the headings, each no further under the one
    before than a few line heights (further is past the table), above the headings printed
    again (the next table's header row). A label's lines printed above it (`lead`: one
    joined to its wrapped start) head rows too. Where nothing is printed left of the
    headings, the first heading, ending in a colon, may head the rows itself ("INITIAL
    MATERIALS REQUIRED: | Qty In Units | Dollar Cost"): its rows are under it, up to a
    heading printed in capitals as it is (the next section's)."""
    start, top = _span(headings)[0], max(h.bbox[3] for h in headings)
    height = headings[0].height
    lines = [line for s in segments for line in (*s.lead, s)]
    below = [s for s in lines if s.bbox[1] > top - 0.3 * height]
    left = [s for s in below if _middle(s) < start]
    ends = [s.bbox[1] for s in segments if s.text in {h.text for h in headings} and s.bbox[1] > top]
    heads = min(headings, key=lambda h: h.bbox[0])
    if not left and heads.text.endswith(":") and len(headings) > MIN_HEADINGS:
        start = _span([h for h in headings if h is not heads])[0]
        left = [s for s in below if _middle(s) < start]
        ends += [s.bbox[1] for s in left if heads.text.isupper() and s.text.isupper()]
    left = [s for s in left if s.bbox[3] < min(ends, default=float("inf"))]
    rows: list[Segment] = []
    bottom = top
    for segment in sorted(left, key=lambda s: s.bbox[1]):
        if segment.bbox[1] - bottom > ROW_HEADERS_GAP * (rows[-1] if rows else headings[0]).height:
            break
        if not rows or abs(segment.bbox[0] - rows[0].bbox[0]) <= ROW_ALIGN * rows[0].height:
            rows.append(segment)
            bottom = max(bottom, segment.bbox[3])
    return rows


def table_row(page: PageWords, header: Segment, cells: list[Segment]) -> bool:
    """Whether `cells`, read right of `header` on its line, are a table's row: two or more,
    all figures or all words, each with a cell of its kind just above or below it in its
    column, `header` in a column of row headers, and every cell of that kind of the rows next
    to it, across the row's span, over or under one of `cells` (else a cell is missing: OCR
    dropped it, or the row goes on)."""
    if len(cells) < MIN_HEADINGS:
        return False
    kind = figures(cells[0].text)
    if not all(figures(c.text) == kind for c in cells):
        return False
    segments = page_segments(page)
    row = [header, *cells, *band_of(segments, cells[0])]
    if not _next_lines(segments, header, row):
        return False
    around = [_next_lines(segments, cell, row) for cell in cells]
    for cell, lines in zip(cells, around, strict=True):
        if not any(
            figures(s.text) == kind and _spans_overlap(s, cell) for line in lines for s in line
        ):
            return False
    start, end = header.bbox[2], cells[-1].bbox[2]
    spanned = [
        [
            s
            for s in line
            if figures(s.text) == kind
            and start <= _middle(s) <= end
            and not _spans_overlap(s, header)  # the next row's header
        ]
        for lines in around
        for line in lines
    ]
    return all(
        any(_spans_overlap(s, c) for c in cells)
        for line in spanned
        if len(line) >= MIN_HEADINGS  # a row of cells, not a heading's ("Last 12 Samples")
        for s in line
    )


def over_several(page: PageWords, header: Segment, cell: Segment) -> bool:
    """Whether `header` spans several cells of `cell`'s row: a heading over several columns,
    whose answer is not one of them."""
    row = [cell, *band_of(page_segments(page), cell)]
    return sum(in_column(s, header) for s in row) > 1


def cut_short(page: PageWords, header: Segment, cells: list[Segment]) -> bool:
    """Whether figures go on in `header`'s column past a blank gap under its `cells` (a
    few rows down, as a table's next section would): the column read is a part of it."""
    last = max(cells, key=lambda s: s.bbox[3])
    after = _next_cell(page_segments(page), header, last, BRIDGED_ROWS * COLUMN_GAP)
    return after is not None and figures(after.text) and opens_with_figures(after.text)


def _next_lines(segments: list[Segment], cell: Segment, row: list[Segment]) -> list[list[Segment]]:
    """The lines just above and just below `cell`'s row (no further than a table row's
    spacing) with a segment over or under it."""
    gap = COLUMN_GAP * cell.height
    near = [
        s
        for s in segments
        if all(s is not r for r in row)
        and (
            -0.3 * cell.height <= s.bbox[1] - cell.bbox[3] <= gap
            or -0.3 * cell.height <= cell.bbox[1] - s.bbox[3] <= gap
        )
    ]
    return [band_of(near, s) + [s] for s in near if _spans_overlap(s, cell)]


def _spans_overlap(one: Segment, other: Segment) -> bool:
    return one.bbox[0] < other.bbox[2] and other.bbox[0] < one.bbox[2]


def _past_table(
    segments: list[Segment], cells: list[Segment], cell: Segment, figured: list[Segment]
) -> bool:
    """Whether `cell`, the next one under the column's `cells`, is past the table's end:
    opening unlike the first (words after figures, or figures after words), or on a row with
    words under a heading that has figures under it on the table's first row (`figured`)."""
    if opens_with_figures(cell.text) != opens_with_figures(cells[0].text):
        return True
    return bool(_figured(figured, band_of(segments, cell), words=True))


def _figured(headings: list[Segment], row: list[Segment], words: bool = False) -> list[Segment]:
    """The headings with a cell of figures (or, with `words`, of words) in `row` under them."""
    return [
        h
        for h in headings
        if any(
            figures(s.text) != words and s.bbox[0] < h.bbox[2] and h.bbox[0] < s.bbox[2]
            for s in row
        )
    ]


def _past_gloss(segments: list[Segment], header: Segment, cell: Segment | None) -> Segment | None:
    """`cell`, or the cell under it where it is the header's gloss in brackets ("(Mg/Cigt)")."""
    if cell is None or not cell.text.startswith("("):
        return cell
    return _next_cell(segments, header, cell)


def _next_cell(
    segments: list[Segment],
    header: Segment,
    previous: Segment,
    gap: float = COLUMN_GAP,
    span: tuple[float, float] | None = None,
) -> Segment | None:
    """The nearest segment under `previous` in `header`'s column, no further than `gap`
    line heights (a table row's spacing): of the header's print or the cell's, the larger (a
    heading is often printed smaller than the entries typed under it). Within a table's
    `span` across, rows with cells in other columns only (a blank row of this one, another
    cell's wrapped line) bridge the gap to a cell on a row of the table."""
    top = previous.bbox[3] - 0.3 * previous.height
    under = [s for s in segments if s.bbox[1] >= top and s is not previous and in_column(s, header)]
    if not under:
        return None
    nearest = min(under, key=lambda s: s.bbox[1])
    reach = gap * max(header.height, nearest.height)
    if nearest.bbox[1] - previous.bbox[3] <= reach:
        return nearest
    if span is None or not _bridged(segments, previous, nearest, reach, span):
        return None
    return nearest


def _bridged(
    segments: list[Segment],
    previous: Segment,
    cell: Segment,
    reach: float,
    span: tuple[float, float],
) -> bool:
    """Whether rows of the table's other columns (within its `span` across) fill the gap
    between `previous` and `cell`, each no further than `reach` from the one before, over
    no more than `BRIDGED_ROWS` reaches in all, and `cell` sits on a row of the table (a note
    or a stamp past the table does not)."""
    if cell.bbox[1] - previous.bbox[3] > BRIDGED_ROWS * reach:
        return False
    if not _on_table_row(segments, cell, span):
        return False
    return _filled_down(segments, previous.bbox[3], cell, reach, span)


def _filled_down(
    segments: list[Segment],
    bottom: float,
    cell: Segment,
    reach: float,
    span: tuple[float, float],
) -> bool:
    """Whether rows within the table's `span` across fill the gap from `bottom` down to
    `cell`, each no further than `reach` under the one before."""
    between = [s for s in segments if bottom < s.bbox[1] < cell.bbox[1] and _within(s, span)]
    for row in sorted(between, key=lambda s: s.bbox[1]):
        if row.bbox[1] - bottom > reach:
            break
        bottom = max(bottom, row.bbox[3])
    return cell.bbox[1] - bottom <= reach


def _on_table_row(segments: list[Segment], cell: Segment, span: tuple[float, float]) -> bool:
    return any(s is not cell and _within(s, span) for s in band_of(segments, cell))


def _span(headings: list[Segment]) -> tuple[float, float]:
    return min(h.bbox[0] for h in headings), max(h.bbox[2] for h in headings)


def _within(segment: Segment, span: tuple[float, float]) -> bool:
    return span[0] < segment.bbox[2] and segment.bbox[0] < span[1]


def _heading_of(cell: Segment, headings: list[Segment]) -> Segment | None:
    """The heading whose column `cell`'s centre falls in: the nearest whose span, widened by
    the slack, holds it."""
    middle = _middle(cell)
    holding = [
        h
        for h in headings
        if h.bbox[0] - SLACK * h.height <= middle <= h.bbox[2] + SLACK * h.height
    ]
    return min(holding, key=lambda h: abs(_middle(h) - middle), default=None)


def figures(text: str) -> bool:
    """Mostly digits ("$33,675 ±10% Est."): an amount or a count, not words."""
    digits = sum(c.isdigit() for c in text)
    return digits >= 0.5 * sum(c.isalnum() for c in text)


def opens_with_figures(text: str) -> bool:
    """Whether `text` opens with a digit ("30 sheet Posters", "(31,000.00)"), not a word
    ("Emro (411-07)"): a table's cells of one column open alike."""
    return next((c.isdigit() for c in text if c.isalnum()), False)


def _centre(segment: Segment) -> float:
    return (segment.bbox[1] + segment.bbox[3]) / 2


def _middle(segment: Segment) -> float:
    return (segment.bbox[0] + segment.bbox[2]) / 2
