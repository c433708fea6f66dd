"""A document on a darker backdrop: the paper is found, the backdrop painted in its shade."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import docvlm
from docvlm.engines.ocr_backdrop import paper_box, without_backdrop

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _till_roll_on_cardboard() -> Image.Image:
    """A 300-dpi scan of a narrow till roll lying at the right edge of grey cardboard, with a
    black strip where the scanner lid ended."""
    page = Image.new("RGB", (1700, 2300), (165, 160, 150))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 60, 2300), fill=(30, 30, 30))
    draw.rectangle((1100, 0, 1700, 1800), fill=(226, 226, 222))
    font = ImageFont.truetype(MONO, 30)
    for row, (item, price) in enumerate([("MILK", "1,19"), ("BREAD", "2,49"), ("SUMME", "3,68")]):
        draw.text((1130, 200 + 60 * row), item, fill=(40, 40, 40), font=font)
        draw.text((1560, 200 + 60 * row), price, fill=(40, 40, 40), font=font)
    return page


def test_a_till_roll_on_cardboard_is_found_and_the_cardboard_painted_in_its_shade() -> None:
    page = _till_roll_on_cardboard()
    x0, y0, x1, y1 = paper_box(page)
    assert 1070 <= x0 <= 1100 and y0 == 0 and x1 == 1700 and 1800 <= y1 <= 1840
    cleaned = np.asarray(without_backdrop(page))
    assert np.abs(cleaned[1000, 500].astype(int) - (226, 226, 222)).max() <= 2  # cardboard
    assert np.abs(cleaned[2200, 30].astype(int) - (226, 226, 222)).max() <= 2  # black strip
    assert (cleaned[200:240, 1130:1400] < 100).any()  # the roll's print is kept
    gray = without_backdrop(page.convert("L"))
    assert gray.mode == "L" and abs(int(np.asarray(gray)[1000, 500]) - 225) <= 2


def test_a_page_of_paper_or_with_a_dark_band_across_it_has_no_backdrop() -> None:
    blank = Image.new("RGB", (1700, 2300), "white")
    ImageDraw.Draw(blank).text((100, 100), "Invoice 42", fill="black")
    assert paper_box(blank) is None and without_backdrop(blank) is blank
    banded = blank.copy()
    ImageDraw.Draw(banded).rectangle((0, 0, 1700, 400), fill=(40, 40, 90))  # a title bar
    assert paper_box(banded) is None
    assert paper_box(Image.new("RGB", (200, 300), "white")) is None  # too small to look at


def test_a_till_roll_on_cardboard_is_read_and_its_total_found(tmp_path) -> None:
    path = tmp_path / "roll.png"
    _till_roll_on_cardboard().save(path)
    texts = [block.text for block in docvlm.parse(path).pages[0].blocks]
    assert "SUMME 3,68" in texts  # with the cardboard there, one empty figure
    schema = {"type": "object", "properties": {"total": {"type": ["number", "null"]}}}
    assert docvlm.extract(path, schema).data["total"] == 3.68
