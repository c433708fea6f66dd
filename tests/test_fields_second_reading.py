"""A word OCR was unsure of is legible where a second reader reads the same characters."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from docvlm.anchors import AnchorWord
from docvlm.forms.second_reading import SecondReader
from docvlm.sources import open_source

pytest.importorskip("rapidocr_onnxruntime")


@pytest.fixture()
def printed(tmp_path: Path) -> tuple[Path, tuple[float, float, float, float]]:
    """A page with one word, "NM-4119832", and that word's box in points."""
    pdf = tmp_path / "word.pdf"
    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((72, 100), "NM-4119832", fontsize=11)
    box = tuple(page.get_text("words")[0][:4])
    document.save(pdf)
    return pdf, box


def test_a_word_read_alike_twice_is_legible_and_a_misread_one_is_not(printed) -> None:
    pdf, box = printed
    with open_source(pdf) as document:
        reader = SecondReader(document.page(1))
        agreed = reader.confidence(AnchorWord("NM-4119832", box, (0, 0, 0, 0), 0, 0, 0.4))
        misread = reader.confidence(AnchorWord("NM-4119B32", box, (0, 0, 0, 0), 0, 0, 0.4))
    assert agreed >= 0.85
    assert misread == 0.4
