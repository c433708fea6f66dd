"""What the review page at `/` draws: the Document, and its markdown cut into per-block pieces."""

from __future__ import annotations

import io
from typing import Any

from docvlm.document import Document, markdown_parts
from docvlm.sources import DEFAULT_SIZE, open_source

PAGE_IMAGE_SIZE = DEFAULT_SIZE


def review_payload(document: Document) -> dict[str, Any]:
    """The document's JSON and its markdown (furniture included, as the page shows it) as
    pieces tagged with their page and block index, so a click on a box finds its text."""
    pieces: list[dict[str, Any]] = []
    for page in document.pages:
        index_of = {id(block): index for index, block in enumerate(page.blocks)}
        for block, separator, markdown in markdown_parts(page.blocks):
            separator = separator or ("\n\n" if pieces else "")
            pieces.append(
                {
                    "page": page.number,
                    "block": index_of[id(block)],
                    "separator": separator,
                    "markdown": markdown,
                }
            )
    return {"document": document.model_dump(mode="json"), "markdown": pieces}


def page_png(path: str, number: int, password: str | None) -> bytes:
    """Page `number` of the file at `path` rendered as PNG, longer side PAGE_IMAGE_SIZE px."""
    with open_source(path, pages=[number], password=password, size=PAGE_IMAGE_SIZE) as source:
        image = source.page(number).render()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
