"""Batch runs: many inputs → one output each, a per-page manifest, a page cache for resume."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from docvlm.document import Document, Page
from docvlm.errors import DocVLMError, UnreadableFileError
from docvlm.output import atomic_write_text, remove_stale_temp_files
from docvlm.pipeline import Parser, ParseRequest
from docvlm.sources import IMAGE_SUFFIXES, PDF_SUFFIXES

OutputFormat = Literal["md", "json", "html"]
FORMAT_SUFFIX = {"md": ".md", "json": ".json", "html": ".html"}
DOCUMENT_SUFFIXES = PDF_SUFFIXES | IMAGE_SUFFIXES
MANIFEST_NAME = "manifest.jsonl"
CACHE_DIR = ".docvlm-cache"


@dataclass(frozen=True)
class InputFile:
    path: Path
    output_stem: Path  # where its output goes, relative to the output folder, no suffix


@dataclass
class DocumentOutcome:
    """What happened to one input: its rendered output (if any) and its manifest rows."""

    input: InputFile
    rendered: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one-line messages for stderr


def display_path(path: Path | str) -> str:
    """A path printable on any terminal (undecodable bytes in file names are escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def collect_inputs(arguments: Sequence[str | Path]) -> list[InputFile]:
    """Files named directly plus documents found under directories (recursively, loop-safe)."""
    found: list[tuple[Path, Path]] = []
    for argument in map(Path, arguments):
        if argument.is_dir():
            prefix = Path(argument.resolve().name) if len(arguments) > 1 else Path()
            found += [(path, prefix / path.relative_to(argument)) for path in _walk(argument)]
        else:
            found.append((argument, Path(argument.name)))

    seen: set[Path] = set()
    unique: list[tuple[Path, Path]] = []
    for path, relative in found:
        key = path.resolve() if path.exists() else path.absolute()
        if key not in seen:
            seen.add(key)
            unique.append((path, relative))

    stems = [relative.with_suffix("") for _, relative in unique]
    clashing = {stem for stem in stems if stems.count(stem) > 1}
    return [
        InputFile(path, relative if stem in clashing else stem)
        for (path, relative), stem in zip(unique, stems, strict=True)
    ]


def _walk(root: Path) -> Iterator[Path]:
    visited: set[tuple[int, int]] = set()
    for directory, subdirectories, files in os.walk(root, followlinks=True):
        stat = os.stat(directory)
        if (stat.st_dev, stat.st_ino) in visited:  # a symlink loop: this folder was walked
            subdirectories.clear()
            continue
        visited.add((stat.st_dev, stat.st_ino))
        subdirectories.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in DOCUMENT_SUFFIXES:
                yield Path(directory) / name


def render(document: Document, output_format: OutputFormat, include_furniture: bool) -> str:
    """The document as markdown, JSON or HTML text."""
    if output_format == "json":
        return document.to_json() + "\n"
    if output_format == "html":
        return document.to_html(include_furniture=True)
    return document.to_markdown(include_furniture=include_furniture)


class Manifest:
    """`manifest.jsonl`: one row per page; rows are appended as pages finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        if path.exists():
            text = path.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                try:
                    self.rows.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut short by a kill mid-write
                    continue
            if text and not text.endswith("\n"):
                self.compact()
        self._keys = {_row_key(row) for row in self.rows}

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self._keys.add(_row_key(row))
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    def has(self, row: dict[str, Any]) -> bool:
        return _row_key(row) in self._keys

    def compact(self) -> None:
        """Rewrite the manifest keeping the newest row per (input, page)."""
        latest: dict[tuple[Any, Any], dict[str, Any]] = {}
        for row in self.rows:
            latest.pop((row.get("input"), row.get("page")), None)
            latest[(row.get("input"), row.get("page"))] = row
        self.rows = list(latest.values())
        self._keys = {_row_key(row) for row in self.rows}
        atomic_write_text(self.path, "".join(json.dumps(row) + "\n" for row in self.rows))


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row.get("input"), row.get("page"), row.get("hash"), row.get("status"))


class PageCache:
    """Parsed pages stored by content hash (file bytes + page + options), for resume.

    With `folder=None` nothing is stored or read (single-file runs are not resumed).
    """

    def __init__(self, folder: Path | None, options: dict[str, Any], force: bool = False) -> None:
        self.folder = folder
        self.options_key = _sha(json.dumps(options, sort_keys=True, default=str).encode())
        self.force = force

    def page_hash(self, file_hash: str, number: int) -> str:
        return _sha(f"{file_hash}:{number}:{self.options_key}".encode())

    def load(self, page_hash: str) -> Page | None:
        if self.folder is None or self.force:
            return None
        path = self.folder / f"{page_hash}.json"
        if not path.exists():
            return None
        try:
            return Page.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            return None

    def store(self, page_hash: str, page: Page) -> None:
        if self.folder is not None and page.status != "error":
            atomic_write_text(self.folder / f"{page_hash}.json", page.model_dump_json())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


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
        file_hash = _sha(data)
        document = Document()

        def keep_header(empty: Document) -> None:
            document.source, document.page_count = empty.source, empty.page_count
            document.metadata = empty.metadata

        try:
            for page in parser.iter_pages(
                data,
                pages=pages,
                password=password,
                name=display_path(item.path),
                on_open=keep_header,
                cached=partial(_cached_page, cache, file_hash),
            ):
                _record_page(outcome, page, cache, file_hash, document.metadata)
                document.pages.append(page)
                if on_page is not None:
                    on_page(page)
        except DocVLMError as error:
            failure = error
        else:
            parser.finish(document)
            outcome.rendered = render(document, output_format, include_furniture)
    if failure is not None:
        _record_failure(outcome, failure, started)
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
            _record_failure(outcome, failure, started)
            continue
        file_hash = _sha(data)
        name = display_path(outcome.input.path)
        cached = partial(_cached_page, cache, file_hash)
        requests.append(ParseRequest(data, pages, password, name, cached))
        opened.append((outcome, file_hash))
    for (outcome, file_hash), result in zip(opened, parser.parse_many(requests), strict=True):
        if isinstance(result, DocVLMError):
            _record_failure(outcome, result, started)
            continue
        for page in result.pages:
            _record_page(outcome, page, cache, file_hash, result.metadata)
            if on_page is not None:
                on_page(page)
        outcome.rendered = render(result, output_format, include_furniture)
    return outcomes


def _read(item: InputFile) -> tuple[bytes | None, DocVLMError | None]:
    try:
        return item.path.read_bytes(), None
    except OSError as error:
        reason = error.strerror or str(error)
        return None, UnreadableFileError(f"{display_path(item.path)}: cannot read ({reason})")


def _cached_page(cache: PageCache, file_hash: str, number: int) -> Page | None:
    return cache.load(cache.page_hash(file_hash, number))


def _record_page(
    outcome: DocumentOutcome,
    page: Page,
    cache: PageCache,
    file_hash: str,
    metadata: dict[str, Any],
) -> None:
    page_hash = cache.page_hash(file_hash, page.number)
    cache.store(page_hash, page)
    name = display_path(outcome.input.path)
    row = _page_row(name, page, page_hash, outcome.input)
    row["warnings"] = metadata.get("warnings", [])
    outcome.rows.append(row)
    if page.status == "error":
        outcome.errors.append(f"{name}: page {page.number}: {page.error}")


def _record_failure(outcome: DocumentOutcome, failure: DocVLMError, started: float) -> None:
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


def _page_row(name: str, page: Page, page_hash: str, item: InputFile) -> dict[str, Any]:
    return {
        "input": name,
        "page": page.number,
        "hash": page_hash,
        "engine": page.engine,
        "status": page.status,
        "error_kind": page.error_kind,
        "error": page.error,
        "seconds": round(page.seconds, 4),
        "output": str(item.output_stem),
    }


_worker_parser: Parser | None = None


def _init_worker(parser_options: dict[str, Any]) -> None:
    global _worker_parser
    _worker_parser = Parser(**parser_options)


def _parse_in_worker(item: InputFile, cache: PageCache, options: dict[str, Any]) -> DocumentOutcome:
    assert _worker_parser is not None
    return parse_input(_worker_parser, item, cache, **options)


def run_batch(
    inputs: Sequence[InputFile],
    out_dir: Path,
    parser_options: dict[str, Any],
    *,
    output_format: OutputFormat = "md",
    include_furniture: bool = False,
    pages: str | None = None,
    password: str | None = None,
    force: bool = False,
    workers: int = 1,
    ray_address: str | None = None,
    num_gpus: float = 0.0,
    on_document: Callable[[DocumentOutcome], None] | None = None,
    on_page: Callable[[Page], None] | None = None,
) -> list[DocumentOutcome]:
    """Parse every input into `out_dir` with a manifest; pages already done are reused.

    Documents run in this process (`workers=1`), in a process pool, or as Ray Data actors
    (`ray_address`: "local" or a cluster address); outputs and manifest are written here.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(out_dir)
    manifest = Manifest(out_dir / MANIFEST_NAME)
    parser = Parser(**parser_options)
    cache = PageCache(out_dir / CACHE_DIR, parser.options(), force=force)
    options: dict[str, Any] = dict(
        output_format=output_format,
        include_furniture=include_furniture,
        pages=pages,
        password=password,
    )
    suffix = FORMAT_SUFFIX[output_format]
    outcomes: list[DocumentOutcome] = []

    if ray_address is not None:
        from docvlm.distributed import ray_outcomes

        stream: Iterator[DocumentOutcome] = ray_outcomes(
            inputs, parser_options, cache, options, ray_address, workers, num_gpus
        )
    elif workers > 1:
        stream = _pool_outcomes(inputs, parser_options, cache, options, workers)
    elif parser.batches_across_documents:
        stream = _grouped_outcomes(parser, inputs, cache, options, on_page)
    else:
        stream = (parse_input(parser, item, cache, on_page=on_page, **options) for item in inputs)

    for outcome in stream:
        if outcome.rendered is not None:
            atomic_write_text(out_dir / f"{outcome.input.output_stem}{suffix}", outcome.rendered)
            outcome.rendered = None  # written: keep memory flat over long batches
        for row in outcome.rows:
            if not manifest.has(row):
                manifest.append(row)
        outcomes.append(outcome)
        if on_document is not None:
            on_document(outcome)
    manifest.compact()
    return outcomes


def _grouped_outcomes(
    parser: Parser,
    inputs: Sequence[InputFile],
    cache: PageCache,
    options: dict[str, Any],
    on_page: Callable[[Page], None] | None,
) -> Iterator[DocumentOutcome]:
    # Groups of `batch_size` documents hold at least `batch_size` pages: full VLM batches.
    size = parser.batch_size
    for start in range(0, len(inputs), size):
        group = inputs[start : start + size]
        yield from parse_inputs(parser, group, cache, on_page=on_page, **options)


def _pool_outcomes(
    inputs: Sequence[InputFile],
    parser_options: dict[str, Any],
    cache: PageCache,
    options: dict[str, Any],
    workers: int,
) -> Iterator[DocumentOutcome]:
    pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(parser_options,))
    with pool:
        futures = [pool.submit(_parse_in_worker, item, cache, options) for item in inputs]
        for future in futures:
            yield future.result()
