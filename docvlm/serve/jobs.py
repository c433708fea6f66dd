"""Parse and extract jobs on a bounded queue of worker threads that share the loaded engines.

Sync requests and tasks both run here, so the bound holds for all the work a server accepts:
past `capacity` jobs waiting or running, a new one is refused with 429 at once. A job checks
for cancellation and for its deadline between pages; a page already started runs to its end.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from docvlm.document import Document, Page
from docvlm.errors import DocVLMError, PageTimeoutError, TooManyPagesError
from docvlm.extraction import ExtractionResult, extract
from docvlm.pipeline import DEFAULT_MAX_PAGES
from docvlm.serve.engines import SharedEngines
from docvlm.serve.errors import ApiError
from docvlm.serve.uploads import Upload
from docvlm.sources import open_source, parse_page_range

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED = ("done", "failed", "cancelled")
MAX_KEPT_TASKS = 1024
T = TypeVar("T")


class _Cancelled(Exception):
    pass


@dataclass
class JobRequest:
    """What to do with one uploaded file: parse it, or extract `schema` from it."""

    kind: Literal["parse", "extract"]
    path: Path
    name: str
    pages: str | None = None
    password: str | None = None
    engine: str | None = None
    ocr_lang: str | None = None
    output_format: str = "json"
    schema: dict[str, Any] | None = None
    date_order: str | None = None
    min_confidence: float | None = None


class Job:
    """One request's work and result; its pages grow while a worker parses it."""

    def __init__(self, request: JobRequest, upload: Upload, timeout: float) -> None:
        self.id = secrets.token_urlsafe(12)
        self.request = request
        self.upload = upload
        self.timeout = timeout
        self.status: JobStatus = "queued"
        self.pages: list[Page] = []
        self.pages_total: int | None = None
        self.document: Document | None = None
        self.extraction: ExtractionResult | None = None
        self.error: ApiError | None = None
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self._cancel = threading.Event()

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def cancel(self) -> None:
        """Stop at the next page boundary (or before starting)."""
        self._cancel.set()

    def fail(self, error: ApiError) -> None:
        if not self.is_finished:
            self.error, self.status, self.finished = error, "failed", time.time()
        self._cancel.set()

    def run(self, engines: SharedEngines) -> None:
        """Do the work in a worker thread; every outcome lands in status / result / error."""
        if self._cancel.is_set():
            self.status, self.finished = "cancelled", time.time()
            return
        self.status, self.started = "running", time.time()
        deadline = time.monotonic() + self.timeout
        try:
            if self.request.kind == "extract":
                self.extraction = self._extract(engines)
            else:
                self.document = self._parse(engines, deadline)
        except _Cancelled:
            if not self.is_finished:
                self.status = "cancelled"
        except DocVLMError as error:
            self.error = ApiError.from_docvlm(error)
        except ApiError as error:
            self.error = error
        except Exception as error:  # a bug must answer as one request, not kill the worker
            self.error = ApiError(500, "internal", f"{type(error).__name__}: {error}")
        if not self.is_finished:
            self.status = "failed" if self.error else "done"
        self.finished = self.finished or time.time()

    def _parse(self, engines: SharedEngines, deadline: float) -> Document:
        request = self.request
        parser = engines.parser(request.engine, request.ocr_lang)
        document = Document()

        def keep_header(empty: Document) -> None:
            document.source, document.page_count = empty.source, empty.page_count
            document.metadata = empty.metadata
            self.pages_total = len(parse_page_range(request.pages, empty.page_count))

        pages = parser.iter_pages(
            request.path,
            pages=request.pages,
            password=request.password,
            name=request.name,
            on_open=keep_header,
        )
        for page in pages:
            self.pages.append(page)
            if self._cancel.is_set():
                raise _Cancelled
            if time.monotonic() > deadline:
                raise PageTimeoutError(
                    f"{request.name}: not done after {self.timeout:g} s (--timeout)"
                )
        document.pages = list(self.pages)
        parser.finish(document)
        return document

    def _extract(self, engines: SharedEngines) -> ExtractionResult:
        request = self.request
        max_pages = engines.parser_options.get("max_pages", DEFAULT_MAX_PAGES)
        with open_source(request.path, password=request.password, pages=request.pages) as source:
            if len(source.page_numbers) > max_pages:
                raise TooManyPagesError(
                    f"{request.name}: {len(source.page_numbers)} pages selected, over the "
                    f"limit of {max_pages} (--max-pages, or select pages with pages=)"
                )
        return extract(
            request.path,
            request.schema,
            model=engines.vlm,
            pages=request.pages,
            password=request.password,
            ocr_language=request.ocr_lang or engines.default_ocr_lang,
            date_order=request.date_order,  # type: ignore[arg-type]
            min_confidence=request.min_confidence,
        )

    def summary(self) -> dict[str, Any]:
        """The status a client polls: pages done of total, and the error once failed."""
        summary: dict[str, Any] = {
            "id": self.id,
            "kind": self.request.kind,
            "status": self.status,
            "pages_done": len(self.pages),
            "pages_total": self.pages_total,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }
        if self.error is not None:
            summary["error"] = {"kind": self.error.kind, "message": self.error.message}
        return summary


