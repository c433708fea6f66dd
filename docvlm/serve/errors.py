"""Typed JSON errors: every failure answers `{"error": {"kind", "message"}}` with its status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from docvlm.errors import DocVLMError

# DocVLMError kinds → HTTP status; a kind not listed is a bad request (400).
STATUS_BY_KIND = {
    "empty": 422,
    "corrupt": 422,
    "encrypted": 422,
    "unreadable": 422,
    "too_large": 422,
    "too_many_pages": 422,
    "page_range": 422,
    "schema": 422,
    "unsupported": 415,
    "timeout": 504,
}


class ApiError(Exception):
    """An answer other than success: HTTP status, a short kind, a message a user can act on."""

    def __init__(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers or {}

    @classmethod
    def from_docvlm(cls, error: DocVLMError) -> ApiError:
        return cls(STATUS_BY_KIND.get(error.kind, 400), error.kind, str(error))

    def response(self) -> JSONResponse:
        return error_response(self.status, self.kind, self.message, self.headers)


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"kind": kind, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route ApiError, DocVLMError, FastAPI's own errors and any surprise to typed bodies."""

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
        return error.response()

    @app.exception_handler(DocVLMError)
    async def on_docvlm_error(request: Request, error: DocVLMError) -> JSONResponse:
        return ApiError.from_docvlm(error).response()

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        return error_response(422, "invalid_request", problems)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, error: HTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(error.status_code, kind, str(error.detail))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        return error_response(500, "internal", f"{type(error).__name__}: {error}")
