"""What OCR VLMs write (markdown, mathpix-markdown, HTML tables) → document Blocks.

The text is first cut into segments a markdown parser would mangle — LaTeX `tabular`
environments, display formulas (`\\[ \\]`, `$$`), HTML tables and mathpix heading commands — and
the markdown between them goes through markdown-it-py. Every table, whatever its syntax, lands in
one `Table` cell grid with row/column spans. Malformed or truncated markup never raises: the
block keeps its text and gets the flag "malformed".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token

from docvlm.document import Block, BlockType, Table, TableCell

MALFORMED = "malformed"

_MARKDOWN = MarkdownIt("commonmark").enable("table")

# Mathpix heading commands → heading level; \title is the page title.
_HEADING_COMMANDS = {"title": 1, "section": 2, "subsection": 3, "subsubsection": 4}
_HEADING = re.compile(r"\\(title|section|subsection|subsubsection)\*?\{")
_SPECIAL_START = re.compile(
    r"\\begin\{(?P<env>tabular\*?|table\*?|equation\*?|align\*?|array)\}"
    r"|(?P<dmath>\\\[|\$\$)"
    r"|(?P<html><table\b)"
    r"|(?P<heading>\\(?:title|section|subsection|subsubsection)\*?\{)",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE_RULES = re.compile(r"\\(?:hline|toprule|midrule|bottomrule|cline\{[^}]*\}|hhline\{[^}]*\})")


@dataclass
class _Cell:
    """A cell as written: position is implied by order, spans by the syntax."""

    text: str
    row_span: int = 1
    col_span: int = 1
    header: bool = False


def parse_markup(text: str, page: int, engine: str = "vlm") -> list[Block]:
    """Blocks of one page from a VLM's markdown / mathpix-markdown / HTML output."""
    blocks: list[Block] = []
    for kind, chunk, closed in _segments(text):
        if kind == "markdown":
            new = _markdown_blocks(chunk, page)
        elif kind == "heading":
            new = [_latex_heading(chunk, page, closed)]
        elif kind == "formula":
            new = [Block(type=BlockType.FORMULA, text=chunk.strip(), page=page)]
        elif kind == "tabular":
            new = [_table_block(_latex_rows(chunk), chunk, page, latex=True, closed=closed)]
        else:
            new = [_table_block(_html_rows(chunk), chunk, page, latex=False, closed=closed)]
        for block in new:
            block.engine = engine
            if not closed and MALFORMED not in block.flags:
                block.flags.append(MALFORMED)
        blocks += new
    return blocks


def _segments(text: str) -> Iterator[tuple[str, str, bool]]:
    """(kind, text, closed) pieces in order; kind ∈ markdown, heading, formula, tabular, html."""
    fences = _fenced_ranges(text)
    position = 0
    pending_start = 0
    while True:
        match = _next_special(text, position, fences)
        if match is None:
            break
        if match.start() > pending_start and text[pending_start : match.start()].strip():
            yield "markdown", text[pending_start : match.start()], True
        kind, body, end, closed = _read_special(text, match)
        yield kind, body, closed
        position = pending_start = end
    if text[pending_start:].strip():
        yield "markdown", text[pending_start:], True


def _next_special(text: str, position: int, fences: list[tuple[int, int]]) -> re.Match[str] | None:
    """The next special construct at or after `position` that is not inside a code fence."""
    for match in _SPECIAL_START.finditer(text, position):
        if not any(start <= match.start() < end for start, end in fences):
            return match
    return None


def _fenced_ranges(text: str) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    offset, open_at, marker = 0, None, ""
    for line in text.splitlines(keepends=True):
        fence = _FENCE.match(line)
        if fence and open_at is None:
            open_at, marker = offset, fence.group(1)
        elif fence and fence.group(1).startswith(marker[0]) and len(fence.group(1)) >= len(marker):
            ranges.append((open_at, offset + len(line)))
            open_at = None
        offset += len(line)
    if open_at is not None:
        ranges.append((open_at, len(text)))
    return ranges


