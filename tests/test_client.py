"""docvlm.Client against a real `docvlm serve`: the same objects as the in-process API."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

import docvlm
from docvlm.client import ServiceError
from docvlm.document import Document
from docvlm.errors import EncryptedPDFError, SchemaError, UnsupportedFileError
from docvlm.extraction import ExtractionResult
from tests.badinputs import encrypted_pdf
from tests.serving import running_server
from tests.test_serve import dense_pdf

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
KEY = "client-key-42"


class Invoice(pydantic.BaseModel):
    invoice_number: str
    invoice_date: str
    paid: bool


@pytest.fixture(scope="module")
def server():
    with running_server("--api-key", KEY, "--max-pages", "100") as running:
        yield running


@pytest.fixture()
def client(server):
    with docvlm.Client(server.url, api_key=KEY) as connected:
        yield connected


def same_document(remote: Document, local: Document) -> None:
    assert isinstance(remote, Document)
    for document in (remote, local):
        for page in document.pages:
            page.seconds = 0.0
    assert remote.model_dump() == local.model_dump()


def test_parse_returns_the_local_document(client) -> None:
    remote = client.parse(SAMPLES / "report.pdf")
    local = docvlm.parse(SAMPLES / "report.pdf")
    local.source = "report.pdf"
    same_document(remote, local)
    assert remote.to_markdown() == local.to_markdown()


def test_extract_returns_the_local_result(client) -> None:
    remote = client.extract(SAMPLES / "invoice.pdf", Invoice)
    local = docvlm.extract(SAMPLES / "invoice.pdf", Invoice)
    assert isinstance(remote, ExtractionResult)
    assert remote.to_dict() == local.to_dict()
    assert remote.data["invoice_number"] == "INV-2024-0173"
    assert remote.fields["/invoice_number"].page == 1
    assert ExtractionResult.from_dict(local.to_dict()).to_dict() == local.to_dict()


def test_task_helper_waits_with_progress_and_streams_pages(client) -> None:
    seen: list[tuple[int, int | None]] = []
    task_id = client.submit(SAMPLES / "report.pdf")
    document = client.wait(task_id, progress=lambda done, total: seen.append((done, total)))
    local = docvlm.parse(SAMPLES / "report.pdf")
    local.source = "report.pdf"
    same_document(document, local)
    assert seen[-1] == (2, 2)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert [page.number for page in client.pages(task_id)] == [1, 2]
    extract_id = client.submit(SAMPLES / "invoice.pdf", schema=Invoice)
    assert (
        client.wait(extract_id).to_dict()
        == docvlm.extract(SAMPLES / "invoice.pdf", Invoice).to_dict()
    )


def test_cancel(client) -> None:
    task_id = client.submit(dense_pdf(60))
    client.cancel(task_id)
    assert client.status(task_id)["status"] in ("cancelled", "running", "queued")
    with pytest.raises(ServiceError) as raised:
        client.wait(task_id, timeout=60)
    assert (raised.value.status, raised.value.kind) == (410, "cancelled")


def test_errors_are_the_local_error_types(client, server) -> None:
    with pytest.raises(EncryptedPDFError) as raised:
        client.parse(encrypted_pdf("pw"))
    assert raised.value.status == 422
    assert client.parse(encrypted_pdf("pw"), password="pw").pages[0].status == "ok"
    with pytest.raises(UnsupportedFileError):
        client.parse(b"plain text, not a document", filename="notes.txt")
    with pytest.raises(SchemaError):
        client.extract(SAMPLES / "invoice.pdf", {"type": "nonsense"})
    with docvlm.Client(server.url) as anonymous, pytest.raises(ServiceError) as raised:
        anonymous.parse(SAMPLES / "invoice.pdf")
    assert (raised.value.status, raised.value.kind) == (401, "unauthorized")
    assert client.health()["status"] == "ok"
