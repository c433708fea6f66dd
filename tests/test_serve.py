"""`docvlm serve` as a real subprocess: sync and task endpoints, typed errors, limits, auth."""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pymupdf
import pytest

from docvlm.document import Document
from tests.badinputs import huge_page_pdf, text_pdf, write_bad_inputs
from tests.serving import running_server

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
API_KEY = "test-key-0123456789"
INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "invoice_number": {"type": "string"},
        "invoice_date": {"type": "string", "format": "date"},
        "paid": {"type": "boolean"},
        "missing_thing": {"type": ["string", "null"]},
    },
    "required": ["invoice_number", "invoice_date", "paid"],
}


@functools.cache
def dense_pdf(pages: int) -> bytes:
    """Born-digital pages of 50 lines each: tens of ms a page to parse, so a long one keeps a
    worker busy for seconds without OCR."""
    pdf = pymupdf.open()
    page = pdf.new_page()
    line = "The archive review lists every document, its pages, engines and the time it took."
    for row in range(50):
        page.insert_text((40, 40 + 14 * row), f"{row + 1}. {line}", fontsize=9)
    for _ in range(pages - 1):
        pdf.fullcopy_page(0)
    data = pdf.tobytes(deflate=True)
    pdf.close()
    return data


def text_pages_pdf(count: int) -> bytes:
    pdf = pymupdf.open()
    for number in range(count):
        pdf.new_page().insert_text((72, 72), f"Page {number + 1} of a born-digital test file.")
    data = pdf.tobytes()
    pdf.close()
    return data


