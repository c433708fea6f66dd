"""OCR engine: accuracy on the scanned sample, reading order, both backends, auto, fallback."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image, ImageFilter

from docvlm.document import Block, BlockType
from docvlm.engines import ocr, ocr_rapid, ocr_tesseract
from docvlm.engines.ocr import TABLE_PSM, OCREngine
from docvlm.engines.ocr_layout import OCRLine, OCRWord, cjk_share, lines_to_blocks
from docvlm.engines.ocr_rapid import SAMPLE_BAND_ROWS, RapidOCRBackend
from docvlm.engines.ocr_tesseract import TesseractBackend
from docvlm.engines.orientation import Orientation, PageOSD
from docvlm.errors import EngineUnavailableError
from docvlm.layout.regions import Region
from docvlm.metrics import character_error_rate, word_error_rate
from docvlm.sources import open_source
from tests.test_scanned import PARAGRAPH, png, text_page

SAMPLES = Path(__file__).resolve().parents[1] / "samples"

LEFT = [
    "Rivers carry sediment from the mountains",
    "down to the wide delta near the coast",
    "where farmers plant rice every spring.",
]
RIGHT = [
    "Libraries lend books and maps to anyone",
    "who shows a card at the front desk",
    "and returns them within three weeks.",
]


def render(page: pymupdf.Page, dpi: int = 200) -> Image.Image:
    pixmap = page.get_pixmap(dpi=dpi)
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


def image_source(image: Image.Image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return open_source(buffer.getvalue())


def two_column_image() -> Image.Image:
    """Two columns whose baselines line up exactly, the case where line sorting interleaves."""
    page = pymupdf.open().new_page(width=520, height=160)
    for row, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
        y = 40 + 16 * row
        page.insert_text((20, y), left, fontname="helv", fontsize=10)
        page.insert_text((280, y), right, fontname="helv", fontsize=10)
    return render(page)


def chinese_image() -> Image.Image:
    page = pymupdf.open().new_page(width=360, height=60)
    page.insert_text((20, 36), "文档理解光学字符识别", fontname="china-s", fontsize=20)
    return render(page)


def english_image() -> Image.Image:
    page = pymupdf.open().new_page(width=360, height=60)
    page.insert_text((20, 36), "Quarterly revenue grew strongly", fontname="helv", fontsize=14)
    return render(page)


def block_text(block: Block) -> str:
    """A block's text, a table's cells row by row."""
    if block.table is None:
        return block.text
    return "\n".join(" ".join(cell for cell in row if cell) for row in block.table.rows())


@pytest.fixture(scope="module")
def engine() -> OCREngine:
    return OCREngine("auto")


def test_scanned_report_character_error_rate(engine: OCREngine) -> None:
    reference = (SAMPLES / "expected" / "report.txt").read_text()
    with open_source(SAMPLES / "report_scanned.pdf") as source:
        pages = list(source.pages())
        blocks = [engine.parse(page) for page in pages]
    text = "\n".join(block_text(block) for page_blocks in blocks for block in page_blocks)
    assert character_error_rate(text, reference) <= 0.05
    for page, page_blocks in zip(pages, blocks, strict=True):
        assert all(b.engine == "ocr" and b.page == page.number for b in page_blocks)
        for block in page_blocks:
            x0, y0, x1, y1 = block.bbox
            assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height
            assert 0.5 < block.confidence <= 1
    headings = {b.text for page_blocks in blocks for b in page_blocks if b.type == "heading"}
    assert {"Introduction", "Method", "Results", "Throughput"} <= headings
    items = [b.text for b in blocks[0] if b.type == BlockType.LIST_ITEM]
    assert "Parse every page in reading order." in items


@pytest.mark.parametrize("backend", ["tesseract", "rapidocr"])
def test_two_column_page_reads_left_column_first(engine: OCREngine, backend: str) -> None:
    source = image_source(two_column_image())
    blocks = OCREngine(backend).parse(source.page(1))
    text = " ".join(b.text for b in blocks)
    assert word_error_rate(text, " ".join(LEFT + RIGHT)) <= 0.1
    assert text.index("coast") < text.index("spring") < text.index("Libraries")


@pytest.mark.parametrize("backend_class", [TesseractBackend, RapidOCRBackend])
def test_backend_returns_lines_with_boxes_inside_the_image(backend_class) -> None:
    image = english_image()
    lines = backend_class().recognize(image)
    assert " ".join(line.text for line in lines) == "Quarterly revenue grew strongly"
    for line in lines:
        assert 0 <= line.bbox[0] < line.bbox[2] <= image.width
        assert 0 <= line.bbox[1] < line.bbox[3] <= image.height
        assert [w.text for w in line.words] == line.text.split()
        assert all(0 < w.confidence <= 1 for w in line.words)


def test_rapidocr_reads_chinese() -> None:
    lines = RapidOCRBackend().recognize(chinese_image())
    assert "".join(line.text for line in lines) == "文档理解光学字符识别"


def test_rapidocr_sample_tells_chinese_from_latin() -> None:
    backend = RapidOCRBackend()
    assert cjk_share(backend.sample_text(chinese_image())) > 0.9
    sample = backend.sample_text(english_image())
    assert "revenue" in sample and cjk_share(sample) == 0


def test_rapidocr_sample_detects_in_the_inkiest_band_only(monkeypatch) -> None:
    """The script sample's detection, most of its cost, sees a third of a tall page: the band
    where its text is."""
    page = pymupdf.open().new_page(width=400, height=1000)
    page.insert_text((20, 900), "文档理解光学字符识别", fontname="china-s", fontsize=20)
    backend = RapidOCRBackend()
    detect, heights = backend._ocr.text_det, []

    def text_det(image):
        heights.append(image.shape[0])
        return detect(image)

    monkeypatch.setattr(backend._ocr, "text_det", text_det)
    assert cjk_share(backend.sample_text(render(page, dpi=150))) > 0.9
    assert heights == [SAMPLE_BAND_ROWS]


def test_rapidocr_rebuilds_dropped_spaces() -> None:
    # At 150 dpi with tight line boxes PP-OCRv4 reads these lines without any spaces.
    truth = ["The committee reviewed annual budget figures", "and approved minor changes"]
    page = pymupdf.open().new_page(width=420, height=60)
    for row, line in enumerate(truth):
        page.insert_text((20, 25 + 22 * row), line, fontname="helv", fontsize=11)
    lines = RapidOCRBackend().recognize(render(page, dpi=150))
    assert [line.text for line in lines] == truth


def test_rebuilt_spaces_leave_a_figure_whole_across_its_points() -> None:
    """Dot-matrix print leaves a blank cell around a date's points: the wide blank after
    "03." is no word space (RapidOCR read no space there), the one after "20" is."""
    chars = list("03.04.20") + list("OK")
    lefts = [0, 20, 40, 80, 100, 120, 160, 180, 260, 280]
    gray = np.full((40, 320), 255, np.uint8)
    for char, left in zip(chars, lefts, strict=True):
        top = 28 if char == "." else 8
        gray[top:32, left + 2 : left + (8 if char == "." else 16)] = 0
    quads = [[[x, 5], [x + 20, 5], [x + 20, 35], [x, 35]] for x in lefts]
    line = ocr_rapid._line(gray, [[0, 5], [300, 5], [300, 35], [0, 35]], "", 0.9, quads, chars)
    assert [word.text for word in line.words] == ["03.04.20", "OK"]


def test_a_typewriters_narrow_letters_blank_on_both_sides_are_no_word_space() -> None:
    """Each character in a cell of its own: around "f" and "t" the blank is as wide as a
    word space between wide letters, but their centres are one cell apart, not two."""
    text = "MEMORANDUM Swift NOW"
    gray = np.full((40, 20 * len(text)), 255, np.uint8)
    chars = [c for c in text if c != " "]
    lefts = [20 * k for k, c in enumerate(text) if c != " "]
    for char, left in zip(chars, lefts, strict=True):
        half = 2 if char in "ift" else 7
        gray[8:32, left + 10 - half : left + 10 + half] = 0
    quads = [[[x, 5], [x + 20, 5], [x + 20, 35], [x, 35]] for x in lefts]
    box = [[0, 5], [20 * len(text), 5], [20 * len(text), 35], [0, 35]]
    line = ocr_rapid._line(gray, box, "", 0.9, quads, chars)
    assert [word.text for word in line.words] == ["MEMORANDUM", "Swift", "NOW"]


def test_words_typed_on_a_rule_keep_their_spaces() -> None:
    """An answer typed on a form's rule: the underline inks every column under the words, so
    only the rows above it show the blanks between them."""
    text = "HAS PROVEN TO BE"
    gray = np.full((40, 20 * len(text)), 255, np.uint8)
    chars = [c for c in text if c != " "]
    lefts = [20 * k for k, c in enumerate(text) if c != " "]
    for left in lefts:
        gray[8:30, left + 3 : left + 17] = 0
    gray[33:35, :] = 0  # the rule, under the whole line
    quads = [[[x, 5], [x + 20, 5], [x + 20, 37], [x, 37]] for x in lefts]
    box = [[0, 5], [20 * len(text), 5], [20 * len(text), 37], [0, 37]]
    line = ocr_rapid._line(gray, box, "", 0.9, quads, chars)
    assert [word.text for word in line.words] == ["HAS", "PROVEN", "TO", "BE"]


def test_the_widest_blank_between_two_characters_counts_blanks_at_the_crops_edges() -> None:
    """A gap is measured between two characters' centres: blank columns at either end of that
    span are part of it; a span with no blank (or no columns) has none."""
    profile = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0], bool)
    assert ocr_rapid._widest_blank_run(profile) == 3
    assert ocr_rapid._widest_blank_run(profile[:2]) == 2
    assert ocr_rapid._widest_blank_run(np.ones(5, bool)) == 0
    assert ocr_rapid._widest_blank_run(np.zeros(0, bool)) == 0


def test_small_print_is_enlarged_for_tesseract_and_print_it_reads_unsurely_goes_to_rapidocr(
    engine: OCREngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 72 dpi page (print ~8 px high) is enlarged and read by Tesseract, whose segmentation
    keeps rows and columns apart (at its own size: 5.8 % of characters wrong); a blurred 100
    dpi page it reads unsurely is read again by RapidOCR (Tesseract: 63 % wrong) and still
    flagged."""
    readers: list[str] = []
    recognize = RapidOCRBackend.recognize

    def spy(self: RapidOCRBackend, image: Image.Image) -> list[OCRLine]:
        readers.append("rapidocr")
        return recognize(self, image)

    monkeypatch.setattr(RapidOCRBackend, "recognize", spy)
    truth = " ".join(PARAGRAPH)
    for image, reader, most_wrong in (
        (text_page(dpi=72), [], 0.01),
        (text_page(dpi=100).filter(ImageFilter.GaussianBlur(1.6)), ["rapidocr"], 0.1),
    ):
        readers.clear()
        page = open_source(png(image)).page(1)
        text = " ".join(block.text for block in engine.parse(page))
        assert readers == reader
        assert character_error_rate(text, truth) <= most_wrong
    assert page.findings.low_confidence


