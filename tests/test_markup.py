"""Markup → blocks: one table of cases per syntax, spans, malformed input, render round trips."""

from __future__ import annotations

import pytest

from docvlm.document import Block, BlockType, Page
from docvlm.markup import MALFORMED, parse_markup


def kinds(blocks: list[Block]) -> list[tuple[str, str, int | None]]:
    return [(b.type.value, b.text, b.level) for b in blocks]


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("# Title\n\nBody text.", [("heading", "Title", 1), ("paragraph", "Body text.", None)]),
        ("Setext\n======\n\nSub\n---\n", [("heading", "Setext", 1), ("heading", "Sub", 2)]),
        ("Keep **bold** and *it*.", [("paragraph", "Keep **bold** and *it*.", None)]),
        ("```python\nx = 1\n```", [("code", "x = 1", None)]),
        (r"\title{Report}", [("heading", "Report", 1)]),
        (r"\section*{Intro} text", [("heading", "Intro", 2), ("paragraph", "text", None)]),
        (r"\subsection*{Method \& Data}", [("heading", "Method & Data", 3)]),
        (
            "before\n\\[ E = mc^2 \\]\nafter",
            [
                ("paragraph", "before", None),
                ("formula", "E = mc^2", None),
                ("paragraph", "after", None),
            ],
        ),
        ("$$\n\\frac{a}{b}\n$$", [("formula", "\\frac{a}{b}", None)]),
        ("![chart](x.png)", [("figure", "chart", None)]),
        ("```\n\\[ not math \\]\n```", [("code", "\\[ not math \\]", None)]),
    ],
)
def test_text_blocks(markup: str, expected: list[tuple[str, str, int | None]]) -> None:
    blocks = parse_markup(markup, page=3, engine="vlm")
    assert kinds(blocks) == expected
    assert all(b.page == 3 and b.engine == "vlm" and not b.flags for b in blocks)


def test_nested_lists_keep_level_and_ordered_flag() -> None:
    blocks = parse_markup("- a\n  - b\n    1. c\n    2. d\n- e\n", page=1)
    assert [(b.text, b.level, b.ordered) for b in blocks] == [
        ("a", 1, False),
        ("b", 2, False),
        ("c", 3, True),
        ("d", 3, True),
        ("e", 1, False),
    ]
    rendered = Page(number=1, width=1, height=1, blocks=blocks).to_markdown()
    assert rendered == "- a\n  - b\n    1. c\n    2. d\n- e\n"


LATEX_SPANS = r"""\begin{tabular}{|c|c|c|}
\hline
\multicolumn{2}{|c|}{Region} & Total \\
\hline
\multirow{2}{*}{North} & A & 1 \\
\cline{2-3}
 & B & 2 \\
\hline
\end{tabular}"""

HTML_SPANS = (
    '<table><tr><th colspan="2">Region</th><th>Total</th></tr>'
    '<tr><td rowspan="2">North</td><td>A</td><td>1</td></tr>'
    "<tr><td>B</td><td>2</td></tr></table>"
)

SPAN_GRID = [["Region", "", "Total"], ["North", "A", "1"], ["", "B", "2"]]
SPAN_HTML = (
    '<table><tr><th colspan="2">Region</th><th>Total</th></tr>'
    '<tr><td rowspan="2">North</td><td>A</td><td>1</td></tr>'
    "<tr><td>B</td><td>2</td></tr></table>"
)


