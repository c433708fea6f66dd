"""`docvlm.Client`: call a `docvlm serve` over HTTP and get the local API's objects back.

    client = docvlm.Client("http://127.0.0.1:8000", api_key="...")
    document = client.parse("report.pdf")             # a docvlm.Document
    result = client.extract("invoice.pdf", schema)    # an ExtractionResult
    document = client.wait(client.submit("big.pdf"), progress=True)

A server error raises the local error type of its kind (EncryptedPDFError, SchemaError, ...)
or a ServiceError (queue full, unauthorized, timeout, ...), each with `.status` set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from docvlm import errors
from docvlm.document import Document, Page
from docvlm.extraction import ExtractionResult

Progress = Callable[[int, int | None], None]
FileInput = str | Path | bytes


class ServiceError(errors.DocVLMError):
    """An HTTP answer with no local error type: `status`, `kind`, and `retry_after` for 429."""

    def __init__(self, message: str, status: int, kind: str, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.retry_after = retry_after


_ERRORS_BY_KIND = {
    cls.kind: cls
    for cls in vars(errors).values()
    if isinstance(cls, type)
    and issubclass(cls, errors.DocVLMError)
    and cls is not errors.DocVLMError
}


class Client:
    """A connection to one docvlm server; use as a context manager or call close()."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        """Engines loaded, versions and queue length of the server."""
        return self._call("GET", "/health").json()

    def parse(
        self,
        file: FileInput,
        *,
        pages: str | None = None,
        engine: str | None = None,
        ocr_lang: str | None = None,
        password: str | None = None,
        filename: str | None = None,
    ) -> Document:
        """Parse on the server now; the same Document `docvlm.parse` returns."""
        fields = _fields(pages=pages, engine=engine, ocr_lang=ocr_lang, password=password)
        response = self._call("POST", "/v1/parse", files=_file(file, filename), data=fields)
        return Document.model_validate_json(response.content)

    def extract(
        self,
        file: FileInput,
        schema: Any,
        *,
        pages: str | None = None,
        ocr_lang: str | None = None,
        password: str | None = None,
        date_order: str | None = None,
        min_confidence: float | None = None,
        filename: str | None = None,
    ) -> ExtractionResult:
        """Fill `schema` (JSON Schema dict or text, or a pydantic model class) on the server."""
        fields = _fields(pages=pages, ocr_lang=ocr_lang, password=password, date_order=date_order)
        if min_confidence is not None:
            fields["min_confidence"] = str(min_confidence)
        fields["schema"] = _schema_text(schema)
        response = self._call("POST", "/v1/extract", files=_file(file, filename), data=fields)
        return ExtractionResult.from_dict(response.json())

    def submit(
        self,
        file: FileInput,
        *,
        schema: Any = None,
        pages: str | None = None,
        engine: str | None = None,
        ocr_lang: str | None = None,
        password: str | None = None,
        filename: str | None = None,
    ) -> str:
        """Start a task (an extract task when `schema` is given); returns its id."""
        fields = _fields(pages=pages, engine=engine, ocr_lang=ocr_lang, password=password)
        if schema is not None:
            fields.pop("engine", None)
            fields["schema"] = _schema_text(schema)
        response = self._call("POST", "/v1/tasks", files=_file(file, filename), data=fields)
        return response.json()["id"]

    def status(self, task_id: str) -> dict[str, Any]:
        """Status, pages done and total of a task."""
        return self._call("GET", f"/v1/tasks/{task_id}").json()

    def result(self, task_id: str) -> Document | ExtractionResult:
        """A finished task's Document (parse) or ExtractionResult (extract)."""
        payload = self._call("GET", f"/v1/tasks/{task_id}/result").json()
        if "data" in payload and "fields" in payload:
            return ExtractionResult.from_dict(payload)
        return Document.model_validate(payload)

    def cancel(self, task_id: str) -> dict[str, Any]:
        """Cancel a task (a finished one is dropped); returns its status."""
        return self._call("DELETE", f"/v1/tasks/{task_id}").json()

    def pages(self, task_id: str) -> Iterator[Page]:
        """Pages of a parse task as the server finishes them."""
        with self._http.stream("GET", f"/v1/tasks/{task_id}/pages") as response:
            if response.status_code >= 400:
                response.read()
                _raise(response)
            for line in response.iter_lines():
                if not line.strip():
                    continue
                entry = json.loads(line)
                if "number" not in entry:  # the closing line of a task that failed
                    _raise_error(entry["error"], entry.get("status", 500))
                yield Page.model_validate(entry)

    def wait(
        self,
        task_id: str,
        *,
        progress: Progress | bool = False,
        poll: float = 0.25,
        timeout: float | None = None,
    ) -> Document | ExtractionResult:
        """Poll a task until it finishes and return its result; `progress(done, total)` is
        called on every change (`True`: a tqdm bar). A failed task raises its error."""
        report = _progress_bar(task_id) if progress is True else progress or None
        started = time.monotonic()
        last = None
        while True:
            status = self.status(task_id)
            seen = (status["pages_done"], status["pages_total"])
            if report is not None and seen != last:
                report(*seen)
                last = seen
            if status["status"] in ("done", "failed", "cancelled"):
                return self.result(task_id)
            if timeout is not None and time.monotonic() - started > timeout:
                raise TimeoutError(f"task {task_id} not done after {timeout:g} s")
            time.sleep(poll)

    def _call(self, method: str, path: str, **request: Any) -> httpx.Response:
        response = self._http.request(method, path, **request)
        if response.status_code >= 400:
            _raise(response)
        return response


def _fields(**options: str | None) -> dict[str, str]:
    return {name: value for name, value in options.items() if value is not None}


def _file(file: FileInput, filename: str | None) -> dict[str, tuple[str, bytes]]:
    if isinstance(file, bytes):
        return {"file": (filename or "upload", file)}
    path = Path(file)
    return {"file": (filename or path.name, path.read_bytes())}


def _schema_text(schema: Any) -> str:
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        schema = schema.model_json_schema()
    return schema if isinstance(schema, str) else json.dumps(schema)


def _raise(response: httpx.Response) -> None:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = {"kind": "http_error", "message": response.text[:500]}
    retry_after = response.headers.get("retry-after")
    _raise_error(error, response.status_code, float(retry_after) if retry_after else None)


def _raise_error(error: dict[str, str], status: int, retry_after: float | None = None) -> None:
    kind, message = error.get("kind", "error"), error.get("message", "")
    local = _ERRORS_BY_KIND.get(kind)
    if local is not None and status != 504:
        raised = local(message)
        raised.status = status  # type: ignore[attr-defined]
        raise raised
    raise ServiceError(message, status, kind, retry_after)


def _progress_bar(task_id: str) -> Progress:
    from tqdm import tqdm

    bar = tqdm(unit="page", desc=task_id)

    def update(done: int, total: int | None) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update
