"""The FastAPI app: sync parse / extract, tasks, health, and the review page."""

from __future__ import annotations

import asyncio
import hmac
import importlib.metadata
import json
import math
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from docvlm import __version__
from docvlm.batch import render
from docvlm.document import Document
from docvlm.errors import DocVLMError, EngineUnavailableError
from docvlm.extraction.schema import load_schema
from docvlm.pipeline import ENGINE_NAMES
from docvlm.serve.engines import SharedEngines, check_languages
from docvlm.serve.errors import ApiError, install_error_handlers
from docvlm.serve.jobs import Job, JobQueue, JobRequest
from docvlm.serve.review import page_png, review_payload
from docvlm.serve.settings import ServeSettings
from docvlm.serve.uploads import Upload, check_document_type, make_spool_root, receive_upload

STATIC = Path(__file__).parent / "static"
FORMATS = {"json": "json", "markdown": "md", "md": "md", "html": "html"}
MEDIA_TYPES = {"json": "application/json", "md": "text/markdown", "html": "text/html"}
PARSE_FIELDS = {"pages", "format", "engine", "ocr_lang", "password"}
EXTRACT_FIELDS = {"pages", "ocr_lang", "password", "schema", "date_order", "min_confidence"}
POLL_SECONDS = 0.05
_FORM_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "pages": {"type": "string", "example": "1-3,7"},
                        "format": {"enum": ["json", "markdown", "html"]},
                        "engine": {"enum": list(ENGINE_NAMES)},
                        "ocr_lang": {"type": "string", "example": "eng"},
                        "password": {"type": "string"},
                        "schema": {"type": "string", "description": "JSON Schema (extract)"},
                        "date_order": {"enum": ["dmy", "mdy"], "description": "extract"},
                        "min_confidence": {"type": "number", "description": "extract, 0-1"},
                    },
                }
            }
        },
    }
}