class JobQueue:
    """`workers` threads over at most `capacity` jobs; finished tasks are kept for `ttl` s."""

    def __init__(self, engines: SharedEngines, workers: int, capacity: int, ttl: float) -> None:
        self.engines = engines
        self.workers = max(1, workers)
        self.capacity = max(1, capacity)
        self.ttl = ttl
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="docvlm-worker")
        self._tasks: OrderedDict[str, Job] = OrderedDict()
        self._active = 0
        self._durations: deque[float] = deque(maxlen=32)
        self._lock = threading.Lock()

    @property
    def length(self) -> int:
        """Jobs waiting or running."""
        return self._active

    @property
    def task_count(self) -> int:
        return len(self._tasks)

    def submit(self, job: Job, *, keep: bool) -> Future:
        """Start `job` (kept as a task when `keep`), or refuse it with 429 when full."""
        self._sweep()
        with self._lock:
            if self._active >= self.capacity:
                raise ApiError(
                    429,
                    "queue_full",
                    f"{self._active} jobs are queued or running (capacity {self.capacity}); "
                    "retry later",
                    headers={"Retry-After": str(self._retry_after())},
                )
            self._active += 1
            if keep:
                self._tasks[job.id] = job
        return self._executor.submit(self._run, job)

    def _run(self, job: Job) -> None:
        started = time.monotonic()
        try:
            job.run(self.engines)
        finally:
            with self._lock:
                self._active -= 1
                self._durations.append(time.monotonic() - started)
            # Only a parsed task's pages are drawn again (the review page); the rest go now.
            if job.id not in self._tasks or job.status != "done" or job.request.kind != "parse":
                job.upload.remove()

    def call(self, function: Callable[..., T], *args: Any) -> Future:
        """Run a small read of a kept upload (a page image) on a worker thread, like parsing,
        so every PyMuPDF call happens on the threads that own documents."""
        return self._executor.submit(function, *args)

    def get(self, task_id: str) -> Job:
        self._sweep()
        job = self._tasks.get(task_id)
        if job is None:
            raise ApiError(404, "not_found", f"no task {task_id!r} (finished tasks expire)")
        return job

    def remove(self, task_id: str) -> Job:
        """Cancel a task; a finished one is dropped with its upload."""
        job = self.get(task_id)
        job.cancel()
        if job.is_finished:
            with self._lock:
                self._tasks.pop(task_id, None)
            job.upload.remove()
        return job

    def shutdown(self) -> None:
        for job in list(self._tasks.values()):
            job.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for job in self._tasks.values():
            job.upload.remove()

    def _retry_after(self) -> int:
        typical = sum(self._durations) / len(self._durations) if self._durations else 1.0
        waiting = self._active - self.workers + 1
        return min(3600, max(1, math.ceil(typical * waiting / self.workers)))

    def _sweep(self) -> None:
        """Drop tasks finished more than `ttl` ago, and the oldest past MAX_KEPT_TASKS."""
        now = time.time()
        with self._lock:
            finished = [j for j in self._tasks.values() if j.is_finished]
            expired = [j for j in finished if now - (j.finished or now) > self.ttl]
            expired += finished[: max(0, len(self._tasks) - MAX_KEPT_TASKS)]
            for job in expired:
                self._tasks.pop(job.id, None)
        for job in expired:
            job.upload.remove()
