"""Text Tesseract's page segmentation leaves out is read again as sparse text and joined to
its row (docvlm/engines/ocr_unread.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf

from docvlm.engines.ocr import OCREngine
from docvlm.engines.ocr_layout import OCRLine, OCRWord
from docvlm.engines.ocr_unread import with_sparse_words
from docvlm.sources import open_source

CORPUS = Path(__file__).resolve().parents[1] / "bench" / "corpus" / "pdfs"


def _line(*words: tuple[str, float, float]) -> OCRLine:
    ocr_words = tuple(OCRWord(text, (x0, 100, x1, 120), 0.9) for text, x0, x1 in words)
    text = " ".join(w.text for w in ocr_words)
    return OCRLine(text, (ocr_words[0].bbox[0], 100, ocr_words[-1].bbox[2], 120), 0.9, ocr_words)


def test_a_figure_beside_its_row_joins_that_row_and_a_lone_one_starts_its_own() -> None:
    label = _line(("Acute", 10, 80), ("Illness", 90, 170))
    figures = [OCRWord("5.6", (700, 101, 740, 119), 0.9), OCRWord("4.5", (600, 102, 640, 119), 0.9)]
    lone = OCRWord("12.0", (600, 300, 650, 320), 0.8)
    joined = with_sparse_words([label], [*figures, lone])
    assert [line.text for line in joined] == ["Acute Illness 4.5 5.6", "12.0"]
    assert joined[0].bbox == (10, 100, 740, 120)


def test_ink_inside_a_read_line_is_not_added_to_it() -> None:
    label = _line(("Chronic", 10, 80), ("during", 200, 260))
    rule = OCRWord("I", (150, 100, 154, 120), 0.6)
    assert [line.text for line in with_sparse_words([label], [rule])] == ["Chronic during"]


def test_a_column_of_figures_after_dot_leaders_is_read(capfd) -> None:
    """camelot's missing_values.pdf (MIT) at 200 dpi: the layout model calls the table a
    figure and Tesseract's segmentation dropped both value columns (none of 66 figures read;
    the `tesseract` command read 59). Read again, no Leptonica message reaches stderr."""
    page = pymupdf.open(CORPUS / "camelot-missing_values.pdf")[0]
    truth = re.findall(r"\d+\.\d", page.get_text())
    png = page.get_pixmap(dpi=200, alpha=False).tobytes("png")
    blocks = OCREngine().parse(open_source(png).page(1))
    read = re.findall(r"\d+\.\d", " ".join(b.text for b in blocks))
    assert len(truth) >= 60
    assert len([f for f in read if f in truth]) >= 0.8 * len(truth)
    row = next(b.text for b in blocks if "cardiovascular" in b.text)
    assert row.split()[-2:] == ["8.9", "9.3"]
    assert "Error in" not in capfd.readouterr().err


def test_a_word_left_of_a_line_starts_its_own_line() -> None:
    text = _line(("The", 100, 140), ("matter", 150, 230))
    number = OCRWord("12", (10, 102, 30, 118), 0.9)
    assert [line.text for line in with_sparse_words([text], [number])] == ["The matter", "12"]
