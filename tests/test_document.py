from __future__ import annotations

import json

import jsonschema

from docvlm.document import Block, BlockType, Document, Page, Table, TableCell


def _document() -> Document:
    spanning = Table(
        num_rows=3,
        num_cols=3,
        cells=[
            TableCell(row=0, col=0, text="Region", header=True, row_span=2),
            TableCell(row=0, col=1, text="Sales", header=True, col_span=2),
            TableCell(row=1, col=1, text="2024", header=True),
            TableCell(row=1, col=2, text="2025", header=True),
            TableCell(row=2, col=0, text="North | East"),
            TableCell(row=2, col=1, text="1"),
            TableCell(row=2, col=2, text="2"),
        ],
    )
    blocks = [
        Block(type=BlockType.PAGE_HEADER, text="ACME annual report", page=1),
        Block(type=BlockType.HEADING, text="Results", level=1, page=1, bbox=(10, 10, 90, 20)),
        Block(type=BlockType.PARAGRAPH, text="Sales grew <fast> & **well**.", page=1),
        Block(type=BlockType.LIST_ITEM, text="first", page=1),
        Block(type=BlockType.LIST_ITEM, text="nested", level=2, page=1),
        Block(type=BlockType.LIST_ITEM, text="step", ordered=True, page=1),
        Block(type=BlockType.TABLE, table=spanning, page=1),
        Block(type=BlockType.FORMULA, text="E = mc^2", page=1),
        Block(type=BlockType.KEY_VALUE, key="Total", text="42.00", page=1),
        Block(type=BlockType.PAGE_FOOTER, text="Page 1", page=1),
    ]
    return Document(
        source="x.pdf", page_count=1, pages=[Page(number=1, width=612, height=792, blocks=blocks)]
    )


def test_markdown_rendering():
    markdown = _document().to_markdown()
    assert markdown == (
        "# Results\n\n"
        "Sales grew <fast> & **well**.\n\n"
        "- first\n  - nested\n1. step\n\n"
        "| Region | Sales |  |\n|---|---|---|\n|  | 2024 | 2025 |\n| North \\| East | 1 | 2 |\n\n"
        "$$\nE = mc^2\n$$\n\n"
        "**Total:** 42.00\n"
    )
    assert "ACME annual report" not in markdown
    assert "Page 1" in _document().to_markdown(include_furniture=True)


def test_html_rendering_keeps_spans_and_escapes():
    html = _document().to_html()
    assert '<th rowspan="2">Region</th><th colspan="2">Sales</th>' in html
    assert "<p>Sales grew &lt;fast&gt; &amp; <strong>well</strong>.</p>" in html
    assert "<ul><li>first</li><li>nested</li></ul><ol><li>step</li></ol>" in html.replace("\n", "")
    assert "<header>ACME annual report</header>" in html


def test_table_grid_and_header_rows():
    table = _document().pages[0].blocks[6].table
    assert table.header_rows == 2
    assert table.rows() == [
        ["Region", "Sales", ""],
        ["", "2024", "2025"],
        ["North | East", "1", "2"],
    ]
    assert Table.from_rows([["a", "b"], ["c"]]).rows() == [["a", "b"], ["c", ""]]


def test_json_round_trip_validates_against_schema():
    document = _document()
    data = json.loads(document.to_json())
    jsonschema.validate(data, Document.json_schema())
    assert Document.model_validate(data) == document
    data["pages"][0]["blocks"][0]["type"] = "not-a-type"
    try:
        jsonschema.validate(data, Document.json_schema())
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted an unknown block type")
