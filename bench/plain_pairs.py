"""The plain reference for key–value extraction: each field read from a page's plain text as
a user without docvlm would, the rest of the line after the field's title (the next line
where nothing follows it on its own). The plain text is PyMuPDF's text layer for a PDF that
has one, else `tesseract img -` (a PDF's pages rendered at 200 dpi). Values are parsed to the
field's type with docvlm's own parsers, so that the reference differs in reading the page
only. A field without a title is looked for by its key's words ("date_of_loss": "date of
loss"), as docvlm does; a field described only (a receipt's issuer) has no such line."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pymupdf
from ocr import plain_tesseract
from rapidfuzz import fuzz

from docvlm.extraction.values import parse_amount, parse_boolean, parse_date, parse_enum

TITLE_MATCH = 80  # fuzzy score of a line's stretch against a field's title
STRIPPED = " :.-_|"


def predict(documents: list[tuple[bytes, dict[str, Any]]], cache: Path | None) -> list[dict]:
    """For each (document, schema), the plain reading in `extract`'s report shape."""
    reports = []
    for document, schema in documents:
        lines = [" ".join(line.split()) for line in plain_text(document, cache).splitlines()]
        lines = [line for line in lines if line]
        data = {
            key: _typed(_after_title(lines, spec.get("title") or key.replace("_", " ")), spec)
            for key, spec in schema["properties"].items()
        }
        reports.append({"data": data, "fields": {}})
    return reports


def plain_text(document: bytes, cache: Path | None) -> str:
    """The document's text layer, or what `tesseract` reads on its images (kept in `cache`)."""
    if document.startswith(b"%PDF"):
        with pymupdf.open(stream=document, filetype="pdf") as pdf:
            text = "\n".join(page.get_text() for page in pdf)
            if text.strip():
                return text
            images = [page.get_pixmap(dpi=200).tobytes("png") for page in pdf]
    else:
        images = [document]
    return "\n".join(_tesseract(image, cache) for image in images)


def _tesseract(image: bytes, cache: Path | None) -> str:
    path = cache / f"plain-{hashlib.sha256(image).hexdigest()}.txt" if cache else None
    if path is not None and path.exists():
        return path.read_text()
    text = plain_tesseract(image)
    if path is not None:
        path.write_text(text)
    return text


def _after_title(lines: list[str], title: str) -> str | None:
    """The text after the line stretch that reads best as `title`, or the next line's."""
    wanted = title.lower().strip(STRIPPED)
    best: tuple[float, int, int] | None = None
    for index, line in enumerate(lines):
        if len(line) >= len(wanted):
            match = fuzz.partial_ratio_alignment(wanted, line.lower())
            score, end = match.score, match.dest_end
        else:
            score, end = fuzz.ratio(wanted, line.lower()), len(line)
        if score >= TITLE_MATCH and (best is None or score > best[0]):
            best = (score, index, end)
    if best is None:
        return None
    _, index, end = best
    rest = lines[index][end:].strip(STRIPPED)
    if not rest and index + 1 < len(lines):
        rest = lines[index + 1].strip(STRIPPED)
    return rest or None


def _typed(text: str | None, spec: dict[str, Any]) -> Any:
    if text is None:
        return None
    kinds = spec.get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "enum" in spec:
        parsed = parse_enum(text, spec["enum"])
        return None if parsed is None else parsed.value
    if "number" in kinds or "integer" in kinds:
        return parse_amount(text)
    if "boolean" in kinds:
        return parse_boolean(text)
    if spec.get("format") == "date":
        day = parse_date(text)
        return None if day is None else day.isoformat()
    return text
