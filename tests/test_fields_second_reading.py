"""A word OCR was unsure of is legible where a second reader reads the same characters, and
read as the second reader reads it where that reader is sure of other characters."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from docvlm.anchors import AnchorWord
from docvlm.forms.second_reading import SURE_SECOND, SecondReader
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


def test_a_word_read_alike_twice_is_legible_and_a_misread_one_is_read_again(printed) -> None:
    pdf, box = printed
    with open_source(pdf) as document:
        reader = SecondReader(document.page(1))
        agreed = reader.reading(AnchorWord("NM-4119832", box, (0, 0, 0, 0), 0, 0, 0.4))
        misread = reader.reading(AnchorWord("NM-4119B32", box, (0, 0, 0, 0), 0, 0, 0.4))
    assert agreed[0] == "NM-4119832" and agreed[1] >= 0.85
    assert misread[0] == "NM-4119832" and misread[1] >= SURE_SECOND