def create_app(settings: ServeSettings, engines: SharedEngines | None = None) -> FastAPI:
    """The service; engines are loaded here (once) unless given ready."""
    parser_options = {**settings.parser_options, "max_pages": settings.max_pages}
    engines = engines or SharedEngines(parser_options, settings.ocr_lang)
    spool_root = make_spool_root()
    queue = JobQueue(engines, settings.workers, settings.queue_size, settings.task_ttl)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        queue.shutdown()
        shutil.rmtree(spool_root, ignore_errors=True)

    app = FastAPI(
        title="docvlm",
        version=__version__,
        description="PDFs and page images → markdown, tables and JSON.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    api = APIRouter(prefix="/v1", dependencies=[Depends(_key_check(settings.api_key))])

    async def accept(request: Request, kind: str) -> Job:
        upload = await receive_upload(request, spool_root, settings.max_upload_bytes)
        try:
            job_request = _job_request(upload, kind)
        except BaseException:
            upload.remove()
            raise
        return Job(job_request, upload, settings.timeout)

    async def run_now(job: Job) -> None:
        """Run a job for a sync request: 429 when full, 504 past the timeout."""
        try:
            future = queue.submit(job, keep=False)
        except ApiError:
            job.upload.remove()
            raise
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), settings.timeout)
        except asyncio.TimeoutError:
            job.fail(ApiError(504, "timeout", f"not done after {settings.timeout:g} s (--timeout)"))
        if job.error is not None:
            raise job.error

    @api.post("/parse", openapi_extra=_FORM_DOC, summary="Parse a document now")
    async def parse(request: Request) -> Response:
        """The Document (as `docvlm parse -f json`), or its markdown / HTML with `format`."""
        job = await accept(request, "parse")
        await run_now(job)
        return _document_response(job.document, job.request.output_format)

    @api.post("/extract", openapi_extra=_FORM_DOC, summary="Extract a JSON Schema now")
    async def extract(request: Request) -> Response:
        """Data, per-field provenance and errors (as `docvlm extract`)."""
        job = await accept(request, "extract")
        await run_now(job)
        return _extraction_response(job)

    @api.post("/tasks", status_code=202, openapi_extra=_FORM_DOC, summary="Submit a task")
    async def submit(request: Request) -> Response:
        """A parse task, or an extract task when the form has a `schema`."""
        upload = await receive_upload(request, spool_root, settings.max_upload_bytes)
        kind = "extract" if "schema" in upload.fields else "parse"
        try:
            job = Job(_job_request(upload, kind), upload, settings.timeout)
            queue.submit(job, keep=True)
        except BaseException:
            upload.remove()
            raise
        body = json.dumps(job.summary())
        headers = {"Location": f"/v1/tasks/{job.id}"}
        return Response(body, 202, headers=headers, media_type="application/json")

    @api.get("/tasks/{task_id}", summary="Task status")
    async def status(task_id: str) -> dict[str, Any]:
        return _check_deadline(queue.get(task_id), settings.timeout).summary()

    @api.get("/tasks/{task_id}/result", summary="Task result")
    async def result(task_id: str, format: str | None = None) -> Response:
        """409 while running; the task's own error once it failed; 410 once cancelled."""
        job = _check_deadline(queue.get(task_id), settings.timeout)
        if not job.is_finished:
            raise ApiError(409, "not_ready", f"task is {job.status}: poll /v1/tasks/{task_id}")
        if job.status == "cancelled":
            raise ApiError(410, "cancelled", "task was cancelled")
        if job.error is not None:
            raise job.error
        if job.request.kind == "extract":
            return _extraction_response(job)
        return _document_response(job.document, _format(format or job.request.output_format))

    @api.delete("/tasks/{task_id}", summary="Cancel a task")
    async def cancel(task_id: str) -> dict[str, Any]:
        return queue.remove(task_id).summary()

    @api.get("/tasks/{task_id}/pages", summary="Stream pages as NDJSON while they finish")
    async def stream_pages(task_id: str) -> StreamingResponse:
        job = queue.get(task_id)

        async def lines() -> AsyncIterator[str]:
            sent = 0
            while True:
                finished = _check_deadline(job, settings.timeout).is_finished
                for page in job.pages[sent:]:
                    yield page.model_dump_json() + "\n"
                    sent += 1
                if finished and sent >= len(job.pages):
                    break
                await asyncio.sleep(POLL_SECONDS)
            if job.error is not None:
                error = {"kind": job.error.kind, "message": job.error.message}
                yield json.dumps({"error": error, "status": job.error.status}) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @api.get("/tasks/{task_id}/review", summary="Document and markdown pieces for the page at /")
    async def review(task_id: str) -> dict[str, Any]:
        job = queue.get(task_id)
        if job.document is None:
            raise ApiError(409, "not_ready", f"task is {job.status} (parse tasks only)")
        return review_payload(job.document)

    @api.get("/tasks/{task_id}/pages/{number}/image", summary="A page of the upload as PNG")
    async def page_image(task_id: str, number: int) -> Response:
        job = queue.get(task_id)
        if job.request.kind != "parse" or job.document is None:
            raise ApiError(409, "not_ready", f"task is {job.status} (parse tasks only)")
        if number not in {page.number for page in job.document.pages}:
            raise ApiError(404, "not_found", f"page {number} is not in this task's result")
        path, password = str(job.request.path), job.request.password
        png = await asyncio.wrap_future(queue.call(page_png, path, number, password))
        return Response(png, media_type="image/png")

    app.include_router(api)

    @app.get("/health", summary="Engines loaded, versions, queue length")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "engines": engines.describe(),
            "versions": {p: _installed(p) for p in ("docvlm", "pymupdf", "torch", "transformers")},
            "queue": {
                "length": queue.length,
                "capacity": queue.capacity,
                "workers": queue.workers,
                "tasks": queue.task_count,
            },
            "limits": {
                "max_upload_mb": settings.max_upload_mb,
                "max_pages": settings.max_pages,
                "timeout": settings.timeout,
            },
            "auth": settings.api_key is not None,
        }

    @app.get("/", include_in_schema=False)
    async def review_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _installed(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _key_check(api_key: str | None):
    """A dependency that lets a request through only with the key (when one is set)."""
    expected = api_key.encode() if api_key else None

    async def check(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("x-api-key", "")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
        if not hmac.compare_digest(given.encode(), expected):
            raise ApiError(
                401,
                "unauthorized",
                "missing or wrong API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def _job_request(upload: Upload, kind: str) -> JobRequest:
    """Check the form of a parse / extract request; 415 / 422 on a bad file or field."""
    allowed = EXTRACT_FIELDS if kind == "extract" else PARSE_FIELDS
    unknown = sorted(set(upload.fields) - allowed)
    if unknown:
        raise ApiError(422, "invalid_request", f"unknown form field(s) for {kind}: {unknown}")
    path = check_document_type(upload)
    fields = upload.fields
    engine = fields.get("engine") or None
    if engine is not None and engine not in ENGINE_NAMES:
        raise ApiError(422, "invalid_request", f"engine must be one of {', '.join(ENGINE_NAMES)}")
    ocr_lang = fields.get("ocr_lang") or None
    date_order = fields.get("date_order") or None
    if date_order not in (None, "dmy", "mdy"):
        raise ApiError(422, "invalid_request", "date_order must be dmy or mdy")
    min_confidence = _min_confidence(fields.get("min_confidence") or None)
    try:
        if ocr_lang is not None:
            check_languages(ocr_lang)
        schema = _schema(fields.get("schema")) if kind == "extract" else None
    except EngineUnavailableError as error:
        raise ApiError(422, "invalid_request", str(error)) from None
    return JobRequest(
        kind=kind,  # type: ignore[arg-type]
        path=path,
        name=upload.filename,
        pages=fields.get("pages") or None,
        password=fields.get("password") or None,
        engine=engine,
        ocr_lang=ocr_lang,
        output_format=_format(fields.get("format") or "json"),
        schema=schema,
        date_order=date_order,
        min_confidence=min_confidence,
    )


def _min_confidence(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise ApiError(422, "invalid_request", "min_confidence must be a number from 0 to 1")
    return value


def _schema(text: str | None) -> dict[str, Any]:
    if not text:
        raise ApiError(422, "schema", "extract needs a JSON Schema in form field 'schema'")
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(422, "schema", f"schema is not JSON: {error}") from None
    try:
        load_schema(schema)
    except DocVLMError as error:
        raise ApiError.from_docvlm(error) from None
    return schema


def _format(name: str) -> str:
    if name not in FORMATS:
        raise ApiError(422, "invalid_request", "format must be json, markdown or html")
    return FORMATS[name]


def _document_response(document: Document | None, output_format: str) -> Response:
    assert document is not None
    text = render(document, output_format, include_furniture=False)  # type: ignore[arg-type]
    return Response(text, media_type=MEDIA_TYPES[output_format])


def _extraction_response(job: Job) -> Response:
    assert job.extraction is not None
    text = json.dumps(job.extraction.to_dict(), indent=2, ensure_ascii=False) + "\n"
    return Response(text, media_type="application/json")


def _check_deadline(job: Job, timeout: float) -> Job:
    """A task running past the timeout fails now (its worker stops at the next page)."""
    started = job.started
    if job.status == "running" and started is not None and time.time() - started > timeout:
        job.fail(ApiError(504, "timeout", f"not done after {timeout:g} s (--timeout)"))
    return job