@pytest.mark.parametrize(
    ("markup", "grid", "spans", "html"),
    [
        (LATEX_SPANS, SPAN_GRID, {(0, 0): (1, 2), (1, 0): (2, 1)}, SPAN_HTML),
        (HTML_SPANS, SPAN_GRID, {(0, 0): (1, 2), (1, 0): (2, 1)}, SPAN_HTML),
        (
            r"\begin{tabular}{cc} \multicolumn{2}{c}{\multirow{2}{*}{Both}} \\ & \\ x & y \\"
            r"\end{tabular}",
            [["Both", ""], ["", ""], ["x", "y"]],
            {(0, 0): (2, 2)},
            '<table><tr><th rowspan="2" colspan="2">Both</th></tr><tr></tr>'
            "<tr><td>x</td><td>y</td></tr></table>",
        ),
        (
            "| Item | Qty |\n|------|----:|\n| Pen \\| blue | 2 |\n| Ink | 10 |",
            [["Item", "Qty"], ["Pen | blue", "2"], ["Ink", "10"]],
            {},
            "<table><tr><th>Item</th><th>Qty</th></tr><tr><td>Pen | blue</td><td>2</td></tr>"
            "<tr><td>Ink</td><td>10</td></tr></table>",
        ),
        (
            r"\begin{tabular}{ll} Price & 5 \$ \\ 50\% off & \textbf{yes} \\ \end{tabular}",
            [["Price", "5 $"], ["50% off", "yes"]],
            {},
            "<table><tr><th>Price</th><th>5 $</th></tr><tr><td>50% off</td><td>yes</td></tr>"
            "</table>",
        ),
    ],
)
def test_tables_become_one_cell_grid(
    markup: str, grid: list[list[str]], spans: dict, html: str
) -> None:
    (block,) = parse_markup(markup, page=1)
    assert block.type == BlockType.TABLE and not block.flags
    assert block.table.rows() == grid
    found = {
        (c.row, c.col): (c.row_span, c.col_span)
        for c in block.table.cells
        if (c.row_span, c.col_span) != (1, 1)
    }
    assert found == spans
    assert block.to_html() == html


def test_table_markdown_round_trip() -> None:
    source = "| Item | Qty |\n|---|---|\n| Pen | 2 |\n| Ink | 10 |"
    (block,) = parse_markup(source, page=1)
    assert block.to_markdown() == source
    (again,) = parse_markup(block.to_markdown(), page=1)
    assert again.table == block.table


def test_html_round_trip_keeps_spans() -> None:
    (block,) = parse_markup(LATEX_SPANS, page=1)
    (again,) = parse_markup(block.to_html(), page=1)
    assert again.table.rows() == block.table.rows()
    assert again.to_html() == block.to_html()


@pytest.mark.parametrize(
    ("markup", "kind", "kept"),
    [
        ("\\begin{tabular}{cc}\na & b \\\\\nc & d", "table", "c & d"),  # truncated tabular
        ("<table><tr><td>a<td>b<tr><td>c", "table", "<td>c"),  # unclosed HTML
        ("| a | b |\n|---|---|\n| 1 |\n| 2 | 3 | 4 |", "table", "| 2 | 3 | 4 |"),  # ragged
        ("\\[ x + ", "formula", "x +"),  # unclosed display math
        ("```py\nx = 1\n", "code", "x = 1"),  # unclosed fence
        ("\\section*{Cut off", "heading", "Cut off"),  # truncated command
        ("<table><tr></tr></table>", "table", "<table>"),  # empty table
    ],
)
def test_malformed_markup_is_kept_and_flagged(markup: str, kind: str, kept: str) -> None:
    blocks = parse_markup(markup, page=1)
    flagged = [b for b in blocks if MALFORMED in b.flags]
    assert len(flagged) == 1 and flagged[0].type.value == kind
    assert kept in flagged[0].text or kept in (flagged[0].to_markdown())


def test_truncated_tables_keep_their_cells() -> None:
    (block,) = parse_markup("<table><tr><td>a<td>b<tr><td>c", page=1)
    assert block.table.rows() == [["a", "b"], ["c", ""]]


@pytest.mark.parametrize("garbage", ["", "\\", "$$", "<table", "\\multicolumn{", "|", "}{"])
def test_garbage_never_raises(garbage: str) -> None:
    for block in parse_markup(garbage, page=1):
        assert block.page == 1