def _read_special(text: str, match: re.Match[str]) -> tuple[str, str, int, bool]:
    """Read the construct opened by `match`: (kind, body, end offset, closed)."""
    if match.group("heading"):
        close = _matching_brace(text, match.end())
        if close is None:
            line_end = text.find("\n", match.end())
            end = len(text) if line_end < 0 else line_end
            return "heading", text[match.start() : end], end, False
        return "heading", text[match.start() : close + 1], close + 1, True
    if match.group("html"):
        close = re.compile(r"</table\s*>", re.IGNORECASE).search(text, match.end())
        end = close.end() if close else len(text)
        return "html", text[match.start() : end], end, close is not None
    if match.group("dmath"):
        closer = r"\]" if match.group("dmath") == r"\[" else "$$"
        close = text.find(closer, match.end())
        if close < 0:
            return "formula", text[match.end() :], len(text), False
        return "formula", text[match.end() : close], close + len(closer), True

    env = match.group("env")
    end_tag = f"\\end{{{env}}}"
    close = text.find(end_tag, match.end())
    end = len(text) if close < 0 else close + len(end_tag)
    body = text[match.end() : len(text) if close < 0 else close]
    if env.lower().startswith("table"):
        inner = re.search(r"\\begin\{tabular\*?\}", body)
        if inner:
            # A float around a tabular: the table is the content; captions are dropped.
            inner_close = body.find(r"\end{tabular", inner.end())
            tabular_closed = inner_close >= 0 and close >= 0
            inner_body = body[inner.end() : inner_close if inner_close >= 0 else len(body)]
            return "tabular", _strip_column_spec(inner_body), end, tabular_closed
        return "markdown", body, end, close >= 0
    if env.lower().startswith("tabular"):
        return "tabular", _strip_column_spec(body), end, close >= 0
    return "formula", body, end, close >= 0


def _matching_brace(text: str, start: int) -> int | None:
    """Index of the `}` closing the brace group whose content starts at `start`."""
    depth = 1
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        elif char == "\n" and text[index + 1 : index + 2] == "\n":
            return None  # a blank line ends a runaway argument: it was truncated
        index += 1
    return None


def _strip_column_spec(body: str) -> str:
    """Drop the `{|c|c|}` column spec (and a `tabular*` width) at the start of a tabular body."""
    body = body.lstrip()
    for _ in range(2):
        if body.startswith("{"):
            close = _matching_brace(body, 1)
            if close is None:
                return body
            body = body[close + 1 :].lstrip()
    return body


def _latex_heading(command: str, page: int, closed: bool) -> Block:
    match = _HEADING.match(command)
    level = _HEADING_COMMANDS[match.group(1)]
    content = command[match.end() : -1 if closed else None]
    return Block(type=BlockType.HEADING, text=_latex_text(content), page=page, level=level)


def _latex_text(text: str) -> str:
    """Cell or heading text with LaTeX escapes and formatting commands undone."""
    text = re.sub(r"\\(?:textbf|textit|emph|underline|text|mathrm)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\([&%$#_{}])", r"\1", text)
    return " ".join(text.split())


# ---------------------------------------------------------------- tables


def _table_block(
    rows: list[list[_Cell]], source: str, page: int, latex: bool, closed: bool
) -> Block:
    table, ragged = _place(rows, covered_cells_written=latex)
    flags = [MALFORMED] if ragged or not closed or not table.cells else []
    return Block(
        type=BlockType.TABLE,
        text=source.strip() if flags else "",
        page=page,
        table=table if table.cells else None,
        flags=flags,
    )


