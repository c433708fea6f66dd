from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from docvlm.errors import (
    CorruptFileError,
    EmptyFileError,
    EncryptedPDFError,
    PageRangeError,
    PageTooLargeError,
    UnsupportedFileError,
)
from docvlm.pipeline import Parser
from docvlm.sources import open_source, parse_page_range
from tests.badinputs import broken_xref_pdf, encrypted_pdf, write_bad_inputs

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.mark.parametrize(
    ("spec", "count", "expected"),
    [
        ("1-3,7", 10, [1, 2, 3, 7]),
        ("7,1-3,2", 10, [1, 2, 3, 7]),
        ("5-", 7, [5, 6, 7]),
        ("-2", 7, [1, 2]),
        (None, 3, [1, 2, 3]),
        ([3, 1], 3, [1, 3]),
        (" 2 , 4 ", 4, [2, 4]),
    ],
)
def test_page_range(spec, count, expected):
    assert parse_page_range(spec, count) == expected


@pytest.mark.parametrize("spec", ["0", "11", "3-1", "a", "1-2-3", "-", ",", "1;2"])
def test_page_range_rejects(spec):
    with pytest.raises(PageRangeError):
        parse_page_range(spec, 10)


@pytest.mark.parametrize("rasterizer", ["pymupdf", "poppler"])
@pytest.mark.parametrize("size", [896, 1024, 1536])
def test_rasterizers_give_requested_size(rasterizer, size):
    with open_source(SAMPLES / "report.pdf", rasterizer=rasterizer, size=size) as source:
        page = next(source.pages())
        image = page.render()
    assert max(image.size) == size
    assert image.mode == "RGB"
    # Portrait A4/Letter: the height is the longer side; aspect is kept.
    assert image.size[1] == size
    assert abs(image.size[0] / image.size[1] - page.width / page.height) < 0.01


def test_both_rasterizers_draw_the_same_page():
    images = []
    for rasterizer in ("pymupdf", "poppler"):
        with open_source(SAMPLES / "report.pdf", rasterizer=rasterizer) as source:
            images.append(next(source.pages()).render().convert("L"))
    a, b = (im.resize((128, 160)).tobytes() for im in images)
    mean_difference = sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)
    assert mean_difference < 12


def test_text_layer_probe_trusts_born_digital_and_not_scans():
    with open_source(SAMPLES / "mixed.pdf") as source:
        probes = [page.probe for page in source.pages()]
    assert probes[0].trusted and probes[0].chars > 200
    assert not probes[1].trusted


def test_images_and_multipage_tiff():
    frames = [Image.new("RGB", (300, 400), color) for color in ("white", "black", "red")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    with open_source(buffer.getvalue(), pages="2-3") as source:
        pages = list(source.pages())
    assert [p.number for p in pages] == [2, 3]
    assert source.page_count == 3
    assert pages[0].render().getpixel((10, 10)) == (0, 0, 0)
    assert pages[0].render().size == (768, 1024)
    assert not pages[0].probe.trusted


def tiff(*sizes: tuple[int, int]) -> bytes:
    frames = [Image.new("RGB", size, "white") for size in sizes]
    for frame in frames:
        ImageDraw.Draw(frame).text((20, 20), "Page text", fill="black")
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def test_tiff_frames_are_decoded_lazily_and_each_checked_against_the_pixel_limit():
    data = tiff((300, 400), (3000, 4000), (300, 400))
    limit = 300 * 400
    with open_source(data, max_pixels=limit) as source:  # opening decodes no frame
        assert source.page_count == 3
        assert source.page(1).width == 300 and source.page(3).height == 400
        with pytest.raises(PageTooLargeError, match="frame 2 image is 3000×4000"):
            source.page(2)
    document = Parser("ocr", max_pixels=limit).parse(data)
    assert [page.status for page in document.pages] == ["ok", "error", "ok"]
    assert document.pages[1].error_kind == "too_large"


def test_passwords():
    data = encrypted_pdf("s3cret")
    with pytest.raises(EncryptedPDFError, match="--password"):
        open_source(data)
    with pytest.raises(EncryptedPDFError, match="wrong password"):
        open_source(data, password="nope")
    with open_source(data, password="s3cret") as source:
        assert next(source.pages()).probe.trusted


def test_repaired_pdf_opens_with_a_warning():
    with open_source(broken_xref_pdf()) as source:
        assert source.page_count == 1
        assert "repaired" in source.warnings[0]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("empty.pdf", EmptyFileError),
        ("truncated.pdf", CorruptFileError),
        ("encrypted.pdf", EncryptedPDFError),
        ("not_a_pdf.pdf", UnsupportedFileError),
        ("zero_pages.pdf", EmptyFileError),
        ("bomb.png", PageTooLargeError),
    ],
)
def test_bad_inputs_raise_typed_one_line_errors(tmp_path, name, error):
    path = write_bad_inputs(tmp_path)[name]
    with pytest.raises(error) as raised:
        open_source(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(str(path))


def test_huge_page_fails_on_that_page(tmp_path):
    path = write_bad_inputs(tmp_path)["huge_page.pdf"]
    with open_source(path) as source, pytest.raises(PageTooLargeError, match="200×200 in"):
        source.page(1)


def test_size_below_minimum_is_refused():
    with pytest.raises(ValueError, match="896"):
        open_source(SAMPLES / "report.pdf", size=512)