def test_auto_picks_rapidocr_for_chinese_and_tesseract_for_english(engine: OCREngine) -> None:
    languages, lines = engine.recognize(chinese_image())
    assert languages is None and "光学字符" in "".join(line.text for line in lines)  # RapidOCR
    languages, lines = engine.recognize(english_image())
    assert languages == "eng" and "revenue" in lines[0].text  # Tesseract


@pytest.mark.parametrize(("script", "reader"), [("Han", None), ("Latin", "eng")])
def test_a_page_osd_names_han_is_read_by_rapidocr_first(
    engine: OCREngine, monkeypatch, script: str, reader: str | None
) -> None:
    """No Tesseract reading is made (and thrown away) of a page OSD's quick look names Han;
    an English page it misnames Han is still read by Tesseract."""
    readings = []
    original = TesseractBackend.recognize

    def recognize(self, image, languages=None, psm=None, unless=None):
        lines = original(self, image, languages, psm, unless)
        readings.append(lines is not None)
        return lines

    monkeypatch.setattr(TesseractBackend, "recognize", recognize)
    osd = PageOSD(lambda characters: Orientation(0, 5.0, "Han", 0.9))
    image = chinese_image() if script == "Han" else english_image()
    languages, lines = engine.recognize(image, osd)
    assert languages == reader and lines
    assert any(readings) == (script == "Latin")