def _place(rows: list[list[_Cell]], covered_cells_written: bool) -> tuple[Table, bool]:
    """Lay written cells onto a grid honouring spans; also say whether the rows were ragged.

    HTML omits the positions a span covers; LaTeX writes an empty cell under a `\\multirow`,
    which is dropped when it lands on a covered position.
    """
    occupied: set[tuple[int, int]] = set()
    cells: list[TableCell] = []
    widths: list[int] = []
    for r, written in enumerate(rows):
        col = 0
        for cell in written:
            while (r, col) in occupied and not covered_cells_written:
                col += 1
            if covered_cells_written and (r, col) in occupied:
                if not cell.text:
                    col += 1
                    continue
                while (r, col) in occupied:
                    col += 1
            cells.append(
                TableCell(
                    row=r,
                    col=col,
                    text=cell.text,
                    row_span=max(cell.row_span, 1),
                    col_span=max(cell.col_span, 1),
                    header=cell.header,
                )
            )
            for dr in range(max(cell.row_span, 1)):
                for dc in range(max(cell.col_span, 1)):
                    occupied.add((r + dr, col + dc))
            col += max(cell.col_span, 1)
        while (r, col) in occupied:
            col += 1
        widths.append(col)
    num_rows = len(rows)
    num_cols = max(widths, default=0)
    for cell in cells:  # clip spans that run past the table (truncated output)
        cell.row_span = min(cell.row_span, num_rows - cell.row)
        cell.col_span = min(cell.col_span, num_cols - cell.col)
    ragged = len(set(widths)) > 1
    return Table(num_rows=num_rows, num_cols=num_cols, cells=cells), ragged


def _latex_rows(body: str) -> list[list[_Cell]]:
    body = _TABLE_RULES.sub("", body)
    rows: list[list[_Cell]] = []
    for line in _split_top_level(body, "\\\\"):
        if not line.strip():
            continue
        rows.append([_latex_cell(part) for part in _split_top_level(line, "&")])
    for cell in rows[0] if rows else []:
        cell.header = True
    return rows


def _latex_cell(source: str) -> _Cell:
    source = source.strip()
    row_span = col_span = 1
    while True:
        match = re.match(r"\\(multicolumn|multirow)\{\s*(\d+)\s*\}", source)
        if not match:
            break
        count = int(match.group(2))
        args, rest = _brace_args(source[match.end() :], 2)
        if len(args) < 2:
            break
        if match.group(1) == "multicolumn":
            col_span = count
        else:
            row_span = count
        source = (args[1] + " " + rest).strip()
    return _Cell(text=_latex_text(source), row_span=row_span, col_span=col_span)


def _brace_args(text: str, count: int) -> tuple[list[str], str]:
    """Up to `count` leading `{...}` (or `[...]`-skipped) arguments and what follows them."""
    args: list[str] = []
    text = text.lstrip()
    while len(args) < count and text:
        if text.startswith("["):
            close = text.find("]")
            text = text[close + 1 :].lstrip() if close >= 0 else ""
            continue
        if not text.startswith("{"):
            break
        close = _matching_brace(text, 1)
        if close is None:
            args.append(text[1:])
            return args, ""
        args.append(text[1:close])
        text = text[close + 1 :].lstrip()
    return args, text


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on `separator` outside braces, ignoring escaped ones (`\\&`)."""
    parts: list[str] = []
    depth, start, index = 0, 0, 0
    while index < len(text):
        if text.startswith(separator, index) and depth == 0:
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        char = text[index]
        if char == "\\" and not text.startswith(separator, index):
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        index += 1
    parts.append(text[start:])
    return parts


class _HTMLTableReader(HTMLParser):
    """Rows of cells from the first HTML table; tolerant of missing end tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[_Cell]] = []
        self._cell: _Cell | None = None
        self._text: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._depth += 1
        if self._depth != 1:
            return
        if tag == "tr":
            self._close_cell()
            self.rows.append([])
        elif tag in ("td", "th"):
            self._close_cell()
            if not self.rows:
                self.rows.append([])
            values = dict(attrs)
            self._cell = _Cell(
                text="",
                row_span=_span(values.get("rowspan")),
                col_span=_span(values.get("colspan")),
                header=tag == "th",
            )
        elif tag == "br" and self._cell is not None:
            self._text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            if self._depth == 1:
                self._close_cell()
            self._depth -= 1
        elif self._depth == 1 and tag in ("td", "th", "tr"):
            self._close_cell()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._close_cell()

    def _close_cell(self) -> None:
        if self._cell is not None:
            self._cell.text = " ".join("".join(self._text).split())
            self.rows[-1].append(self._cell)
        self._cell, self._text = None, []


