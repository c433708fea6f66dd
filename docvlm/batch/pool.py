"""Documents in worker processes: one Parser per worker, and a crashed worker costs one
document, not the batch."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from docvlm.errors import WorkerCrashedError
from docvlm.pipeline import Parser

from .cache import PageCache
from .inputs import InputFile, display_path
from .outcome import DocumentOutcome, parse_input, record_failure

_worker_parser: Parser | None = None


def _init_worker(parser_options: dict[str, Any]) -> None:
    global _worker_parser
    _worker_parser = Parser(**parser_options)


def _parse_in_worker(item: InputFile, cache: PageCache, options: dict[str, Any]) -> DocumentOutcome:
    assert _worker_parser is not None
    return parse_input(_worker_parser, item, cache, **options)


def pool_outcomes(
    inputs: Sequence[InputFile],
    parser_options: dict[str, Any],
    cache: PageCache,
    options: dict[str, Any],
    workers: int,
) -> Iterator[DocumentOutcome]:
    """Outcomes of every input, parsed by `workers` processes, in completion order.

    At most `workers` documents are in flight, so when the pool breaks only those are
    suspects. Each is retried alone in a fresh one-process pool: the one that kills its
    worker again gets an error row, the others their outcome; the rest go on in a new pool.
    """
    pending = list(inputs)
    while pending:
        suspects: list[InputFile] = []
        with _pool(workers, parser_options) as pool:
            running: dict[Future, InputFile] = {}
            while pending or running:
                while pending and len(running) < workers:
                    item = pending.pop(0)
                    running[pool.submit(_parse_in_worker, item, cache, options)] = item
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                try:
                    for future in done:
                        outcome = future.result()
                        del running[future]
                        yield outcome
                except BrokenProcessPool:
                    suspects = list(running.values())
                    break
        for item in suspects:
            yield _isolated(item, parser_options, cache, options)


def _isolated(
    item: InputFile, parser_options: dict[str, Any], cache: PageCache, options: dict[str, Any]
) -> DocumentOutcome:
    started = time.perf_counter()
    with _pool(1, parser_options) as pool:
        try:
            return pool.submit(_parse_in_worker, item, cache, options).result()
        except BrokenProcessPool:
            outcome = DocumentOutcome(item)
            message = "the worker process died on this document (out of memory, or a crash)"
            record_failure(outcome, WorkerCrashedError(f"{display_path(item.path)}: {message}"),
                           started)  # fmt: skip
            return outcome


def _pool(workers: int, parser_options: dict[str, Any]) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(parser_options,))
