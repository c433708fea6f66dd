"""The document model: Document → Page → Block, with provenance, and its renderers."""

from __future__ import annotations

import html
import json
from enum import Enum
from typing import Any, Literal

from markdown_it import MarkdownIt
from pydantic import BaseModel, Field

SCHEMA_VERSION = "1.0"

# (x0, y0, x1, y1) in PDF points, origin at the page's top-left; image pages use 1 px = 1 pt.
BBox = tuple[float, float, float, float]

# low_confidence: read, but OCR was unsure of much of it (check it by hand).
PageStatus = Literal["ok", "fallback", "low_confidence", "degenerate", "error"]


class BlockType(str, Enum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"
    FIGURE = "figure"
    FORMULA = "formula"
    KEY_VALUE = "key_value"
    CODE = "code"
    PAGE_HEADER = "page_header"
    PAGE_FOOTER = "page_footer"


FURNITURE = frozenset({BlockType.PAGE_HEADER, BlockType.PAGE_FOOTER})


class TableCell(BaseModel):
    row: int
    col: int
    text: str = ""
    row_span: int = 1
    col_span: int = 1
    header: bool = False


class Table(BaseModel):
    num_rows: int
    num_cols: int
    cells: list[TableCell] = Field(default_factory=list)

    @classmethod
    def from_rows(cls, rows: list[list[str]], header_rows: int = 1) -> Table:
        """Build a span-free table from a list of rows (short rows are padded)."""
        num_cols = max((len(r) for r in rows), default=0)
        cells = [
            TableCell(row=i, col=j, text=text, header=i < header_rows)
            for i, row in enumerate(rows)
            for j, text in enumerate(row)
        ]
        return cls(num_rows=len(rows), num_cols=num_cols, cells=cells)

    def grid(self) -> list[list[TableCell | None]]:
        """Cells placed on the full row × column grid; positions covered by a span hold None."""
        grid: list[list[TableCell | None]] = [[None] * self.num_cols for _ in range(self.num_rows)]
        for cell in self.cells:
            if cell.row < self.num_rows and cell.col < self.num_cols:
                grid[cell.row][cell.col] = cell
        return grid

    def rows(self) -> list[list[str]]:
        """Cell texts as a dense grid; a spanning cell's text sits at its top-left position."""
        return [[c.text if c else "" for c in row] for row in self.grid()]

    @property
    def header_rows(self) -> int:
        count = 0
        for row in self.grid():
            if row and all(c is None or c.header for c in row) and any(c for c in row):
                count += 1
            else:
                break
        return count

    def to_markdown(self) -> str:
        """GFM table; GFM has no spans, so covered positions are left empty."""
        rows = self.rows()
        if not rows:
            return ""

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(_md_cell(c) for c in cells) + " |"

        out = [line(rows[0]), "|" + "|".join(["---"] * self.num_cols) + "|"]
        out += [line(r) for r in rows[1:]]
        return "\n".join(out)

    def to_html(self) -> str:
        out = ["<table>"]
        for row in self.grid():
            out.append("<tr>")
            for cell in row:
                if cell is None:
                    continue
                tag = "th" if cell.header else "td"
                spans = ""
                if cell.row_span > 1:
                    spans += f' rowspan="{cell.row_span}"'
                if cell.col_span > 1:
                    spans += f' colspan="{cell.col_span}"'
                out.append(f"<{tag}{spans}>{html.escape(cell.text)}</{tag}>")
            out.append("</tr>")
        out.append("</table>")
        return "".join(out)


_INLINE_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def _inline_html(text: str) -> str:
    """Block text keeps inline markdown (**bold**, *italic*); HTML shows it as tags."""
    return _INLINE_MARKDOWN.renderInline(text)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


class Block(BaseModel):
    type: BlockType
    text: str = ""
    page: int
    bbox: BBox | None = None
    engine: str = ""
    confidence: float | None = None
    level: int | None = None  # heading level (1–6) or list nesting depth (1 = top)
    ordered: bool = False  # list items: numbered or bulleted
    table: Table | None = None
    key: str | None = None  # key-value blocks: the label; `text` holds the value
    labels: list[str] = Field(default_factory=list)  # figures: words drawn inside (axis ticks)
    flags: list[str] = Field(default_factory=list)  # e.g. "malformed", "truncated"

    def to_markdown(self, number: int = 1) -> str:
        """Markdown of this block; `number` is an ordered list item's position in its list."""
        match self.type:
            case BlockType.HEADING:
                return "#" * min(max(self.level or 1, 1), 6) + " " + self.text
            case BlockType.LIST_ITEM:
                indent = "  " * max((self.level or 1) - 1, 0)
                return f"{indent}{f'{number}.' if self.ordered else '-'} {self.text}"
            case BlockType.TABLE:
                return self.table.to_markdown() if self.table else self.text
            case BlockType.FORMULA:
                return f"$$\n{self.text}\n$$"
            case BlockType.CODE:
                return f"```\n{self.text}\n```"
            case BlockType.KEY_VALUE:
                return f"**{self.key}:** {self.text}"
            case BlockType.FIGURE:
                return f"![{self.text}]()"
            case _:
                return self.text

    def to_html(self) -> str:
        text = _inline_html(self.text)
        match self.type:
            case BlockType.HEADING:
                level = min(max(self.level or 1, 1), 6)
                return f"<h{level}>{text}</h{level}>"
            case BlockType.LIST_ITEM:
                return f"<li>{text}</li>"
            case BlockType.TABLE:
                return self.table.to_html() if self.table else f"<pre>{text}</pre>"
            case BlockType.FORMULA:
                return f'<div class="formula">\\[{html.escape(self.text)}\\]</div>'
            case BlockType.CODE:
                return f"<pre><code>{html.escape(self.text)}</code></pre>"
            case BlockType.KEY_VALUE:
                return f"<dl><dt>{html.escape(self.key or '')}</dt><dd>{text}</dd></dl>"
            case BlockType.FIGURE:
                return f"<figure><figcaption>{text}</figcaption></figure>"
            case BlockType.PAGE_HEADER:
                return f"<header>{text}</header>"
            case BlockType.PAGE_FOOTER:
                return f"<footer>{text}</footer>"
            case _:
                return f"<p>{text}</p>"


class Page(BaseModel):
    number: int  # 1-based
    width: float  # points
    height: float
    engine: str | None = None
    reason: str = ""  # why the router picked this engine (or fell back)
    status: PageStatus = "ok"
    orientation: int = 0  # clockwise degrees the page was turned before OCR read it
    error_kind: str | None = None
    error: str | None = None
    seconds: float = 0.0
    blocks: list[Block] = Field(default_factory=list)

    def content_blocks(self, include_furniture: bool = False) -> list[Block]:
        return [b for b in self.blocks if include_furniture or b.type not in FURNITURE]

    def to_markdown(self, include_furniture: bool = False) -> str:
        return _join_markdown(self.content_blocks(include_furniture))


class Document(BaseModel):
    schema_version: str = SCHEMA_VERSION
    source: str = ""
    page_count: int = 0  # pages in the source, whether or not all were selected
    metadata: dict[str, Any] = Field(default_factory=dict)
    pages: list[Page] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.status != "error" for p in self.pages)

    @property
    def blocks(self) -> list[Block]:
        return [b for p in self.pages for b in p.blocks]

    def to_markdown(self, include_furniture: bool = False) -> str:
        """Markdown of all pages in order; page headers/footers left out unless asked for."""
        blocks = [b for p in self.pages for b in p.content_blocks(include_furniture)]
        return _join_markdown(blocks)

    def to_html(self, include_furniture: bool = True) -> str:
        body: list[str] = []
        for page in self.pages:
            body.append(f'<section class="page" data-page="{page.number}">')
            body += _html_with_lists(page.content_blocks(include_furniture))
            body.append("</section>")
        title = html.escape(self.source)
        return (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n"
        )

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema that `to_json()` output validates against."""
        schema = cls.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://docvlm.dev/schema/document-{SCHEMA_VERSION}.json"
        return schema


def _join_markdown(blocks: list[Block]) -> str:
    parts = markdown_parts(blocks)
    return "".join(separator + rendered for _, separator, rendered in parts) + (
        "\n" if parts else ""
    )


def markdown_parts(blocks: list[Block]) -> list[tuple[Block, str, str]]:
    """(block, separator before it, its markdown) for each block that renders to something:
    joined in order they are the markdown text, so a viewer can map text back to blocks."""
    parts: list[tuple[Block, str, str]] = []
    previous: Block | None = None
    list_counters: dict[int, int] = {}  # nesting level → number of the last ordered item
    for block in blocks:
        number = 1
        if block.type == BlockType.LIST_ITEM:
            level = block.level or 1
            list_counters = {k: v for k, v in list_counters.items() if k <= level}
            if block.ordered:
                number = list_counters.get(level, 0) + 1
            list_counters[level] = number if block.ordered else 0
        else:
            list_counters = {}
        rendered = block.to_markdown(number)
        if not rendered.strip():
            continue
        tight = (
            previous is not None
            and previous.type == BlockType.LIST_ITEM
            and block.type == BlockType.LIST_ITEM
        )
        separator = ("\n" if tight else "\n\n") if parts else ""
        parts.append((block, separator, rendered))
        previous = block
    return parts


def _html_with_lists(blocks: list[Block]) -> list[str]:
    out: list[str] = []
    open_tag: str | None = None
    for block in blocks:
        tag = ("ol" if block.ordered else "ul") if block.type == BlockType.LIST_ITEM else None
        if tag != open_tag:
            if open_tag:
                out.append(f"</{open_tag}>")
            if tag:
                out.append(f"<{tag}>")
            open_tag = tag
        out.append(block.to_html())
    if open_tag:
        out.append(f"</{open_tag}>")
    return out


def schema_json() -> str:
    return json.dumps(Document.json_schema(), indent=2)