def _span(value: str | None) -> int:
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1


def _html_rows(source: str) -> list[list[_Cell]]:
    reader = _HTMLTableReader()
    reader.feed(source)
    reader.close()
    return [row for row in reader.rows if row]


# ---------------------------------------------------------------- markdown


def _markdown_blocks(text: str, page: int) -> list[Block]:
    tokens = _MARKDOWN.parse(text)
    lines = text.splitlines()
    blocks: list[Block] = []
    list_stack: list[bool] = []  # ordered flag of each open list, innermost last
    in_item = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_stack.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_stack.pop()
        elif kind == "list_item_open":
            in_item += 1
        elif kind == "list_item_close":
            in_item -= 1
        elif kind == "heading_open":
            level = int(token.tag[1])
            text_token = tokens[index + 1]
            blocks.append(
                Block(type=BlockType.HEADING, text=text_token.content, page=page, level=level)
            )
            index += 2
        elif kind == "paragraph_open":
            content = tokens[index + 1].content
            if list_stack and in_item:
                blocks.append(_list_item(content, page, list_stack, tokens, index))
            else:
                blocks.append(_paragraph(content, page))
            index += 2
        elif kind in ("fence", "code_block"):
            blocks.append(_code_block(token, lines, page))
        elif kind == "table_open":
            close = next(i for i in range(index, len(tokens)) if tokens[i].type == "table_close")
            blocks.append(_gfm_table(tokens[index : close + 1], lines, page))
            index = close
        elif kind == "html_block" and token.content.strip():
            blocks.append(Block(type=BlockType.PARAGRAPH, text=token.content.strip(), page=page))
        index += 1
    return blocks


def _list_item(content: str, page: int, ordered: list[bool], tokens: list[Token], at: int) -> Block:
    # A second paragraph inside the same item continues it rather than starting a new item.
    continues = tokens[at - 1].type == "paragraph_close" if at else False
    block = Block(
        type=BlockType.LIST_ITEM if not continues else BlockType.PARAGRAPH,
        text=content,
        page=page,
        level=len(ordered),
        ordered=ordered[-1],
    )
    return block


def _paragraph(content: str, page: int) -> Block:
    image = re.fullmatch(r"!\[([^\]]*)\]\([^)]*\)", content.strip())
    if image:
        return Block(type=BlockType.FIGURE, text=image.group(1), page=page)
    return Block(type=BlockType.PARAGRAPH, text=content, page=page)


def _code_block(token: Token, lines: list[str], page: int) -> Block:
    block = Block(type=BlockType.CODE, text=token.content.rstrip("\n"), page=page)
    if token.type == "fence" and token.map:
        last = lines[token.map[1] - 1].strip() if token.map[1] - 1 < len(lines) else ""
        closed = token.map[1] - token.map[0] >= 2 and last.startswith(token.markup)
        if not closed:
            block.flags.append(MALFORMED)
    return block


def _gfm_table(tokens: list[Token], lines: list[str], page: int) -> Block:
    rows: list[list[_Cell]] = []
    header = False
    for token in tokens:
        if token.type == "thead_open":
            header = True
        elif token.type == "thead_close":
            header = False
        elif token.type == "tr_open":
            rows.append([])
        elif token.type == "inline":
            rows[-1].append(_Cell(text=token.content, header=header))
    table, _ = _place(rows, covered_cells_written=False)
    start, end = tokens[0].map
    source = lines[start:end]
    widths = {len(_gfm_cells(line)) for i, line in enumerate(source) if i != 1 and line.strip()}
    flags = [MALFORMED] if len(widths) > 1 else []
    return Block(
        type=BlockType.TABLE,
        text="\n".join(source) if flags else "",
        page=page,
        table=table,
        flags=flags,
    )


def _gfm_cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return re.split(r"(?<!\\)\|", line)
