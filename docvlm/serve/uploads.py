"""Multipart uploads streamed into a private spool folder, with the size limit checked per chunk.

FastAPI's own form parsing reads a whole body before a handler sees it; parsing the stream here
lets an oversized upload be refused at the first byte past the limit. The file is stored under a
fixed name: the client's file name is kept only as a display name, never as a path.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from docvlm.serve.errors import ApiError
from docvlm.sources import IMAGE_SUFFIXES, PDF_SUFFIXES

MAX_FIELD_BYTES = 1024 * 1024  # a JSON Schema or an option, never a document
MAX_PARTS = 16
FORM_OVERHEAD = 64 * 1024  # multipart headers and small fields beside the file
# Leading bytes of the formats docvlm reads; PDFs may carry junk before "%PDF-" (as sources.py).
_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"GIF87a",
    b"GIF89a",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Upload:
    """One request's form: text fields, and the file spooled to `path` (None if absent)."""

    folder: Path
    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    filename: str = "upload"
    size: int = 0

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def make_spool_root() -> Path:
    """A folder only this user can read (mkdtemp creates it 0700)."""
    return Path(tempfile.mkdtemp(prefix="docvlm-serve-"))


def display_name(filename: str) -> str:
    """The last component of a client's file name, without control characters."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    return _CONTROL.sub("", name)[:200] or "upload"


async def receive_upload(request: Request, spool_root: Path, max_bytes: int) -> Upload:
    """Stream a multipart/form-data body to disk; 413 as soon as the file passes `max_bytes`."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise ApiError(415, "unsupported_media_type", "send the file as multipart/form-data")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        raise _too_large(max_bytes)
    upload = Upload(Path(tempfile.mkdtemp(dir=spool_root)))
    try:
        await _stream_parts(request, params[b"boundary"], upload, max_bytes)
    except MultipartParseError as error:
        upload.remove()
        raise ApiError(422, "invalid_request", f"malformed multipart body ({error})") from None
    except ClientDisconnect:
        upload.remove()
        raise ApiError(400, "disconnected", "the client went away during the upload") from None
    except BaseException:
        upload.remove()
        raise
    return upload


async def _stream_parts(request: Request, boundary: bytes, upload: Upload, max_bytes: int) -> None:
    state: dict = {"headers": {}, "header": b"", "value": b"", "parts": 0}

    def on_part_begin() -> None:
        state.update(headers={}, name=None, buffer=bytearray(), handle=None)
        state["parts"] += 1
        if state["parts"] > MAX_PARTS:
            raise ApiError(422, "invalid_request", f"more than {MAX_PARTS} form fields")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header"].lower()] = state["value"]
        state["header"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options and state["name"] == "file":
            upload.filename = display_name(options[b"filename"].decode("utf-8", "replace"))
            upload.path = upload.folder / "document"
            state["handle"] = upload.path.open("wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["handle"] is not None:
            upload.size += end - start
            if upload.size > max_bytes:
                raise _too_large(max_bytes)
            state["handle"].write(data[start:end])
        else:
            state["buffer"] += data[start:end]
            if len(state["buffer"]) > MAX_FIELD_BYTES:
                raise ApiError(413, "too_large", f"form field {state['name']!r} is over 1 MB")

    def on_part_end() -> None:
        if state["handle"] is not None:
            state["handle"].close()
            state["handle"] = None
        elif state["name"]:
            upload.fields[state["name"]] = state["buffer"].decode("utf-8", "replace")

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    finally:
        if state.get("handle") is not None:
            state["handle"].close()


def check_document_type(upload: Upload) -> Path:
    """The spooled file's path, if it is there and looks like a PDF or an image (else 415/422)."""
    if upload.path is None:
        raise ApiError(422, "invalid_request", "no file: send the document in form field 'file'")
    with upload.path.open("rb") as handle:
        head = handle.read(1024)
    if not head:
        raise ApiError(422, "empty", f"{upload.filename}: file is empty (0 bytes)")
    if b"%PDF-" in head or head.startswith(_IMAGE_MAGIC) or _is_webp(head):
        return upload.path
    suffixes = ", ".join(sorted(PDF_SUFFIXES | IMAGE_SUFFIXES))
    raise ApiError(
        415, "unsupported", f"{upload.filename}: not a PDF or a supported image ({suffixes})"
    )


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"upload is over the {max_bytes / 1024 / 1024:g} MB limit (--max-upload-mb)",
    )