def cli(*args: str | Path, cwd: Path = SAMPLES) -> str:
    command = [sys.executable, "-m", "docvlm.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd).stdout


def without_seconds(document: dict) -> dict:
    """Page timings differ run to run; everything else must match."""
    return {**document, "pages": [{**p, "seconds": None} for p in document["pages"]]}


def assert_error(response: httpx.Response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["kind"] == kind, response.text
    assert response.json()["error"]["message"]


@pytest.fixture(scope="module")
def spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def server(spool: Path):
    arguments = ("--max-upload-mb", "2", "--max-pages", "1000", "--timeout", "120")
    with running_server(*arguments, env={"TMPDIR": str(spool)}) as running:
        yield running


@pytest.fixture(scope="module")
def limited():
    arguments = ("--api-key", API_KEY, "--queue-size", "1", "--timeout", "2")
    with running_server(*arguments) as running:
        yield running


def post(server, path: str, data: bytes, name: str = "doc.pdf", **fields: str) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", files={"file": (name, data)}, data=fields, timeout=120)


def wait_for(server, task_id: str, until, timeout: float = 120.0, headers=None) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{server.url}/v1/tasks/{task_id}", headers=headers).json()
        if until(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


# ---------------------------------------------------------------- same results as the CLI


@pytest.fixture(scope="module")
def cli_report_json() -> dict:
    return json.loads(cli("parse", "report.pdf", "-f", "json"))


def test_sync_parse_equals_cli_in_every_format(server, cli_report_json: dict) -> None:
    data = (SAMPLES / "report.pdf").read_bytes()
    answer = post(server, "/v1/parse", data, "report.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert without_seconds(answer.json()) == without_seconds(cli_report_json)
    markdown = post(server, "/v1/parse", data, "report.pdf", format="markdown")
    assert markdown.text == cli("parse", "report.pdf")
    assert markdown.headers["content-type"].startswith("text/markdown")
    html = post(server, "/v1/parse", data, "report.pdf", format="html")
    assert html.text == cli("parse", "report.pdf", "-f", "html")


def test_sync_parse_of_a_scan_equals_cli(server) -> None:
    data = (SAMPLES / "report_scanned.pdf").read_bytes()
    answer = post(server, "/v1/parse", data, "report_scanned.pdf", pages="1")
    assert answer.json()["pages"][0]["engine"] == "ocr"
    expected = json.loads(cli("parse", "report_scanned.pdf", "-f", "json", "--pages", "1"))
    assert without_seconds(answer.json()) == without_seconds(expected)


def test_sync_extract_equals_cli(server, tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(json.dumps(INVOICE_SCHEMA))
    data = (SAMPLES / "invoice.pdf").read_bytes()
    answer = post(server, "/v1/extract", data, "invoice.pdf", schema=json.dumps(INVOICE_SCHEMA))
    assert answer.status_code == 200, answer.text
    assert answer.text == cli("extract", "invoice.pdf", "--schema", tmp_path / "schema.json")
    assert answer.json()["data"]["invoice_number"] == "INV-2024-0173"
    schema = json.dumps(INVOICE_SCHEMA)
    dmy = post(server, "/v1/extract", data, "invoice.pdf", schema=schema, date_order="dmy")
    cli_dmy = cli("extract", "invoice.pdf", "-s", tmp_path / "schema.json", "--date-order", "dmy")
    assert dmy.text == cli_dmy
    strict = post(server, "/v1/extract", data, "invoice.pdf", schema=schema, min_confidence="1")
    cli_strict = cli(
        "extract", "invoice.pdf", "-s", tmp_path / "schema.json", "--min-confidence", "1"
    )
    assert strict.text == cli_strict
    withheld = json.loads(strict.text)
    assert withheld["data"].get("invoice_number") is None
    assert withheld["errors"][0]["pointer"] == "/invoice_number"  # required: an error, with why
    assert "'INV-2024-0173'" in withheld["errors"][0]["message"]


def test_pages_and_engine_options(server) -> None:
    data = (SAMPLES / "report_scanned.pdf").read_bytes()  # auto would OCR it
    document = post(server, "/v1/parse", data, pages="2", engine="text", ocr_lang="eng+chi_sim")
    document = document.json()
    assert document["metadata"]["options"]["ocr_languages"] == "eng+chi_sim"
    assert [p["number"] for p in document["pages"]] == [1 + 1]
    assert document["pages"][0]["engine"] == "text"
    assert document["metadata"]["options"]["engine"] == "text"


def test_failed_page_inside_a_good_document_is_recorded(server) -> None:
    merged = pymupdf.open(stream=text_pdf(), filetype="pdf")
    merged.insert_pdf(pymupdf.open(stream=huge_page_pdf(), filetype="pdf"))
    answer = post(server, "/v1/parse", merged.tobytes())
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["pages"]
    assert first["status"] == "ok" and first["blocks"]
    assert second["status"] == "error" and second["error_kind"] == "too_large"


# ---------------------------------------------------------------- tasks


def test_task_streams_pages_then_gives_the_same_result(server, cli_report_json: dict) -> None:
    data = (SAMPLES / "report.pdf").read_bytes()
    submitted = post(server, "/v1/tasks", data, "report.pdf")
    assert submitted.status_code == 202, submitted.text
    task_id = submitted.json()["id"]
    assert submitted.headers["location"] == f"/v1/tasks/{task_id}"
    with httpx.stream("GET", f"{server.url}/v1/tasks/{task_id}/pages", timeout=120) as stream:
        assert stream.headers["content-type"].startswith("application/x-ndjson")
        streamed = [json.loads(line) for line in stream.iter_lines() if line]
    assert [page["number"] for page in streamed] == [1, 2]
    status = httpx.get(f"{server.url}/v1/tasks/{task_id}").json()
    assert (status["status"], status["pages_done"], status["pages_total"]) == ("done", 2, 2)
    result = httpx.get(f"{server.url}/v1/tasks/{task_id}/result").json()
    # The result has had the document-level pass (repeated headers → furniture) that streamed
    # pages, sent as each finished, had not: their text is the same.
    assert [[b["text"] for b in p["blocks"]] for p in result["pages"]] == [
        [b["text"] for b in p["blocks"]] for p in streamed
    ]
    assert without_seconds(result) == without_seconds(cli_report_json)
    markdown = httpx.get(f"{server.url}/v1/tasks/{task_id}/result", params={"format": "markdown"})
    assert markdown.text == Document.model_validate(cli_report_json).to_markdown()


def test_extract_task(server) -> None:
    data = (SAMPLES / "invoice.pdf").read_bytes()
    task_id = post(server, "/v1/tasks", data, schema=json.dumps(INVOICE_SCHEMA)).json()["id"]
    assert wait_for(server, task_id, lambda s: s["status"] == "done")["kind"] == "extract"
    result = httpx.get(f"{server.url}/v1/tasks/{task_id}/result").json()
    sync = post(server, "/v1/extract", data, schema=json.dumps(INVOICE_SCHEMA)).json()
    assert result == sync and result["data"]["paid"] is True


def test_cancel_stops_a_running_task(server) -> None:
    task_id = post(server, "/v1/tasks", dense_pdf(600)).json()["id"]
    wait_for(server, task_id, lambda s: s["pages_done"] >= 1)
    cancelled = httpx.delete(f"{server.url}/v1/tasks/{task_id}")
    assert cancelled.status_code == 200
    status = wait_for(server, task_id, lambda s: s["status"] != "running")
    assert status["status"] == "cancelled"
    assert status["pages_done"] < status["pages_total"] == 600
    assert_error(httpx.get(f"{server.url}/v1/tasks/{task_id}/result"), 410, "cancelled")
    assert httpx.delete(f"{server.url}/v1/tasks/{task_id}").status_code == 200  # drops it
    assert_error(httpx.get(f"{server.url}/v1/tasks/{task_id}"), 404, "not_found")


def test_result_of_a_running_task_is_not_ready(server) -> None:
    task_id = post(server, "/v1/tasks", dense_pdf(600)).json()["id"]
    assert_error(httpx.get(f"{server.url}/v1/tasks/{task_id}/result"), 409, "not_ready")
    httpx.delete(f"{server.url}/v1/tasks/{task_id}")


# ---------------------------------------------------------------- bad input never kills it


BAD_FILES = {
    "empty.pdf": (422, "empty"),
    "truncated.pdf": (422, "corrupt"),
    "encrypted.pdf": (422, "encrypted"),
    "not_a_pdf.pdf": (415, "unsupported"),
    "zero_pages.pdf": (422, "empty"),
    "bomb.png": (422, "too_large"),
}


def test_bad_files_are_typed_errors_and_the_server_stays_healthy(server, tmp_path) -> None:
    files = write_bad_inputs(tmp_path)
    for name, (status, kind) in BAD_FILES.items():
        for path in ("/v1/parse", "/v1/extract", "/v1/tasks"):
            schema = {"schema": json.dumps(INVOICE_SCHEMA)} if path == "/v1/extract" else {}
            answer = post(server, path, files[name].read_bytes(), name, **schema)
            if path == "/v1/tasks" and answer.status_code == 202:  # read by the worker
                task_id = answer.json()["id"]
                wait_for(server, task_id, lambda s: s["status"] == "failed")
                answer = httpx.get(f"{server.url}/v1/tasks/{task_id}/result")
            assert_error(answer, status, kind)
        assert server.healthy()


def test_bad_requests_are_typed_errors(server) -> None:
    pdf = (SAMPLES / "report.pdf").read_bytes()
    url = server.url
    broken = {"content-type": "multipart/form-data; boundary=b"}
    cases = [
        (
            post(server, "/v1/parse", b"%PDF-1.4\n" + b"x" * (2 * 1024 * 1024 + 10)),
            413,
            "too_large",
        ),
        (post(server, "/v1/parse", text_pages_pdf(1001)), 422, "too_many_pages"),
        (
            post(server, "/v1/extract", text_pages_pdf(1001), schema=json.dumps(INVOICE_SCHEMA)),
            422,
            "too_many_pages",
        ),
        (post(server, "/v1/parse", pdf, pages="9"), 422, "page_range"),
        (post(server, "/v1/parse", pdf, format="docx"), 422, "invalid_request"),
        (post(server, "/v1/parse", pdf, engine="magic"), 422, "invalid_request"),
        (post(server, "/v1/parse", pdf, engine="vlm"), 400, "engine_unavailable"),
        (post(server, "/v1/parse", pdf, ocr_lang="xx_nope"), 422, "invalid_request"),
        (post(server, "/v1/parse", pdf, colour="blue"), 422, "invalid_request"),
        (post(server, "/v1/extract", pdf, schema="{}", date_order="ymd"), 422, "invalid_request"),
        (post(server, "/v1/extract", pdf, schema="{}", min_confidence="x"), 422, "invalid_request"),
        (post(server, "/v1/extract", pdf, schema="{}", min_confidence="2"), 422, "invalid_request"),
        (
            post(server, "/v1/extract", pdf, schema='{"type": "object", "properties": '),
            422,
            "schema",
        ),
        (post(server, "/v1/extract", pdf, schema='{"type": "strange"}'), 422, "schema"),
        (post(server, "/v1/extract", pdf), 422, "schema"),
        (httpx.post(f"{url}/v1/parse", files={"pages": (None, "1")}), 422, "invalid_request"),
        (httpx.post(f"{url}/v1/parse", content=pdf), 415, "unsupported_media_type"),
        (
            httpx.post(f"{url}/v1/parse", content=b"--b\r\nno headers at all", headers=broken),
            422,
            "invalid_request",
        ),  # fmt: skip
        (httpx.get(f"{url}/v1/tasks/nope"), 404, "not_found"),
        (httpx.get(f"{url}/v1/nothing"), 404, "not_found"),
        (httpx.get(f"{url}/v1/parse"), 405, "method_not_allowed"),
    ]
    for answer, status, kind in cases:
        assert_error(answer, status, kind)
    assert server.healthy()


def test_oversized_upload_is_refused_while_streaming(server) -> None:
    """A chunked upload (no Content-Length) that stops after 4 MB of a 2 MB limit: the server
    must answer 413 from what it has counted so far, without waiting for the rest."""
    host, port = server.url.removeprefix("http://").split(":")
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n\r\n%PDF-'
    with socket.create_connection((host, int(port)), timeout=20) as connection:
        connection.sendall(
            b"POST /v1/parse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
        )
        for chunk in [head] + [b"x" * 100_000] * 40:
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        # The body is unfinished: an answer comes only if the server answers early.
        answer = connection.recv(65536)
        while b'"}}' not in answer and (more := connection.recv(65536)):
            answer += more
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    assert b'"kind":"too_large"' in rest
    assert server.healthy()


def test_uploads_are_spooled_privately_and_removed(server, spool: Path) -> None:
    (root,) = spool.glob("docvlm-serve-*")
    assert root.stat().st_mode & 0o077 == 0
    kept = {p for p in root.rglob("*") if p.is_file()}  # uploads of finished parse tasks
    answer = post(server, "/v1/parse", (SAMPLES / "invoice.pdf").read_bytes(), "../../evil.pdf")
    assert answer.status_code == 200
    assert answer.json()["source"] == "evil.pdf"
    assert not list(spool.parent.rglob("evil.pdf"))
    task_id = post(server, "/v1/tasks", (SAMPLES / "invoice.pdf").read_bytes()).json()["id"]
    wait_for(server, task_id, lambda s: s["status"] == "done")
    assert len({p for p in root.rglob("*") if p.is_file()} - kept) == 1
    httpx.delete(f"{server.url}/v1/tasks/{task_id}")
    assert {p for p in root.rglob("*") if p.is_file()} == kept


def test_health_and_docs(server) -> None:
    health = httpx.get(f"{server.url}/health").json()
    assert health["status"] == "ok"
    assert health["engines"]["text"] == "TextLayerEngine"
    assert "OCREngine[eng]" in health["engines"]["ocr"]
    assert health["versions"]["docvlm"]
    assert set(health["queue"]) >= {"length", "capacity", "workers"}
    assert httpx.get(f"{server.url}/docs").status_code == 200
    paths = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    assert {"/v1/parse", "/v1/extract", "/v1/tasks", "/v1/tasks/{task_id}/pages"} <= set(paths)


# ---------------------------------------------------------------- auth, queue, timeout


def test_api_key(limited) -> None:
    pdf = (SAMPLES / "invoice.pdf").read_bytes()
    assert_error(post(limited, "/v1/parse", pdf), 401, "unauthorized")
    wrong = httpx.post(
        f"{limited.url}/v1/parse", files={"file": ("a.pdf", pdf)}, headers={"X-API-Key": "nope"}
    )
    assert_error(wrong, 401, "unauthorized")
    for header in ({"Authorization": f"Bearer {API_KEY}"}, {"X-API-Key": API_KEY}):
        answer = httpx.post(
            f"{limited.url}/v1/parse", files={"file": ("a.pdf", pdf)}, headers=header, timeout=60
        )
        assert answer.status_code == 200, answer.text
    assert httpx.get(f"{limited.url}/health").json()["auth"] is True


def test_full_queue_answers_429_at_once(limited) -> None:
    headers = {"X-API-Key": API_KEY}
    slow = {"file": ("slow.pdf", dense_pdf(1000))}
    first = httpx.post(f"{limited.url}/v1/tasks", files=slow, headers=headers)
    assert first.status_code == 202
    started = time.monotonic()
    for path in ("/v1/tasks", "/v1/parse"):
        refused = httpx.post(f"{limited.url}{path}", files=slow, headers=headers, timeout=10)
        assert_error(refused, 429, "queue_full")
        assert int(refused.headers["retry-after"]) >= 1
    assert time.monotonic() - started < 5
    httpx.delete(f"{limited.url}/v1/tasks/{first.json()['id']}", headers=headers)
    wait_for(limited, first.json()["id"], lambda s: s["status"] != "running", headers=headers)
    assert limited.healthy()


def test_timeout_answers_504_and_the_server_recovers(limited) -> None:
    headers = {"X-API-Key": API_KEY}
    wait_until = time.monotonic() + 30
    while httpx.get(f"{limited.url}/health").json()["queue"]["length"] and (
        time.monotonic() < wait_until
    ):
        time.sleep(0.2)
    slow = dense_pdf(1000)
    started = time.monotonic()
    answer = httpx.post(
        f"{limited.url}/v1/parse",
        files={"file": ("slow.pdf", slow)},
        headers=headers,
        timeout=60,
    )
    assert_error(answer, 504, "timeout")
    assert time.monotonic() - started < 10
    while httpx.get(f"{limited.url}/health").json()["queue"]["length"]:  # worker stops
        assert time.monotonic() - started < 30
        time.sleep(0.2)
    quick = httpx.post(
        f"{limited.url}/v1/parse",
        files={"file": ("a.pdf", (SAMPLES / "invoice.pdf").read_bytes())},
        headers=headers,
        timeout=60,
    )
    assert quick.status_code == 200
