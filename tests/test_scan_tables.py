"""Tables on scans (docvlm/engines/ocr_tables.py): which grid a table region is read with."""

from __future__ import annotations

from PIL import Image, ImageDraw

from docvlm.document import BlockType
from docvlm.engines.ocr_layout import OCRLine, OCRWord, lines_to_blocks
from docvlm.engines.ocr_tables import read_table
from docvlm.layout.regions import Region

COLUMN_X = (20, 160, 320, 460, 620, 760)  # six columns of one word each
ROW_HEIGHT, ROWS = 40, 8


def _table_page(rule_x: tuple[int, ...]) -> tuple[Image.Image, list[OCRLine]]:
    """A ruled box with a rule under every row and vertical rules at `rule_x`, holding six
    unruled columns of words (drawn, and given as OCR lines)."""
    page = Image.new("RGB", (900, 60 + ROWS * ROW_HEIGHT), "white")
    draw = ImageDraw.Draw(page)
    left, top, right, bottom = 10, 20, 880, 20 + ROWS * ROW_HEIGHT
    draw.rectangle((left, top, right, bottom), outline="black", width=2)
    for r in range(1, ROWS):
        draw.line((left, top + r * ROW_HEIGHT, right, top + r * ROW_HEIGHT), fill="black", width=2)
    for x in rule_x:
        draw.line((x, top, x, bottom), fill="black", width=2)
    lines = []
    for r in range(ROWS):
        y = top + r * ROW_HEIGHT + 12
        words = []
        for c, x in enumerate(COLUMN_X):
            text = f"r{r}c{c}"
            draw.text((x + 10, y), text, fill="black")
            words.append(OCRWord(text, (x + 10, y, x + 70, y + 14), 0.9, 14))
        lines.append(OCRLine(" ".join(w.text for w in words), words[0].bbox, 0.9, tuple(words), 14))
    return page, lines


def test_a_ruled_grid_that_lumps_columns_gives_way_to_the_white_gaps() -> None:
    """Rules found around rows but only every other column (faint rules of a scan): each
    ruled cell would hold two columns' words; the gutters between them cut the table."""
    page, lines = _table_page(rule_x=(300, 600))
    found = read_table(page, (10, 20, 880, 20 + ROWS * ROW_HEIGHT), lines)
    assert found is not None
    table = found[0]
    assert table.num_cols == len(COLUMN_X)
    assert {cell.text for cell in table.cells} >= {"r0c0", "r0c1", "r7c5"}


def test_a_ruled_grid_that_agrees_with_the_gutters_is_kept() -> None:
    """Rules between every column: the ruled grid is the table's own (its rows and columns)."""
    page, lines = _table_page(rule_x=(150, 310, 450, 610, 750))
    table = read_table(page, (10, 20, 880, 20 + ROWS * ROW_HEIGHT), lines)[0]
    assert (table.num_rows, table.num_cols) == (ROWS, len(COLUMN_X))
    assert [cell.text for cell in table.cells if cell.row == 3] == [
        f"r3c{c}" for c in range(len(COLUMN_X))
    ]


def test_a_table_also_called_a_figure_is_read_as_a_table() -> None:
    """The layout model calls a table of numbers a figure too, over the same box and scored
    higher: the table still gets its lines, and its cells."""
    page, lines = _table_page(rule_x=(150, 310, 450, 610, 750))
    box = (10.0, 20.0, 880.0, 20.0 + ROWS * ROW_HEIGHT)
    regions = [Region("figure", box, 0.9), Region("table", box, 0.6)]
    blocks = lines_to_blocks(lines, 1, regions=regions, image=page)
    tables = [block.table for block in blocks if block.type == BlockType.TABLE]
    assert len(tables) == 1 and tables[0].num_cols == len(COLUMN_X)
    assert "r5c2" in {cell.text for cell in tables[0].cells}


def test_text_set_in_vertical_columns_is_not_searched_for_a_table(monkeypatch) -> None:
    """A "figure" over CJK columns is not a table on a shaded ground: no grid is searched
    for (the search assumes rows); the same share of text in rows is searched."""
    from docvlm.engines import ocr_tables

    searched = []
    monkeypatch.setattr(ocr_tables, "read_table", lambda *args: searched.append(args) or None)
    page = Image.new("RGB", (1000, 1000), "white")
    figure = [Region("figure", (0.0, 0.0, 1000.0, 1000.0), 0.9)]
    columns = [
        OCRLine("吾輩は猫である名前", (90 * c, 100, 90 * c + 40, 900), 0.9) for c in range(9)
    ]
    rows = [
        OCRLine("a line of text here", (100, 100 * r, 900, 100 * r + 40), 0.9) for r in range(9)
    ]
    lines_to_blocks(columns, 1, regions=figure, image=page)
    assert searched == []
    lines_to_blocks(rows, 1, regions=figure, image=page)
    assert len(searched) == 1


def _receipt_lines() -> list[OCRLine]:
    """A till receipt's lines: centred name and address, items, and right-aligned amounts."""
    texts = ["HARBOUR BOOKS LIMITED", "12 STATION ROAD,", "YORK YO1 7HH", "TAX INVOICE",
             "Date: 14/11/2017 Time: 11:09", "CASHIER: ANN", "PVC HOSE 3/4", "3 x 34.96 104.88",
             "SAFETY GOGGLE", "1 x 42.74 42.74"]  # fmt: skip
    lines = []
    for row, text in enumerate(texts):
        width = 14.0 * len(text)
        x = (640 - width) / 2 if row < 4 else 20.0
        lines.append(_line([(text, x)], 30 + 34 * row, width))
    for row, (label, amount) in enumerate([("SUB-TOTAL", "147.62"), ("TOTAL", "147.60"),
                                           ("CASH", "150.00"), ("CHANGE", "2.40")]):  # fmt: skip
        lines.append(_line([(label, 20.0), (amount, 520.0)], 30 + 34 * (row + 11), 0.0))
    return lines


