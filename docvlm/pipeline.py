"""Parser: open a source, route each page to an engine, and assemble the Document."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from docvlm.document import Block, Document, Page
from docvlm.engines.base import Engine
from docvlm.errors import (
    DocVLMError,
    EngineUnavailableError,
    PageTimeoutError,
    TooManyPagesError,
)
from docvlm.furniture import mark_furniture
from docvlm.sources import (
    DEFAULT_SIZE,
    MAX_PAGE_PIXELS,
    Rasterizer,
    SourceDocument,
    SourcePage,
    open_source,
)

if TYPE_CHECKING:  # the runtime imports torch: only the VLM engine loads it
    from docvlm.model.runtime import Quantize

EngineName = Literal["auto", "text", "ocr", "vlm"]
ENGINE_NAMES = ("auto", "text", "ocr", "vlm")
DEGENERATE_FLAG = "degenerate"
DEFAULT_MAX_PAGES = 5000


@dataclass
class ParseRequest:
    """One source to parse, with its page selection; `cached(number)` may return a Page
    parsed earlier, used instead of parsing that page again."""

    source: str | Path | bytes
    pages: str | Sequence[int] | None = None
    password: str | None = None
    name: str | None = None
    cached: Callable[[int], Page | None] | None = None


class Parser:
    """Reusable parser: engines are loaded once and shared by every document it parses."""

    def __init__(
        self,
        engine: EngineName = "auto",
        *,
        model: str | Path | None = None,
        adapter: str | Path | None = None,
        ocr_backend: str = "auto",
        ocr_languages: str = "eng",
        rasterizer: Rasterizer = "pymupdf",
        size: int = DEFAULT_SIZE,
        batch_size: int = 1,
        max_pixels: int = MAX_PAGE_PIXELS,
        max_pages: int = DEFAULT_MAX_PAGES,
        page_timeout: float | None = None,
        engines: Mapping[str, Engine] | None = None,
        device: str = "auto",
        dtype: str = "auto",
        quantize: Quantize | None = None,
        attn: str | None = None,
        max_new_tokens: int = 4096,
        crop: bool = False,
        max_tiles: int = 6,
        task: str = "ocr",
    ) -> None:
        """`engines` maps "text" / "ocr" / "vlm" to ready engine instances that replace the
        built-in ones (custom engines, or a VLM engine already loaded). `device` to `task`
        configure the VLM engine (`VLMEngine`) and apply only with `model`."""
        if engine not in ENGINE_NAMES:
            raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINE_NAMES)}")
        self._engines: dict[str, Engine] = dict(engines or {})
        if engine == "vlm" and model is None and "vlm" not in self._engines:
            raise EngineUnavailableError("--engine vlm needs a model: pass --model DIR")
        if model is not None and "vlm" not in self._engines:
            # A mistyped --model fails here, not as a silent OCR fallback on every page.
            from docvlm.model.runtime import check_model_dir, resolve_checkpoint

            check_model_dir(resolve_checkpoint(model))
        self.engine = engine
        self.model = model
        self.adapter = adapter
        self.ocr_backend = ocr_backend
        self.ocr_languages = ocr_languages
        self.rasterizer = rasterizer
        self.size = size
        self.batch_size = max(1, batch_size)
        self.max_pixels = max_pixels
        self.max_pages = max_pages
        self.page_timeout = page_timeout
        self.vlm_options: dict[str, Any] = {}
        if model is not None:
            self.vlm_options = dict(
                device=device,
                dtype=dtype,
                quantize=quantize,
                attn=attn,
                max_new_tokens=max_new_tokens,
                crop=crop,
                max_tiles=max_tiles,
                task=task,
            )

    @property
    def batches_across_documents(self) -> bool:
        """Whether batch runs should group documents: VLM batches of several pages."""
        return self.batch_size > 1 and (self.model is not None or "vlm" in self._engines)

    def options(self) -> dict[str, Any]:
        """The settings that change what a page parses to (for manifests and cache keys)."""
        return {
            "engine": self.engine,
            "model": str(self.model) if self.model else None,
            "adapter": str(self.adapter) if self.adapter else None,
            "ocr_backend": self.ocr_backend,
            "ocr_languages": self.ocr_languages,
            "rasterizer": self.rasterizer,
            "size": self.size,
            **{k: v for k, v in sorted(self.vlm_options.items())},
        }

    def get_engine(self, name: str) -> Engine:
        """The engine called `name`, created on first use."""
        if name not in self._engines:
            self._engines[name] = self._create_engine(name)
        return self._engines[name]

    def _create_engine(self, name: str) -> Engine:
        if name == "text":
            from docvlm.engines.textlayer import TextLayerEngine

            return TextLayerEngine()
        if name == "ocr":
            from docvlm.engines.ocr import OCREngine

            # A forced --engine ocr reads the pixels alone: the text layer is what it distrusts.
            return OCREngine(
                backend=self.ocr_backend,
                languages=self.ocr_languages,
                keep_text_layer=self.engine == "auto",
            )
        if name == "vlm":
            from docvlm.engines.vlm import VLMEngine

            return VLMEngine(model=self.model, adapter=self.adapter, **self.vlm_options)
        raise ValueError(f"unknown engine {name!r}")

    def route(self, page: SourcePage) -> tuple[str, str]:
        """Which engine parses `page`, and why."""
        if self.engine != "auto":
            return self.engine, f"--engine {self.engine}"
        probe = page.probe
        if probe.trusted:
            return "text", probe.reason
        if self.model is not None or "vlm" in self._engines:
            return "vlm", probe.reason
        return "ocr", probe.reason

    def fallback_engine(self, page: SourcePage, failed: str) -> str | None:
        """The engine an auto-routed page falls back to when `failed` could not parse it."""
        if self.engine != "auto":
            return None
        if failed == "vlm" and page.probe.trusted:
            return "text"
        if failed in ("vlm", "text"):
            return "ocr"
        return None

    def iter_pages(
        self,
        source: str | Path | bytes,
        *,
        pages: str | Sequence[int] | None = None,
        password: str | None = None,
        name: str | None = None,
        on_open: Callable[[Document], None] | None = None,
        cached: Callable[[int], Page | None] | None = None,
    ) -> Iterator[Page]:
        """Parse a source page by page, yielding each Page as soon as it is done.

        Opening errors (corrupt, encrypted, ...) raise; a page that fails yields a Page with
        status "error" and the next page goes on. `cached(number)` may return a Page parsed
        earlier, which is yielded as it is instead of parsing that page again.
        """
        with self._open(ParseRequest(source, pages, password, name)) as opened:
            if on_open is not None:
                on_open(self._empty_document(opened))
            pending: list[int] = []
            for number in opened.page_numbers:
                page = cached(number) if cached is not None else None
                if page is None:
                    pending.append(number)
                    if len(pending) < self.batch_size:
                        continue
                yield from self._parse_chunk(opened, pending)
                pending = []
                if page is not None:
                    yield page
            if pending:
                yield from self._parse_chunk(opened, pending)

    def parse_many(self, requests: Sequence[ParseRequest]) -> list[Document | DocVLMError]:
        """Parse several sources together, so pages of different documents share engine
        batches (a GPU's VLM batch fills up even when every document is one page long).

        Each result is the finished Document or the error that kept its source from opening.
        """
        results: list[Document | DocVLMError] = []
        opened_sources: list[SourceDocument] = []
        work: list[tuple[SourceDocument, int]] = []
        owners: list[Document] = []
        try:
            for request in requests:
                try:
                    opened = self._open(request)
                except DocVLMError as error:
                    results.append(error)
                    continue
                opened_sources.append(opened)
                document = self._empty_document(opened)
                results.append(document)
                for number in opened.page_numbers:
                    page = request.cached(number) if request.cached is not None else None
                    if page is None:
                        work.append((opened, number))
                        owners.append(document)
                    else:
                        document.pages.append(page)
            for document, page in zip(owners, self._parse_items(work), strict=True):
                document.pages.append(page)
        finally:
            for opened in opened_sources:
                opened.close()
        for result in results:
            if isinstance(result, Document):
                result.pages.sort(key=lambda page: page.number)
                self.finish(result)
        return results

    def parse(
        self,
        source: str | Path | bytes,
        *,
        pages: str | Sequence[int] | None = None,
        password: str | None = None,
    ) -> Document:
        """Parse a whole source into a Document (opening errors raise a DocVLMError)."""
        document = Document()

        def keep_header(empty: Document) -> None:
            document.source, document.page_count = empty.source, empty.page_count
            document.metadata = empty.metadata

        document.pages = list(
            self.iter_pages(source, pages=pages, password=password, on_open=keep_header)
        )
        self.finish(document)
        return document

    def finish(self, document: Document) -> None:
        """Document-level passes that need every page (repeated headers → furniture)."""
        mark_furniture([p.blocks for p in document.pages])

    def _empty_document(self, opened: Any) -> Document:
        from docvlm import __version__

        metadata: dict[str, Any] = {"docvlm_version": __version__, "options": self.options()}
        if opened.pdf is not None:
            metadata["pdf"] = {k: v for k, v in (opened.pdf.metadata or {}).items() if v}
        if opened.warnings:
            metadata["warnings"] = list(opened.warnings)
        return Document(source=opened.name, page_count=opened.page_count, metadata=metadata)

    def _open(self, request: ParseRequest) -> SourceDocument:
        opened = open_source(
            request.source,
            password=request.password,
            pages=request.pages,
            rasterizer=self.rasterizer,
            size=self.size,
            max_pixels=self.max_pixels,
            name=request.name,
        )
        if len(opened.page_numbers) > self.max_pages:
            opened.close()
            raise TooManyPagesError(
                f"{opened.name}: {len(opened.page_numbers)} pages selected, over the "
                f"limit of {self.max_pages} (--max-pages, or select pages with --pages)"
            )
        return opened

    def _parse_chunk(self, opened: SourceDocument, numbers: list[int]) -> list[Page]:
        return self._parse_items([(opened, number) for number in numbers])

    def _parse_items(self, items: list[tuple[SourceDocument, int]]) -> list[Page]:
        """Route pages (of one or several sources) and run each engine in batches."""
        results: list[Page] = []
        routed: dict[str, list[tuple[SourcePage, Page]]] = {}
        for opened, number in items:
            try:
                source_page = opened.page(number)
            except DocVLMError as error:
                results.append(_failed_page(number, error))
                continue
            try:  # the text-layer probe reads the page: a MuPDF failure fails this page only
                engine_name, reason = self.route(source_page)
            except Exception as error:
                results.append(_failed_page(number, error, source_page))
                continue
            page = Page(
                number=number,
                width=source_page.width,
                height=source_page.height,
                engine=engine_name,
                reason=reason,
            )
            results.append(page)
            routed.setdefault(engine_name, []).append((source_page, page))

        for engine_name, engine_items in routed.items():
            for start in range(0, len(engine_items), self.batch_size):
                self._run_engine(engine_name, engine_items[start : start + self.batch_size])
        return results

    def _run_engine(self, engine_name: str, items: list[tuple[SourcePage, Page]]) -> None:
        started = time.perf_counter()
        try:  # an engine that cannot load (a model, OCR data) fails its pages, not the document
            engine = self.get_engine(engine_name)
        except Exception as error:
            for source_page, page in items:
                self._recover(source_page, page, error=error)
            return
        try:
            with _deadline(self.page_timeout and self.page_timeout * len(items)):
                batches = engine.parse_batch([sp for sp, _ in items])
        except Exception as error:  # one failing engine call must not stop the document
            if len(items) > 1:  # retry one by one so a single bad page fails alone
                for item in items:
                    self._run_engine(engine_name, [item])
                return
            source_page, page = items[0]
            page.seconds = time.perf_counter() - started
            self._recover(source_page, page, error=error)
            return
        per_page = (time.perf_counter() - started) / len(items)
        for (source_page, page), blocks in zip(items, batches, strict=True):
            page.seconds = per_page
            if any(DEGENERATE_FLAG in b.flags for b in blocks):
                self._recover(source_page, page, blocks=blocks)
            else:
                page.blocks = blocks
                _record_findings(page, source_page)

    def _recover(
        self,
        source_page: SourcePage,
        page: Page,
        *,
        error: Exception | None = None,
        blocks: list[Block] | None = None,
    ) -> None:
        """Fall back to another engine after a failure or a looping (degenerate) output."""
        failed = page.engine or ""
        fallback = None
        if not isinstance(error, PageTimeoutError):
            fallback = self.fallback_engine(source_page, failed)
        if error is None:
            why = "output looped (degenerate)"
        elif isinstance(error, DocVLMError):
            why = f"failed ({error})"
        else:
            why = f"failed ({type(error).__name__}: {error})"
        if fallback is None:
            if error is None:
                page.status, page.blocks = "degenerate", blocks or []
            else:
                page.status = "error"
                page.error_kind = error.kind if isinstance(error, DocVLMError) else "engine_error"
                page.error = f"{failed} {why}"
            return
        page.reason = f"{failed} {why}; fell back to {fallback}"
        page.engine = fallback
        self._run_engine(fallback, [(source_page, page)])
        if page.status == "ok":
            page.status = "fallback"


def _failed_page(number: int, error: Exception, source_page: SourcePage | None = None) -> Page:
    """The recorded result of a page that could not even be routed to an engine."""
    kind = error.kind if isinstance(error, DocVLMError) else "page_error"
    message = str(error) if isinstance(error, DocVLMError) else f"{type(error).__name__}: {error}"
    return Page(
        number=number,
        width=source_page.width if source_page is not None else 0.0,
        height=source_page.height if source_page is not None else 0.0,
        status="error",
        error_kind=kind,
        error=message,
    )


def _record_findings(page: Page, source_page: SourcePage) -> None:
    """Copy what the engine learnt about the page (orientation, notes, low confidence)."""
    findings = source_page.findings
    page.orientation = findings.orientation
    if findings.notes:
        page.reason = "; ".join([page.reason, *findings.notes] if page.reason else findings.notes)
    if findings.low_confidence and page.status == "ok":
        page.status = "low_confidence"


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise PageTimeoutError in the main thread when the block runs past `seconds`."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise PageTimeoutError(f"page took longer than {seconds:g} s (--page-timeout)")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse(
    source: str | Path | bytes,
    *,
    pages: str | Sequence[int] | None = None,
    password: str | None = None,
    **parser_options: Any,
) -> Document:
    """Parse a PDF or image into a Document: `docvlm.parse("x.pdf").to_markdown()`.

    Options are keywords only: `pages`, `password`, and any of `Parser`'s (an unknown one is a
    TypeError, never silently ignored).
    """
    return Parser(**parser_options).parse(source, pages=pages, password=password)
