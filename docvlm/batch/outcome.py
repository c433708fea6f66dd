"""One document of a batch run: parse it (pages from the cache where done), render it, and
record what happened as manifest rows and one-line messages. Never raises."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from docvlm.document import Document, Page
from docvlm.errors import DocVLMError, UnreadableFileError
from docvlm.pipeline import Parser, ParseRequest

from .cache import PageCache, content_hash
from .inputs import InputFile, display_path

OutputFormat = Literal["md", "json", "html"]
FORMAT_SUFFIX = {"md": ".md", "json": ".json", "html": ".html"}


@dataclass
class DocumentOutcome:
    """What happened to one input: its rendered output (if any) and its manifest rows."""

    input: InputFile
    rendered: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one-line messages for stderr
    warnings: list[str] = field(default_factory=list)  # the document's, e.g. a repaired PDF


def render(document: Document, output_format: OutputFormat, include_furniture: bool) -> str:
    """The document as markdown, JSON or HTML text."""
    if output_format == "json":
        return document.to_json() + "\n"
    if output_format == "html":
        return document.to_html(include_furniture=True)
    return document.to_markdown(include_furniture=include_furniture)


def parse_input(
    parser: Parser,
    item: InputFile,
    cache: PageCache,
    *,
    output_format: OutputFormat = "md",
    include_furniture: bool = False,
    pages: str | None = None,
    password: str | None = None,
    on_page: Callable[[Page], None] | None = None,
) -> DocumentOutcome:
    """Parse one input page by page, using and filling the page cache; never raises."""
    outcome = DocumentOutcome(item)
    started = time.perf_counter()
    data, failure = _read(item)
    if data is not None:
        file_hash = content_hash(data)
        document = Document()

        def keep_header(empty: Document) -> None:
            document.source, document.page_count = empty.source, empty.page_count
            document.metadata = empty.metadata
            outcome.warnings = list(empty.metadata.get("warnings", []))

        try:
            for page in parser.iter_pages(
                data,
                pages=pages,
                password=password,
                name=display_path(item.path),
                on_open=keep_header,
                cached=partial(_cached_page, cache, file_hash),
            ):
                _record_page(outcome, page, cache, file_hash)
                document.pages.append(page)
                if on_page is not None:
                    on_page(page)
        except DocVLMError as error:
            failure = error
        else:
            parser.finish(document)
            outcome.rendered = render(document, output_format, include_furniture)
    if failure is not None:
        record_failure(outcome, failure, started)
    return outcome


def parse_inputs(
    parser: Parser,
    items: Sequence[InputFile],
    cache: PageCache,
    *,
    output_format: OutputFormat = "md",
    include_furniture: bool = False,
    pages: str | None = None,
    password: str | None = None,
    on_page: Callable[[Page], None] | None = None,
) -> list[DocumentOutcome]:
    """Parse a group of inputs together so their pages share engine batches; never raises."""
    started = time.perf_counter()
    outcomes = [DocumentOutcome(item) for item in items]
    opened: list[tuple[DocumentOutcome, str]] = []
    requests: list[ParseRequest] = []
    for outcome in outcomes:
        data, failure = _read(outcome.input)
        if data is None:
            record_failure(outcome, failure, started)
            continue
        file_hash = content_hash(data)
        name = display_path(outcome.input.path)
        cached = partial(_cached_page, cache, file_hash)
        requests.append(ParseRequest(data, pages, password, name, cached))
        opened.append((outcome, file_hash))
    for (outcome, file_hash), result in zip(opened, parser.parse_many(requests), strict=True):
        if isinstance(result, DocVLMError):
            record_failure(outcome, result, started)
            continue
        outcome.warnings = list(result.metadata.get("warnings", []))
        for page in result.pages:
            _record_page(outcome, page, cache, file_hash)
            if on_page is not None:
                on_page(page)
        outcome.rendered = render(result, output_format, include_furniture)
    return outcomes


def record_failure(outcome: DocumentOutcome, failure: DocVLMError, started: float) -> None:
    """The one manifest row and message of an input that produced no pages."""
    name = display_path(outcome.input.path)
    message = str(failure) if str(failure).startswith(name) else f"{name}: {failure}"
    outcome.errors.append(message)
    outcome.rows.append(
        {
            "input": name,
            "page": None,
            "hash": None,
            "engine": None,
            "status": "error",
            "error_kind": failure.kind,
            "error": message,
            "seconds": round(time.perf_counter() - started, 4),
            "output": None,
        }
    )


def _read(item: InputFile) -> tuple[bytes | None, DocVLMError | None]:
    try:
        return item.path.read_bytes(), None
    except OSError as error:
        reason = error.strerror or str(error)
        return None, UnreadableFileError(f"{display_path(item.path)}: cannot read ({reason})")


def _cached_page(cache: PageCache, file_hash: str, number: int) -> Page | None:
    return cache.load(cache.page_hash(file_hash, number))


def _record_page(outcome: DocumentOutcome, page: Page, cache: PageCache, file_hash: str) -> None:
    page_hash = cache.page_hash(file_hash, page.number)
    cache.store(page_hash, page)
    name = display_path(outcome.input.path)
    outcome.rows.append(
        {
            "input": name,
            "page": page.number,
            "hash": page_hash,
            "engine": page.engine,
            "status": page.status,
            "error_kind": page.error_kind,
            "error": page.error,
            "seconds": round(page.seconds, 4),
            "output": str(outcome.input.output_stem),
            "warnings": outcome.warnings,
        }
    )
    if page.status == "error":
        outcome.errors.append(f"{name}: page {page.number}: {page.error}")