def _line(pieces: list[tuple[str, float]], y: float, width: float) -> OCRLine:
    """One line of words; each piece starts at its x (a piece's width: 14 px a character, or
    `width` for a lone piece)."""
    words = []
    for text, x in pieces:
        step = width / len(text.split()) if width and len(pieces) == 1 else 14.0 * len(text)
        for i, word in enumerate(text.split()):
            left = x + i * step
            words.append(OCRWord(word, (left, y, left + 14.0 * len(word), y + 20), 0.95, 20))
    box = (words[0].bbox[0], y, max(w.bbox[2] for w in words), y + 20)
    return OCRLine(" ".join(w.text for w in words), box, 0.95, tuple(words), 20)


def test_a_receipt_the_layout_model_takes_for_one_figure_is_read_as_lines_of_text() -> None:
    """The CDLA model calls a till receipt one figure (or table) over the whole page: its
    stacked lines are text, not a figure that swallows the unsure ones, and its few aligned
    amounts make no table; each amount row and centred line stands alone."""
    page = Image.new("RGB", (640, 560), "white")
    lines = _receipt_lines()
    for kind in ("figure", "table"):
        regions = [Region(kind, (10.0, 20.0, 630.0, 540.0), 0.9)]
        blocks = lines_to_blocks(lines, 1, regions=regions, image=page)
        assert {block.type for block in blocks} == {BlockType.PARAGRAPH}
        texts = [block.text for block in blocks]
        assert texts[:2] == ["HARBOUR BOOKS LIMITED", "12 STATION ROAD,"]
        assert not any("INVOICE" in text and "Date" in text for text in texts)
        assert "PVC HOSE 3/4" in texts
        assert texts[-4:] == ["SUB-TOTAL 147.62", "TOTAL 147.60", "CASH 150.00", "CHANGE 2.40"]


def test_a_charts_tick_labels_leave_it_a_figure() -> None:
    page = Image.new("RGB", (640, 560), "white")
    ticks = [_line([(str(10 * row), 20.0)], 30 + 50 * row, 0.0) for row in range(10)]
    blocks = lines_to_blocks(ticks, 1, regions=[Region("figure", (10.0, 20.0, 630.0, 540.0), 0.9)],
                             image=page)  # fmt: skip
    assert [block.type for block in blocks].count(BlockType.FIGURE) == 1


def _form_lines(unsure: float) -> list[OCRLine]:
    """A sparse scanned form: nine labels read surely, each with a typed answer read at
    `unsure` beside it, rows far apart."""
    lines = []
    for row in range(9):
        y = 60 + 100 * row
        label = OCRWord("PROJECT", (40, y, 160, y + 14), 0.95, 14)
        code = OCRWord("CODE", (170, y, 240, y + 14), 0.95, 14)
        lines.append(OCRLine("PROJECT CODE", (40, y, 240, y + 14), 0.95, (label, code), 14))
        answer = OCRWord(f"BULL{row}", (300, y, 420, y + 14), unsure, 14)
        lines.append(OCRLine(f"BULL{row}", answer.bbox, unsure, (answer,), 14))
    return lines


def test_a_page_sized_figure_holding_a_forms_rows_keeps_its_unsure_answers_as_text() -> None:
    """The layout model takes a sparse scanned form for one figure: its labels are read
    surely, its typed answers less so, and they stay text; a small figure still takes the
    unsure lines under it (OCR's reading of a drawing)."""
    page = Image.new("RGB", (760, 1000), "white")
    whole = [Region("figure", (0.0, 0.0, 700.0, 990.0), 0.9)]
    texts = " ".join(block.text for block in lines_to_blocks(_form_lines(0.6), 1, regions=whole,
                                                              image=page))  # fmt: skip
    assert all(f"BULL{row}" in texts for row in range(9))
    small = [Region("figure", (280.0, 40.0, 440.0, 900.0), 0.9)]
    blocks = lines_to_blocks(_form_lines(0.6), 1, regions=small, image=page)
    assert not any("BULL" in block.text for block in blocks)
    assert [block.type for block in blocks].count(BlockType.FIGURE) == 1


def test_a_page_sized_figure_holding_nearly_all_of_a_sparse_forms_lines_keeps_them() -> None:
    """A form of a few lines, one read surely, that the layout model takes for one figure:
    its lines are the page's text. Noise read from a photo (unsure for the most part) stays
    in the figure."""
    page = Image.new("RGB", (760, 1000), "white")
    whole = [Region("figure", (0.0, 0.0, 700.0, 990.0), 0.9)]

    def lines(confidences: list[float]) -> list[OCRLine]:
        out = []
        for row, confidence in enumerate(confidences):
            y = 80 + 150 * row
            word = OCRWord(f"Brand{row}", (60, y, 200, y + 14), confidence, 14)
            out.append(OCRLine(f"Brand{row}", word.bbox, confidence, (word,), 14))
        return out

    form = lines_to_blocks(lines([0.95, 0.6, 0.55, 0.7, 0.62]), 1, regions=whole, image=page)
    assert [block.text for block in form] == [f"Brand{row}" for row in range(5)]
    photo = lines_to_blocks(lines([0.95, 0.3, 0.2, 0.4, 0.35]), 1, regions=whole, image=page)
    assert [block.text for block in photo if block.type != BlockType.FIGURE] == ["Brand0"]
