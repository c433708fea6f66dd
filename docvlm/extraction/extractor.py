"""Schema-guided JSON extraction with per-field provenance: `extract(path, schema)`.

Without a model the values come from AcroForm widgets, then from label–value pairing over the
text layer (or Tesseract OCR words on scanned pages). With a model the VLM writes JSON under a
grammar compiled from the schema (see `docvlm.extraction.vlm`). `docvlm.extraction.result`
holds the contract on what `data` may contain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docvlm.extraction.pairing import Found, pair_fields
from docvlm.extraction.result import ExtractionResult, assemble
from docvlm.extraction.schema import ExtractionSchema, load_schema
from docvlm.extraction.widgets import widget_values
from docvlm.extraction.words import page_words
from docvlm.sources import SourcePage, open_source


def extract(
    path: str | Path | bytes,
    schema: Any,
    *,
    model: Any = None,
    pages: str | list[int] | None = None,
    password: str | None = None,
    ocr_language: str = "eng",
) -> ExtractionResult:
    """Fill `schema` (JSON Schema dict or pydantic model class) from a PDF or image."""
    checked = load_schema(schema)
    with open_source(path, password=password, pages=pages) as source:
        source_pages = list(source.pages())
        if model is not None:
            from docvlm.extraction.vlm import extract_with_model

            found = extract_with_model(model, source_pages, checked)
        else:
            found = extract_without_model(source_pages, checked, ocr_language)
    return assemble(checked, found)


def extract_without_model(
    pages: list[SourcePage], schema: ExtractionSchema, ocr_language: str = "eng"
) -> dict[str, Found]:
    """AcroForm widget values first, then label–value pairing over the page words."""
    words = [page_words(page, ocr_language) for page in pages]
    found: dict[str, Found] = {}
    for page in words:
        found.update(widget_values(page, schema.root, set(found)))
    found.update(pair_fields(schema.root, words, set(found)))
    return found
