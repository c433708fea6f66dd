"""Tesseract kept loaded in the process reads as the `tesseract` command does."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import pymupdf
import pytest
from PIL import Image

from docvlm.engines import ocr_libtesseract
from docvlm.engines.ocr_tesseract import TesseractBackend, find_tessdata
from docvlm.engines.orientation import QUICK_CHARACTERS
from docvlm.errors import PageTimeoutError

TESSDATA = find_tessdata("eng")
pytestmark = pytest.mark.skipif(
    TESSDATA is None or shutil.which("tesseract") is None or not ocr_libtesseract.available(),
    reason="needs the tesseract command, libtesseract and its English data",
)
LINES = [
    "Quarterly revenue rose by 12.5 % to 4,180 thousand",
    "while costs (rent, wages, freight) fell slightly.",
    "Name | Amount | Date",
    "Invoice 2031 was paid on 14 March 2024.",
]


def text_page(size: float = 11) -> Image.Image:
    document = pymupdf.open()
    page = document.new_page(width=400, height=40 + 20 * len(LINES))
    for row, line in enumerate(LINES):
        page.insert_text((20, 34 + 20 * row), line, fontsize=size)
    pixmap = page.get_pixmap(dpi=200)
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


@pytest.fixture(scope="module")
def loaded() -> TesseractBackend:
    return TesseractBackend()


def command_backend() -> TesseractBackend:
    backend = TesseractBackend()
    backend.in_process = False
    return backend


@pytest.mark.parametrize("psm", [None, 6])
def test_loaded_tesseract_reads_the_same_lines_as_the_command(
    loaded: TesseractBackend, psm: int | None
) -> None:
    image = text_page()
    assert loaded.in_process
    ours = loaded.recognize(image, psm=psm)
    assert ours == command_backend().recognize(image, psm=psm)
    assert "revenue" in ours[0].text and all(0 < line.confidence <= 1 for line in ours)
    # A second page on the same loaded handle reads as a fresh one.
    assert loaded.recognize(image.crop((0, 0, image.width, 120)), psm=psm) == (
        command_backend().recognize(image.crop((0, 0, image.width, 120)), psm=psm)
    )


@pytest.mark.parametrize("backend", [TesseractBackend, command_backend])
def test_a_reading_stops_where_its_line_boxes_say_so(backend) -> None:
    """`unless` sees the boxes of the page's text lines (in process, before the reading)."""
    image, seen = text_page(), []

    def count(boxes) -> bool:
        seen.append(len(boxes))
        return len(boxes) == len(LINES)

    assert backend().recognize(image, unless=count) is None
    assert seen == [len(LINES)]
    assert backend().recognize(image, unless=lambda boxes: False) == backend().recognize(image)


@pytest.mark.parametrize("turn", [90, 180])
def test_loaded_osd_finds_the_same_turn_and_script_as_the_command(
    loaded: TesseractBackend, turn: int
) -> None:
    if not (TESSDATA / "osd.traineddata").is_file():
        pytest.skip("tesseract-ocr-osd is not installed")
    image = Image.new("RGB", (900, 900), "white")
    page = text_page(14)
    for row in range(3):
        image.paste(page, (0, row * page.height))
    image = image.rotate(turn, expand=True)
    found = loaded.orientation(image, QUICK_CHARACTERS)
    assert found == command_backend().orientation(image, QUICK_CHARACTERS)
    assert found.rotate == turn and found.script == "Latin"


def test_a_page_past_its_timeout_is_a_timeout_error() -> None:
    backend = TesseractBackend(timeout=0.001)
    with pytest.raises(PageTimeoutError):
        backend.recognize(text_page())


def test_threads_sharing_a_backend_read_as_one_does(loaded: TesseractBackend) -> None:
    """The server's worker threads share one engine: each reads with its own handle."""
    pages = [text_page(size) for size in (10, 11, 12, 13)]
    alone = [loaded.recognize(page) for page in pages]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(loaded.recognize, pages))
    assert together == alone
