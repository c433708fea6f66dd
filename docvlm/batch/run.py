"""A batch run: every input into an output folder, with a manifest and a page cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from docvlm.document import Page
from docvlm.output import atomic_write_text, remove_stale_temp_files
from docvlm.pipeline import Parser

from .cache import CACHE_DIR, PageCache
from .inputs import InputFile
from .manifest import MANIFEST_NAME, Manifest
from .outcome import FORMAT_SUFFIX, DocumentOutcome, OutputFormat, parse_input, parse_inputs
from .pool import pool_outcomes


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
        stream = pool_outcomes(inputs, parser_options, cache, options, workers)
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
