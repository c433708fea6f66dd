"""Property-based checks: parsers of user or model text never crash on arbitrary input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from docvlm.errors import PageRangeError
from docvlm.markup import parse_markup
from docvlm.sources import parse_page_range

page_specs = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789-, ", max_size=20),
)


@given(spec=page_specs, page_count=st.integers(min_value=1, max_value=500))
@settings(max_examples=400, deadline=None)
def test_page_range_parser_only_raises_its_typed_error(spec, page_count):
    try:
        pages = parse_page_range(spec, page_count)
    except PageRangeError as error:
        assert "\n" not in str(error)
    else:
        assert pages == sorted(set(pages))
        assert all(1 <= n <= page_count for n in pages)


markup_pieces = st.sampled_from(
    [
        "# ",
        "## ",
        "\n",
        "\n\n",
        "| a | b |",
        "|---|---|",
        "| 1 |",
        "- ",
        "1. ",
        "  - ",
        "**",
        "*",
        "```",
        "$$",
        "\\[",
        "\\]",
        "\\title{",
        "\\section*{",
        "}",
        "{",
        "\\begin{tabular}{|c|c|}",
        "\\end{tabular}",
        "\\hline",
        " & ",
        " \\\\ ",
        "\\multicolumn{2}{c}{",
        "\\multirow{3}{*}{",
        "<table>",
        "</table>",
        "<tr>",
        "<td>",
        '<td rowspan="2">',
        '<th colspan="99">',
        "</td>",
        "&amp;",
        "text ",
        "x",
    ]
)
markup_text = st.one_of(st.text(max_size=200), st.lists(markup_pieces, max_size=40).map("".join))


@given(text=markup_text)
@settings(max_examples=400, deadline=None)
def test_markup_parser_never_raises_and_renders(text):
    blocks = parse_markup(text, page=1)
    for block in blocks:
        assert block.page == 1
        block.to_markdown()
        block.to_html()