def test_missing_tessdata_falls_back_to_rapidocr(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    monkeypatch.setattr(ocr_tesseract, "TESSDATA_DIRS", ())
    with pytest.warns(RuntimeWarning, match="tessdata.*falling back to RapidOCR"):
        fallback = OCREngine("tesseract")
    languages, lines = fallback.recognize(english_image())
    assert languages is None and "revenue" in lines[0].text  # read by RapidOCR


def test_tessdata_prefix_is_honoured(monkeypatch, tmp_path) -> None:
    (tmp_path / "tessdata").mkdir()
    (tmp_path / "tessdata" / "eng.traineddata").write_bytes(b"x")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert ocr_tesseract.find_tessdata("eng") == tmp_path / "tessdata"
    assert ocr_tesseract.find_tessdata("eng+xyz") != tmp_path / "tessdata"


def test_unknown_backend_is_a_typed_error() -> None:
    with pytest.raises(EngineUnavailableError, match="unknown OCR backend"):
        OCREngine("abbyy")  # type: ignore[arg-type]


def line(text: str, x0: float, y0: float, size: float = 10.0, width: float = 200.0) -> OCRLine:
    """A synthetic line whose words are spread evenly over `width`."""
    words = text.split()
    step = width / len(words)
    boxes = [(x0 + i * step, y0, x0 + (i + 0.8) * step, y0 + size) for i in range(len(words))]
    ocr_words = tuple(OCRWord(w, b, 0.9, size) for w, b in zip(words, boxes, strict=True))
    return OCRLine(text, (x0, y0, x0 + width, y0 + size), 0.9, ocr_words, size)


def test_lines_become_headings_lists_and_dehyphenated_paragraphs() -> None:
    lines = [
        line("Annual Summary", 50, 40, size=16, width=120),
        line("The new system turns scanned pages into infor-", 50, 70),
        line("mation that analysts can search quickly.", 50, 82),
        line("• Parse every page.", 50, 110, width=100),
        line("• Keep tables as grids", 50, 124, width=110),
        line("with their spans.", 60, 136, width=90),
        line("1. Open the file.", 50, 160, width=90),
    ]
    blocks = lines_to_blocks(lines, page_number=3)
    assert [(b.type, b.text) for b in blocks] == [
        (BlockType.HEADING, "Annual Summary"),
        (
            BlockType.PARAGRAPH,
            "The new system turns scanned pages into information that analysts can search quickly.",
        ),
        (BlockType.LIST_ITEM, "Parse every page."),
        (BlockType.LIST_ITEM, "Keep tables as grids with their spans."),
        (BlockType.LIST_ITEM, "Open the file."),
    ]
    assert blocks[0].level == 1 and blocks[-1].ordered and not blocks[2].ordered
    assert all(b.page == 3 and b.engine == "ocr" for b in blocks)
    assert blocks[1].bbox == (50, 70, 250, 92)


def test_line_across_the_gutter_is_split_into_its_columns() -> None:
    # Tesseract joined the left heading and the right column's first line into one line.
    heading, first = line("Results", 50, 40, width=60), line("Batching keeps it busy", 300, 40)
    merged = OCRLine(
        "Results Batching keeps it busy", (50, 40, 500, 50), 0.9, heading.words + first.words, 10
    )
    left = [line(f"left column line number {i}", 50, 60 + 14 * i) for i in range(3)]
    right = [line(f"right column line number {i}", 300, 60 + 14 * i) for i in range(3)]
    blocks = lines_to_blocks([merged, *left, *right], page_number=1)
    text = " ".join(b.text for b in blocks)
    assert text.index("Results") < text.index("left column") < text.index("Batching")
    assert text.index("Batching") < text.index("right column")


def test_rapidocr_detects_a_table_strip_at_its_own_size() -> None:
    """A table crop a few lines high is not enlarged for detection (RapidOCR's default scaled
    the shorter side up to 736 px: a 169-px strip was detected at 5520 × 736, 14 s)."""
    detector = RapidOCRBackend()._ocr.text_det
    strip = np.full((160, 1200, 3), 255, np.uint8)
    tensor = detector.get_preprocess(max(strip.shape))(strip)
    assert tensor.shape[-2] <= 192  # 160 rounded to RapidOCR's multiple of 32


def _table_image() -> tuple[Image.Image, tuple[float, float, float, float]]:
    """A page holding only a small-print table of figures, and the table's box (pixels)."""
    page = pymupdf.open().new_page(width=300, height=200)
    for row in range(4):
        y = 30 + 14 * row
        page.insert_text((20, y), f"Item {row}", fontname="helv", fontsize=7)
        page.insert_text((120, y), f"{row + 1}2,499.96", fontname="helv", fontsize=7)
    image = render(page, dpi=150)
    return image, (20.0, 40.0, 420.0, 170.0)


def test_small_table_print_is_read_at_twice_its_size(monkeypatch) -> None:
    """Decimal points of small figures are lost at their own size: a table region whose glyphs
    are small is read enlarged, its boxes brought back to the page."""
    engine = OCREngine("tesseract")
    image, box = _table_image()
    sizes = []
    original = TesseractBackend.recognize

    def recognize(self, crop, languages=None, psm=None, unless=None):
        sizes.append(crop.size)
        return original(self, crop, languages, psm, unless)

    monkeypatch.setattr(TesseractBackend, "recognize", recognize)
    crop = image.crop(tuple(round(v) for v in box))
    lines = engine._read_enlarged(crop, "eng", TABLE_PSM)
    assert sizes == [(crop.width * 2, crop.height * 2)]
    assert "12,499.96" in " ".join(line.text for line in lines)
    assert all(line.bbox[2] <= crop.width + 1 and line.bbox[3] <= crop.height + 1 for line in lines)


def _page_segmentation_modes(monkeypatch) -> list:
    """The page-segmentation mode of every Tesseract read from now on, in order."""
    modes = []
    original = TesseractBackend.recognize

    def recognize(self, crop, languages=None, psm=None, unless=None):
        modes.append(psm)
        return original(self, crop, languages, psm, unless)

    monkeypatch.setattr(TesseractBackend, "recognize", recognize)
    return modes


def test_a_page_of_tables_is_not_read_around_them(monkeypatch) -> None:
    """Tables filling the page leave nothing around them to read: only the tables are."""
    engine = OCREngine("tesseract")
    image, _ = _table_image()
    monkeypatch.setattr(  # the page read, enlarged or not
        OCREngine, "_regions", lambda self, page: [Region("table", (0, 0, *page.size), 0.9)]
    )
    modes = _page_segmentation_modes(monkeypatch)
    blocks = engine.parse(image_source(image).page(1))
    assert modes and set(modes) == {6}
    read = [block.text for block in blocks]
    read += [cell.text for block in blocks if block.table for cell in block.table.cells]
    assert any("Item" in text for text in read)


def test_a_page_osd_names_han_is_read_by_rapidocr_without_a_sample(monkeypatch) -> None:
    """OSD's Han settles the script: RapidOCR reads the page at once, no sample of it first
    (the sample cost nearly a full reading), and its reading is still checked for CJK."""
    engine = OCREngine("auto")
    han = Orientation(0, 5.0, "Han", 1.2)
    monkeypatch.setattr(TesseractBackend, "orientation", lambda self, image, characters=50: han)
    sampled = []
    monkeypatch.setattr(RapidOCRBackend, "sample_text", lambda self, image: sampled.append(1))
    blocks = engine.parse(image_source(chinese_image()).page(1))
    assert not sampled
    assert cjk_share(" ".join(block.text for block in blocks)) > 0.8


def test_tables_are_read_only_at_the_turn_kept(monkeypatch) -> None:
    """A page OSD turns wrong is read again the other way: its table region is read once, at
    the turn whose reading is kept, not at the wrong one too."""
    page = pymupdf.open().new_page(width=420, height=300)
    for row in range(8):
        text = f"Rivers carry sediment from the mountains down to the coast {row}"
        page.insert_text((20, 30 + 16 * row), text, fontname="helv", fontsize=10)
    for row in range(3):
        page.insert_text((20, 200 + 16 * row), f"Item {row}", fontname="helv", fontsize=10)
        page.insert_text((200, 200 + 16 * row), f"{row + 1}2,499.96", fontname="helv", fontsize=10)
    image = render(page)
    engine = OCREngine("tesseract")
    wrong = Orientation(180, 5.0, "Latin", 2.0)
    monkeypatch.setattr(TesseractBackend, "orientation", lambda self, image, characters=50: wrong)

    def bottom_table(self, image):
        return [Region("table", (0.0, 0.6 * image.height, image.width, image.height), 0.9)]

    monkeypatch.setattr(OCREngine, "_regions", bottom_table)
    table_reads = []
    read_enlarged = OCREngine._read_enlarged

    def record_table_read(self, crop, languages, psm):
        if psm == TABLE_PSM:
            table_reads.append(crop.size)
        return read_enlarged(self, crop, languages, psm)

    monkeypatch.setattr(OCREngine, "_read_enlarged", record_table_read)
    source = image_source(image).page(1)
    blocks = engine.parse(source)
    assert source.findings.orientation == 0
    assert len(table_reads) == 1
    assert "sediment" in " ".join(block.text for block in blocks)


def test_a_page_read_poorly_but_upright_is_not_read_upside_down(monkeypatch) -> None:
    """A page under the recheck bar is tried upside down on a sample of its middle lines
    first: upright, the sample reads worse and the whole page is not read again turned."""
    page = pymupdf.open().new_page(width=420, height=300)
    for row in range(12):
        text = f"Rivers carry sediment from the mountains down to the coast {row}"
        page.insert_text((20, 30 + 16 * row), text, fontname="helv", fontsize=10)
    engine = OCREngine("tesseract")
    sure = Orientation(0, 5.0, "Latin", 2.0)
    monkeypatch.setattr(TesseractBackend, "orientation", lambda self, image, characters=50: sure)
    monkeypatch.setattr(ocr, "ORIENTATION_RECHECK_CONFIDENCE", 1.01)  # any page reads "poorly"
    turns = []
    read_turned = OCREngine._read_turned

    def record_turn(self, image, orientation, osd, notes):
        turns.append(orientation.rotate)
        return read_turned(self, image, orientation, osd, notes)

    monkeypatch.setattr(OCREngine, "_read_turned", record_turn)
    source = image_source(render(page)).page(1)
    blocks = engine.parse(source)
    assert turns == [0] and source.findings.orientation == 0
    assert "sediment" in " ".join(block.text for block in blocks)


def test_a_band_read_upside_down_is_judged_against_itself_read_the_same_way(monkeypatch) -> None:
    """The turn check reads a band of the page's middle lines as one block of text, upside
    down: that reading is compared with the same band read as one block as it is, not with the
    page's own reading of it (a ruled table scores lower read as one block either way)."""
    image = Image.new("L", (400, 200), 255)
    image.paste(0, (0, 50, 400, 60))  # dark along the band's top: turned, along its bottom

    def line(confidence: float) -> OCRLine:
        word = OCRWord("word", (10, 50, 60, 70), confidence)
        return OCRLine("word " * 6, (10, 50, 390, 150), confidence, (word,) * 6)

    def recognize(self, crop, languages=None, psm=None, unless=None):
        turned = np.asarray(crop)[-1].mean() < 128
        return [line(0.49 if turned else 0.37)]

    monkeypatch.setattr(TesseractBackend, "recognize", recognize)
    engine = OCREngine("tesseract")
    page_reading = [line(0.49) for _ in range(4)]
    assert engine._sample_reads_better(image, page_reading, "eng", flipped=True)
