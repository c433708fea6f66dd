from __future__ import annotations

import time
from pathlib import Path

import pytest

import docvlm
from docvlm.document import Block, BlockType
from docvlm.engines.base import Engine
from docvlm.errors import CorruptFileError, EngineUnavailableError, TooManyPagesError
from docvlm.pipeline import DEGENERATE_FLAG, Parser

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


class RecordingEngine(Engine):
    """A controllable engine: writes one paragraph naming itself, or misbehaves on request."""

    def __init__(self, name: str, *, fail_on=(), loop_on=(), sleep_on=(), seconds=0.0):
        self.name = name
        self.fail_on, self.loop_on, self.sleep_on, self.seconds = (
            fail_on,
            loop_on,
            sleep_on,
            seconds,
        )
        self.batches: list[list[int]] = []

    def parse_batch(self, pages):
        self.batches.append([p.number for p in pages])
        return [self.parse(p) for p in pages]

    def parse(self, page):
        if page.number in self.fail_on:
            raise RuntimeError(f"{self.name} broke on page {page.number}")
        if page.number in self.sleep_on:
            time.sleep(self.seconds)
        flags = [DEGENERATE_FLAG] if page.number in self.loop_on else []
        text = f"{self.name} read page {page.number}"
        return [Block(type=BlockType.PARAGRAPH, text=text, page=page.number, flags=flags)]


def test_auto_routes_each_page_of_a_mixed_pdf():
    document = docvlm.parse(SAMPLES / "mixed.pdf")
    first, second = document.pages
    assert (first.engine, second.engine) == ("text", "ocr")
    assert "born-digital" in first.reason and "characters" in second.reason
    assert first.status == second.status == "ok"
    assert first.blocks and second.blocks
    assert all(b.engine == "text" for b in first.blocks)
    assert all(b.engine == "ocr" for b in second.blocks)
    # The running header is recognised across the text-layer page and the OCR page.
    for page in (first, second):
        headers = [b.text for b in page.blocks if b.type == BlockType.PAGE_HEADER]
        assert headers == ["Acme Research Annual Report 2024"]
    assert "Acme Research" not in document.to_markdown()


def test_auto_prefers_the_vlm_for_pages_without_a_trusted_text_layer():
    parser = Parser(engines={"vlm": RecordingEngine("vlm"), "text": RecordingEngine("text")})
    document = parser.parse(SAMPLES / "mixed.pdf")
    assert [p.engine for p in document.pages] == ["text", "vlm"]


def test_degenerate_vlm_output_falls_back_with_the_reason_recorded():
    engines = {
        "vlm": RecordingEngine("vlm", loop_on={1, 2}),
        "text": RecordingEngine("text"),
        "ocr": RecordingEngine("ocr"),
    }
    parser = Parser(engines=engines)
    # Route both pages to the VLM by pretending neither text layer is trusted.
    parser.route = lambda page: ("vlm", "test")
    first, second = parser.parse(SAMPLES / "mixed.pdf").pages
    assert (first.engine, first.status) == ("text", "fallback")
    assert (second.engine, second.status) == ("ocr", "fallback")
    assert "degenerate" in first.reason and first.blocks[0].text == "text read page 1"


def test_forced_vlm_keeps_degenerate_pages_marked():
    parser = Parser(engine="vlm", engines={"vlm": RecordingEngine("vlm", loop_on={2})})
    first, second = parser.parse(SAMPLES / "mixed.pdf").pages
    assert first.status == "ok" and second.status == "degenerate"


def test_one_failing_page_does_not_stop_the_rest():
    engine = RecordingEngine("text", fail_on={1})
    parser = Parser(engine="text", batch_size=2, engines={"text": engine})
    first, second = parser.parse(SAMPLES / "report.pdf").pages
    assert first.status == "error" and "broke on page 1" in first.error
    assert first.error_kind == "engine_error"
    assert second.status == "ok" and second.blocks[0].text == "text read page 2"
    assert engine.batches == [[1, 2], [1], [2]]  # the batch failed, then page by page


def test_auto_falls_back_to_ocr_when_the_text_engine_raises():
    engines = {"text": RecordingEngine("text", fail_on={1}), "ocr": RecordingEngine("ocr")}
    page = Parser(engines=engines).parse(SAMPLES / "report.pdf", pages="1").pages[0]
    assert (page.engine, page.status) == ("ocr", "fallback")
    assert "text failed" in page.reason


def test_page_timeout_is_an_error_for_that_page_only():
    engine = RecordingEngine("text", sleep_on={1}, seconds=3.0)
    parser = Parser(engine="text", page_timeout=0.5, engines={"text": engine})
    started = time.perf_counter()
    first, second = parser.parse(SAMPLES / "report.pdf").pages
    assert time.perf_counter() - started < 2.5
    assert (first.status, first.error_kind) == ("error", "timeout")
    assert second.status == "ok"


def test_iter_pages_streams_and_reuses_cached_pages():
    engine = RecordingEngine("text")
    parser = Parser(engine="text", engines={"text": engine})
    done = list(parser.iter_pages(SAMPLES / "report.pdf"))
    cached = {1: done[0]}
    again = list(parser.iter_pages(SAMPLES / "report.pdf", cached=cached.get))
    assert [p.number for p in again] == [1, 2]
    assert again[0] is done[0]
    assert engine.batches == [[1], [2], [2]]


def test_limits_and_bad_options():
    with pytest.raises(TooManyPagesError, match="--max-pages"):
        Parser(max_pages=1).parse(SAMPLES / "report.pdf")
    with pytest.raises(EngineUnavailableError, match="--model"):
        Parser(engine="vlm")
    with pytest.raises(ValueError, match="unknown engine"):
        Parser(engine="magic")
    with pytest.raises(CorruptFileError):
        docvlm.parse(b"%PDF-1.7 garbage")


def test_document_records_source_options_and_selection():
    document = docvlm.parse(SAMPLES / "report.pdf", pages="2", engine="text")
    assert document.page_count == 2 and [p.number for p in document.pages] == [2]
    assert document.source.endswith("report.pdf")
    assert document.metadata["options"]["engine"] == "text"


def test_a_failing_probe_or_engine_load_fails_pages_not_the_document(monkeypatch) -> None:
    from docvlm.sources import SourcePage

    probe = SourcePage.probe

    def probe_or_crash(page: SourcePage):
        if page.number == 2:
            raise RuntimeError("MuPDF: cannot read content stream")
        return probe.func(page)

    monkeypatch.setattr(SourcePage, "probe", property(probe_or_crash))
    pages = docvlm.parse(SAMPLES / "report.pdf").pages
    assert [p.status for p in pages] == ["ok", "error"]
    assert "cannot read content stream" in pages[1].error

    def no_engine(self, name):
        raise OSError(f"{name} engine data missing")

    monkeypatch.setattr(Parser, "_create_engine", no_engine)
    pages = Parser("text").parse(SAMPLES / "report.pdf", pages="1").pages
    assert [(p.status, p.error_kind) for p in pages] == [("error", "engine_error")]
    assert "text engine data missing" in pages[0].error
