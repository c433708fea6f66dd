"""Scanned pages end to end: orientation, blank and figure-only pages, languages, routing of
short text layers, low confidence, headings, tables, and real scans with known text."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import docvlm
from docvlm.document import BlockType
from docvlm.engines import ocr_tesseract
from docvlm.engines.ocr import OCREngine, _vertical
from docvlm.engines.ocr_deskew import deskew, skew_angle
from docvlm.engines.ocr_layout import OCRLine, OCRWord, lines_to_blocks
from docvlm.engines.ocr_tables import aligned_grid, grid_to_table, read_table
from docvlm.engines.orientation import (
    FULL_CHARACTERS,
    QUICK_CHARACTERS,
    QUICK_LATIN_SCRIPT,
    QUICK_MIN_CONFIDENCE,
    Orientation,
    PageOSD,
    parse_osd,
)
from docvlm.metrics import normalize_whitespace, normalized_edit_distance, word_error_rate
from docvlm.pipeline import Parser
from docvlm.sources import open_source

SCANS = Path(__file__).resolve().parent / "data" / "scans"
TESSDATA = ocr_tesseract.find_tessdata("eng")
PARAGRAPH = [
    "Rivers carry sediment from the mountains down to the wide",
    "delta near the coast where farmers plant rice every spring.",
    "Libraries lend books and maps to anyone who shows a card",
    "at the front desk and returns them within three weeks.",
    "The committee reviewed the annual budget figures in detail",
    "and approved minor changes to the regional transport plan.",
]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def text_page(lines: list[str] = PARAGRAPH, fontname: str = "helv", dpi: int = 200) -> Image.Image:
    document = pymupdf.open()
    page = document.new_page(width=420, height=60 + 16 * len(lines))
    if fontname == "dejavu":
        page.insert_font(fontname="dejavu", fontfile=_dejavu())
    for row, line in enumerate(lines):
        page.insert_text((24, 40 + 16 * row), line, fontname=fontname, fontsize=10)
    pixmap = page.get_pixmap(dpi=dpi)
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


def _dejavu() -> str:
    path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not path.is_file():
        pytest.skip("DejaVu fonts are not installed (apt-get install fonts-dejavu-core)")
    return str(path)


def page_text(document) -> str:
    return normalize_whitespace(document.to_markdown())


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser(engine="auto")


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_turned_page_reads_like_the_upright_one(parser: Parser, turn: int) -> None:
    upright = parser.parse(png(text_page()))
    turned = parser.parse(png(text_page().rotate(turn, expand=True)))
    assert word_error_rate(page_text(upright), " ".join(PARAGRAPH)) <= 0.03
    assert page_text(turned) == page_text(upright)
    # PIL turned it counter-clockwise; reading it took the same turn clockwise.
    assert turned.pages[0].orientation == turn and upright.pages[0].orientation == 0
    # Boxes are on the page as it came (turned), not on the upright copy OCR read.
    width, height = turned.pages[0].width, turned.pages[0].height
    for block in turned.blocks:
        x0, y0, x1, y1 = block.bbox
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        if turn in (90, 270):
            assert y1 - y0 > x1 - x0  # a text line of a page on its side is tall and thin


def test_osd_report_parsing() -> None:
    report = "Page number: 0\nOrientation in degrees: 270\nRotate: 90\n"
    report += "Orientation confidence: 9.62\nScript: Cyrillic\nScript confidence: 3.03\n"
    found = parse_osd(report)
    assert (found.rotate, found.script) == (90, "Cyrillic")
    unsure = parse_osd(report.replace("9.62", "0.20"))
    assert unsure.rotate == 0 and unsure.script == "Cyrillic"


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_osd_quick_look_turns_a_text_page_upright_and_is_sure(turn: int) -> None:
    if TESSDATA is None or not (TESSDATA / "osd.traineddata").is_file():
        pytest.skip("tesseract-ocr-osd is not installed")
    image = text_page(PARAGRAPH * 3).rotate(turn, expand=True)
    quick = ocr_tesseract.TesseractBackend().orientation(image, QUICK_CHARACTERS)
    assert quick.rotate == turn and quick.confidence >= QUICK_MIN_CONFIDENCE


@pytest.mark.parametrize("quick_confidence, full_runs", [(4.0, 0), (0.2, 1)])
def test_full_osd_runs_once_and_only_where_the_quick_look_is_unsure(
    quick_confidence: float, full_runs: int
) -> None:
    calls = []

    def detect(characters: int) -> Orientation:
        calls.append(characters)
        if characters == QUICK_CHARACTERS:
            return Orientation(90, quick_confidence, "Latin", 1.0)
        return Orientation(270, 6.0, "Cyrillic", 2.0)

    osd = PageOSD(detect)
    assert osd.turn.rotate == (90 if full_runs == 0 else 270)
    assert calls.count(FULL_CHARACTERS) == full_runs
    assert osd.full.script == "Cyrillic" and osd.full.script == "Cyrillic"  # asked twice
    assert calls.count(FULL_CHARACTERS) == 1 and calls.count(QUICK_CHARACTERS) == 1


@pytest.mark.parametrize(
    "quick_script, quick_score, full_runs",
    [("Han", 1.2, 0), ("Latin", QUICK_LATIN_SCRIPT, 0), ("Latin", 0.8, 1), ("Cyrillic", 5.0, 1)],
)
def test_the_script_comes_from_the_quick_look_only_where_it_names_han_or_surely_latin(
    quick_script: str, quick_score: float, full_runs: int
) -> None:
    calls = []

    def detect(characters: int) -> Orientation:
        calls.append(characters)
        if characters == QUICK_CHARACTERS:
            return Orientation(0, 4.0, quick_script, quick_score)
        return Orientation(0, 6.0, "Cyrillic", 2.0)

    osd = PageOSD(detect)
    assert osd.turn.rotate == 0
    assert osd.script.script == (quick_script if full_runs == 0 else "Cyrillic")
    assert calls.count(FULL_CHARACTERS) == full_runs and calls.count(QUICK_CHARACTERS) == 1


def test_the_script_comes_from_the_full_look_once_it_has_run() -> None:
    def detect(characters: int) -> Orientation:
        if characters == QUICK_CHARACTERS:
            return Orientation(0, 0.5, "Han", 1.2)  # too unsure of the turn: the full look runs
        return Orientation(0, 6.0, "Cyrillic", 2.0)

    osd = PageOSD(detect)
    assert osd.turn.confidence == 6.0
    assert osd.script.script == "Cyrillic"


def test_vertical_columns_are_told_from_line_boxes() -> None:
    column, line = (10, 10, 40, 240), (10, 10, 240, 40)
    assert _vertical([column, column, column, line])
    assert not _vertical([line, line, column])


def blank_and_figure_pages() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    white = Image.new("RGB", (1275, 1650), "white")
    speckled = np.full((1650, 1275), 255, np.uint8)
    speckled[rng.random(speckled.shape) < 3e-6] = 0
    grey = np.clip(rng.normal(225, 6, (1100, 850)), 0, 255).astype(np.uint8)
    figure = Image.new("RGB", (1275, 1650), "white")
    draw = ImageDraw.Draw(figure)
    for i in range(10):
        draw.ellipse((100 + 80 * i, 200 + 40 * i, 400 + 80 * i, 500 + 40 * i), outline="black")
        draw.line((100, 1500 - 70 * i, 1150, 1000 + 30 * i), fill=(40, 40, 200), width=5)
    draw.rectangle((250, 1100, 1000, 1500), fill=(90, 140, 90))
    return [white, Image.fromarray(speckled), Image.fromarray(grey), figure]


def test_blank_and_figure_only_pages_are_empty_and_ok() -> None:
    parser = Parser(engine="ocr")
    for image in blank_and_figure_pages():
        document = parser.parse(png(image))
        page = document.pages[0]
        assert page.status == "ok" and page.error is None, page.error
        assert "blank page" in page.reason or "no text found" in page.reason or page.blocks
        assert all(b.type == BlockType.FIGURE for b in page.blocks)
        assert document.ok


@pytest.mark.slow  # a docvlm process: imports and models load anew
def test_blank_pdf_page_in_a_batch_is_not_an_error(tmp_path: Path) -> None:
    document = pymupdf.open()
    document.new_page()
    page = document.new_page()
    page.insert_image(page.rect, stream=png(blank_and_figure_pages()[1]))
    (tmp_path / "blank.pdf").write_bytes(document.tobytes())
    (tmp_path / "out").mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "docvlm.cli",
            "parse",
            tmp_path / "blank.pdf",
            "-o",
            tmp_path / "out",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = [
        json.loads(line)
        for line in (tmp_path / "out" / "manifest.jsonl").read_text().split("\n")
        if line
    ]
    assert [row["status"] for row in rows] == ["ok", "ok"]


def test_ocr_lang_reads_cyrillic(parser: Parser) -> None:
    if ocr_tesseract.find_tessdata("rus") is None:
        pytest.skip("tesseract-ocr-rus is not installed")
    lines = ["Съешь же ещё этих мягких французских булок,", "да выпей же чаю."]
    image = png(text_page(lines, fontname="dejavu", dpi=300))
    document = Parser(engine="ocr", ocr_languages="rus").parse(image)
    assert word_error_rate(page_text(document), " ".join(lines)) <= 0.1


@pytest.mark.slow  # a docvlm process: imports and models load anew
def test_ocr_lang_on_the_command_line(tmp_path: Path) -> None:
    if ocr_tesseract.find_tessdata("rus") is None:
        pytest.skip("tesseract-ocr-rus is not installed")
    lines = ["Съешь же ещё этих мягких французских булок,", "да выпей же чаю."]
    (tmp_path / "letter.png").write_bytes(png(text_page(lines, fontname="dejavu", dpi=300)))
    command = [sys.executable, "-m", "docvlm.cli", "parse", tmp_path / "letter.png"]
    result = subprocess.run(
        [*command, "--engine", "ocr", "--ocr", "tesseract", "--ocr-lang", "rus"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert word_error_rate(normalize_whitespace(result.stdout), " ".join(lines)) <= 0.1


def test_cyrillic_without_its_data_warns_once_in_one_line(tmp_path: Path, monkeypatch) -> None:
    if TESSDATA is None or not (TESSDATA / "osd.traineddata").is_file():
        pytest.skip("tesseract-ocr-osd is not installed")
    for name in ("eng.traineddata", "osd.traineddata", "configs"):
        (tmp_path / name).symlink_to(TESSDATA / name)
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    monkeypatch.setattr(ocr_tesseract, "TESSDATA_DIRS", ())
    lines = ["Съешь же ещё этих мягких французских булок,", "да выпей же чаю, а потом", "ещё раз."]
    image = png(text_page(lines * 3, fontname="dejavu", dpi=300))
    parser = Parser(engine="ocr", ocr_backend="tesseract")
    with pytest.warns(RuntimeWarning, match="Cyrillic script detected") as caught:
        first = parser.parse(image)
        parser.parse(image)
    messages = [str(w.message) for w in caught if "Cyrillic" in str(w.message)]
    assert len(messages) == 1 and "\n" not in messages[0]
    assert "apt-get install tesseract-ocr-rus" in messages[0]
    assert "Cyrillic script detected" in first.pages[0].reason


def test_detected_script_adds_its_installed_language(parser: Parser) -> None:
    if ocr_tesseract.find_tessdata("rus") is None:
        pytest.skip("tesseract-ocr-rus is not installed")
    lines = ["Съешь же ещё этих мягких французских булок,", "да выпей же чаю, а потом", "ещё раз."]
    document = parser.parse(png(text_page(lines * 3, fontname="dejavu", dpi=300)))
    assert word_error_rate(page_text(document), " ".join(lines * 3)) <= 0.1


def test_vertical_japanese_keeps_its_kana(parser: Parser) -> None:
    if ocr_tesseract.find_tessdata("jpn+jpn_vert") is None:
        pytest.skip("tesseract-ocr-jpn and tesseract-ocr-jpn-vert are not installed")
    columns = ["吾輩は猫である。名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。"]
    document = pymupdf.open()
    page = document.new_page(width=200, height=340)
    for column, text in enumerate(columns):
        for row, char in enumerate(text):
            page.insert_text(
                (150 - 30 * column, 40 + 17 * row), char, fontname="japan", fontsize=15
            )
    image = Image.frombytes("RGB", *_pixmap(page, 300))
    text = page_text(parser.parse(png(image))).replace(" ", "")
    assert normalized_edit_distance(text, "".join(columns)) <= 0.1
    assert "どこで生れたか" in text  # right column first, kana kept


def _pixmap(page: pymupdf.Page, dpi: int):
    pixmap = page.get_pixmap(dpi=dpi)
    return (pixmap.width, pixmap.height), pixmap.samples


@pytest.mark.parametrize("short_text", ["Reduced test-case", "Issue 6010"])
def test_a_short_clean_text_layer_is_kept(parser: Parser, short_text: str) -> None:
    document = pymupdf.open()
    page = document.new_page(width=400, height=300)
    page.insert_text((40, 60), short_text, fontname="helv", fontsize=7)
    page.draw_rect(pymupdf.Rect(40, 100, 300, 250), color=(0, 0, 0), fill=(0.8, 0.8, 0.9))
    result = parser.parse(document.tobytes())
    assert result.pages[0].engine == "ocr"  # short layers are read by OCR where text is missing
    text = " ".join(b.text for b in result.blocks if b.type != BlockType.FIGURE)
    assert text == short_text


def test_text_in_an_image_beside_a_short_text_layer_is_read(parser: Parser) -> None:
    document = pymupdf.open()
    page = document.new_page(width=420, height=300)
    page.insert_text((24, 30), "Figure 1", fontname="helv", fontsize=9)
    page.insert_image(pymupdf.Rect(0, 60, 420, 180), stream=png(text_page(PARAGRAPH[:3])))
    text = page_text(parser.parse(document.tobytes()))
    assert text.startswith("Figure 1")
    assert word_error_rate(text, "Figure 1 " + " ".join(PARAGRAPH[:3])) <= 0.1


@pytest.mark.slow  # a docvlm process: imports and models load anew
def test_low_confidence_page_is_flagged_in_status_and_manifest(tmp_path: Path) -> None:
    blurred = text_page(dpi=100).filter(ImageFilter.GaussianBlur(1.6))
    (tmp_path / "blurred.png").write_bytes(png(blurred))
    (tmp_path / "sharp.png").write_bytes(png(text_page()))
    (tmp_path / "out").mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "docvlm.cli",
            "parse",
            tmp_path / "blurred.png",
            tmp_path / "sharp.png",
            "-o",
            tmp_path / "out",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    manifest = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
    rows = {Path(row["input"]).name: row for row in map(json.loads, manifest)}
    assert rows["blurred.png"]["status"] == "low_confidence"
    assert rows["sharp.png"]["status"] == "ok"


def noisy_line(text: str, y: float, size: float, confidence: float) -> OCRLine:
    """A line whose words sit one space apart (half a font size per character)."""
    words, boxes, x = text.split(), [], 50.0
    for word in words:
        boxes.append((x, y, x + 0.5 * size * len(word), y + size))
        x = boxes[-1][2] + 0.3 * size
    ocr_words = tuple(OCRWord(w, b, confidence, size) for w, b in zip(words, boxes, strict=True))
    return OCRLine(text, (50, y, x, y + size), confidence, ocr_words, size)


def test_ocr_noise_never_becomes_a_heading() -> None:
    lines = [
        noisy_line("synolds |", 20, 20, 0.45),
        noisy_line("Annual Summary", 60, 18, 0.93),
        *[
            noisy_line(f"body text line number {i} of the page", 100 + 14 * i, 10, 0.92)
            for i in range(5)
        ],
    ]
    blocks = lines_to_blocks(lines, page_number=1)
    headings = [b.text for b in blocks if b.type == BlockType.HEADING]
    assert headings == ["Annual Summary"]


def ruled_table_page() -> tuple[bytes, list[list[str]]]:
    rows = [
        ["Region", "Units", "Revenue"],
        ["North", "1200", "$4,310"],
        ["South", "860", "$2,045"],
        ["East", "1475", "$5,120"],
        ["West", "930", "$2,880"],
    ]
    document = pymupdf.open()
    page = document.new_page(width=420, height=300)
    page.insert_text(
        (40, 40), "Table 1. Sales by region in the last quarter.", fontname="helv", fontsize=10
    )
    x_edges, top, height = (40, 160, 260, 380), 60, 24
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            page.insert_text(
                (x_edges[c] + 6, top + r * height + 16), text, fontname="helv", fontsize=10
            )
    for r in range(len(rows) + 1):
        page.draw_line((x_edges[0], top + r * height), (x_edges[-1], top + r * height))
    for x in x_edges:
        page.draw_line((x, top), (x, top + len(rows) * height))
    pixmap = page.get_pixmap(dpi=200)
    return png(Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)), rows


def test_a_scanned_ruled_table_becomes_a_table_with_cells(parser: Parser) -> None:
    image, rows = ruled_table_page()
    blocks = parser.parse(image).blocks
    tables = [b for b in blocks if b.type == BlockType.TABLE]
    assert len(tables) == 1 and tables[0].table is not None
    assert tables[0].table.rows() == rows


def _skewed(image: Image.Image) -> Image.Image:
    return image.rotate(1.5, expand=True, fillcolor="white", resample=Image.BICUBIC)


def _blurred_jpeg(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(0.8)).save(buffer, "JPEG", quality=40)
    return Image.open(buffer).convert("RGB")


@pytest.mark.parametrize("degrade", [_skewed, _blurred_jpeg], ids=["skewed", "blurred"])
def test_a_degraded_scan_of_a_ruled_table_keeps_its_cells(parser: Parser, degrade) -> None:
    """A table scanned 1.5° askew is levelled before img2table looks for its grid, and blurred
    rules are removed before Tesseract reads the cells (else "|" and "[" in every cell)."""
    image, rows = ruled_table_page()
    document = parser.parse(png(degrade(Image.open(io.BytesIO(image)).convert("RGB"))))
    tables = [b.table for b in document.blocks if b.table is not None]
    assert len(tables) == 1 and tables[0].rows() == rows


def test_deskew_measures_the_skew_and_maps_boxes_back() -> None:
    level = Image.open(io.BytesIO(ruled_table_page()[0])).convert("RGB")
    assert skew_angle(level) == 0.0 and deskew(level) == (level, None)
    turned, skew = deskew(_skewed(level))
    assert skew is not None and skew.angle == pytest.approx(-1.5, abs=0.2)
    box = (100.0, 200.0, 300.0, 240.0)
    back = skew.box_after(skew.box_before(box))  # bounding boxes grow a little each way
    assert back[0] <= box[0] and back[2] >= box[2] and back[2] - back[0] < 1.2 * 200


def test_unruled_columns_are_cut_at_whitespace_gutters() -> None:
    """Words aligned in columns with no rules: a gutter is a band no row's words cross, bar a
    header spanning two columns."""
    table_rows = [
        [("Region", 0)],
        [("Units", 200), ("sold", 260), ("Revenue", 400)],  # "Units sold": one cell
        [("North", 0), ("1200", 200), ("$4,310", 400)],
        [("South", 0), ("860", 200), ("$2,045", 400)],
        [("East", 0), ("1475", 200), ("$5,120", 400)],
        [("West", 0), ("930", 200), ("$2,880", 400)],
        [("Central", 0), ("1010", 200), ("$3,300", 400)],
        [("Overseas", 0), ("2020", 200), ("$9,150", 400)],
        [("All regions together", 0), ("$36,960", 400)],  # spans the first gutter
        [("Online", 0), ("333", 200), ("$999", 400)],
        [("Retail", 0), ("444", 200), ("$888", 400)],
    ]
    lines = _word_rows(table_rows)
    boxes = aligned_grid(lines)
    table, placed = grid_to_table(boxes, [w for line in lines for w in line.words])
    assert table is not None and table.num_cols == 3 and table.num_rows == len(table_rows)
    assert len(placed) == sum(len(row) for row in table_rows)
    assert table.rows()[1] == ["", "Units sold", "Revenue"]
    assert table.rows()[2] == ["North", "1200", "$4,310"]


def _word_rows(rows: list[list[tuple[str, float]]]) -> list[OCRLine]:
    lines = []
    for r, row in enumerate(rows):
        top = 30.0 * r
        words = tuple(
            OCRWord(text, (x, top, x + 12.0 * len(text), top + 20), 0.9) for text, x in row
        )
        lines.append(OCRLine(" ".join(w.text for w in words), words[0].bbox, 0.9, words, 20))
    return lines


def test_two_columns_of_prose_are_no_unruled_table() -> None:
    """Line pieces of prose either side of a gutter line up like columns, but a table's cells
    hold a word or two: cut row by row, the prose would lose its reading order."""
    prose = ["rivers", "carry", "silt", "from", "the", "hills", "down", "to", "a", "wide", "delta"]

    def piece(words: list[str], x: float) -> list[tuple[str, float]]:
        placed = []
        for word in words:
            placed.append((word, x))
            x += 12.0 * len(word) + 12
        return placed

    rows = [piece(prose[r % 3 : r % 3 + 4], 0) + piece(prose[r % 4 :][:4], 420) for r in range(8)]
    page = Image.new("RGB", (800, 300), "white")  # no ink: img2table finds no grid of its own
    assert len(aligned_grid(_word_rows(rows))[0]) == 2  # the gutter is there
    assert read_table(page, (0, 0, 800, 240), _word_rows(rows)) is None
    numbers = [[(f"{r}{c}", 200.0 * c) for c in range(3)] for r in range(8)]
    found = read_table(page, (0, 0, 800, 240), _word_rows(numbers))
    assert found is not None and found[0].rows()[1] == ["10", "11", "12"]


def test_real_scans_beat_or_match_plain_tesseract() -> None:
    """tesseract's own test scans (tests/data/scans/SOURCES.md), against their known text."""
    engine = OCREngine()
    for name in ("phototest", "eurotext"):
        truth = normalize_whitespace((SCANS / f"{name}.txt").read_text())
        image = (SCANS / f"{name}.png").read_bytes()
        ours = " ".join(b.text for b in engine.parse(open_source(image).page(1)))
        tesseract = subprocess.run(
            [shutil.which("tesseract"), SCANS / f"{name}.png", "-"], capture_output=True, text=True
        ).stdout
        ours_distance = normalized_edit_distance(normalize_whitespace(ours), truth)
        plain_distance = normalized_edit_distance(normalize_whitespace(tesseract), truth)
        assert ours_distance <= plain_distance + 0.02, (name, ours_distance, plain_distance)


def test_scanned_headers_and_footers_go_through_the_furniture_pass(parser: Parser) -> None:
    document = pymupdf.open()
    for number in (1, 2):
        page = document.new_page(width=420, height=320)
        page.insert_text((24, 24), "Northwind Quarterly Review", fontname="helv", fontsize=8)
        for row, line in enumerate(PARAGRAPH[number - 1 :: 2]):
            page.insert_text((24, 80 + 16 * row), line, fontname="helv", fontsize=10)
        page.insert_text((190, 300), f"Page {number}", fontname="helv", fontsize=8)
    scanned = pymupdf.open()
    for page in document:
        pixmap = page.get_pixmap(dpi=200)
        image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
        target = scanned.new_page(width=page.rect.width, height=page.rect.height)
        target.insert_image(target.rect, stream=png(image))
    result = parser.parse(scanned.tobytes())
    assert [p.engine for p in result.pages] == ["ocr", "ocr"]
    for page in result.pages:
        kinds = {b.text: b.type for b in page.blocks}
        assert kinds["Northwind Quarterly Review"] == BlockType.PAGE_HEADER
        assert kinds[f"Page {page.number}"] == BlockType.PAGE_FOOTER
    assert "Northwind" not in result.to_markdown()


def test_grid_with_a_merged_cell_keeps_its_span() -> None:
    merged = (0.0, 0.0, 200.0, 20.0)
    boxes = [
        [merged, merged],
        [(0.0, 20.0, 100.0, 40.0), (100.0, 20.0, 200.0, 40.0)],
    ]
    words = [
        OCRWord("Totals", (10, 5, 60, 15), 0.9),
        OCRWord("12", (10, 25, 30, 35), 0.9),
        OCRWord("7", (110, 25, 120, 35), 0.9),
    ]
    table, placed = grid_to_table(boxes, words)
    assert len(placed) == 3
    assert table is not None and table.rows() == [["Totals", ""], ["12", "7"]]
    assert table.cells[0].col_span == 2


def test_bench_table_truth_reads_cells_from_the_text_layer() -> None:
    """bench/scanned_tables.py: a ruled table's cells read whole (a decimal point set lower, a
    glyph drawn twice for bold), a form's frame of mostly empty boxes is no table."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from scanned_tables import cell_f1, normalize_cell, truth_tables

    document = pymupdf.open()
    page = document.new_page(width=300, height=200)
    edges = (20, 120, 220)
    for y in (20, 50, 80):
        page.draw_line((edges[0], y), (edges[-1], y))
    for x in edges:
        page.draw_line((x, 20), (x, 80))
    page.insert_text((26, 40), "Balasore", fontname="helv", fontsize=10)
    page.insert_text((26.4, 40), "Balasore", fontname="helv", fontsize=10)  # fake bold
    page.insert_text((126, 40), "23", fontname="helv", fontsize=10)
    page.insert_text((137.2, 42), ".", fontname="helv", fontsize=10)  # set 2 pt lower
    page.insert_text((140, 40), "65", fontname="helv", fontsize=10)
    page.insert_text((26, 70), "Bhadrak", fontname="helv", fontsize=10)
    # "11" in full-width digits set at half advance: "１" repeated under half a size along.
    page.insert_text((126, 70), "１", fontname="china-s", fontsize=10)
    page.insert_text((130.5, 70), "１", fontname="china-s", fontsize=10)
    (table,) = truth_tables("table", page)
    assert [[cell for cell in row if cell] for row in table] == [
        ["Balasore", "23.65"],
        ["Bhadrak", "１１"],
    ]

    form = pymupdf.open().new_page(width=300, height=200)
    for y in (20, 50, 80, 110):
        form.draw_line((20, y), (220, y))
    for x in (20, 120, 220):
        form.draw_line((x, 20), (x, 110))
    form.insert_text((26, 40), "Name", fontname="helv", fontsize=10)
    assert truth_tables("form", form) == []

    assert normalize_cell("ﬁ 1 234 . 5\n关 于") == "fi 1234.5 关于"
    assert cell_f1(["23 . 65", "Bhadrak", "junk"], ["23.65", "Bhadrak"]) == 0.8


@pytest.mark.parametrize("numbers, is_table", [(("1", "5", "12"), False), (("12", "5", "1"), True)])
def test_bench_table_truth_leaves_out_a_table_of_contents(
    numbers: tuple[str, ...], is_table: bool
) -> None:
    """bench/scanned_tables.py: entries led by dot leaders to page numbers that never go back
    are a contents list, not a table; the same rows with numbers going back stay one."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from scanned_tables import truth_tables

    page = pymupdf.open().new_page(width=300, height=200)
    edges, tops = (20, 160, 220), (20, 50, 80, 110)
    for y in tops:
        page.draw_line((edges[0], y), (edges[-1], y))
    for x in edges:
        page.draw_line((x, tops[0]), (x, tops[-1]))
    for top, entry, number in zip(tops, ("Methods", "Results", "Notes"), numbers, strict=False):
        page.insert_text((26, top + 20), f"{entry} . . . . . . .", fontname="helv", fontsize=10)
        page.insert_text((166, top + 20), number, fontname="helv", fontsize=10)
    assert len(truth_tables("contents", page)) == (1 if is_table else 0)


def test_three_columns_of_prose_the_layout_model_calls_a_table_are_read_as_columns(
    tmp_path: Path, monkeypatch
) -> None:
    """Read as one block (a table's reading), three columns whose baselines do not line up
    run into each other line by line; their own segmentation reads each column whole."""
    from docvlm.layout.regions import Region

    columns = [
        "The agency received comments from operators about the proposed rule and each one was "
        "considered before the final version of the directive was issued to the public",
        "Pilots reported that the new software changed how the trim system responded during "
        "climbs and the manufacturer revised the flight manual to describe the procedure",
        "Inspectors will check the wiring of every affected airplane within ninety days and "
        "operators must keep records of each inspection for the life of the aircraft",
    ]
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 24)
    page = Image.new("L", (1500, 700), 255)
    draw = ImageDraw.Draw(page)
    for index, text in enumerate(columns):
        words, lines, current = text.split(), [], ""
        for word in words:
            if draw.textlength(f"{current} {word}", font=font) > 420 and current:
                lines.append(current)
                current = word
            else:
                current = f"{current} {word}".strip()
        lines.append(current)
        for row, line_text in enumerate(lines):
            draw.text((40 + 490 * index, 60 + 40 * row + 13 * index), line_text, fill=0, font=font)
    path = tmp_path / "columns.png"
    page.save(path)

    def regions(self: OCREngine, image: Image.Image) -> list[Region]:
        scale = image.width / page.width  # the engine may enlarge the page
        return [Region("table", tuple(v * scale for v in (20, 40, 1480, 660)), 0.9)]

    monkeypatch.setattr(OCREngine, "_regions", regions)
    text = normalize_whitespace(docvlm.parse(path, engine="ocr").to_markdown())
    for column in columns:
        assert column[:60] in text


def test_lines_each_opening_with_a_label_are_not_joined_into_a_paragraph() -> None:
    """A receipt's header fields, each line shorter than the one before, stay one to a line;
    prose whose wrapped line opens with a capital and a colon mid-sentence still joins."""
    fields = ["DATE: 12/03/2026 10:45", "INV NO: 004512", "CASHIER: Ann", "PVC HOSE 3/4"]
    lines = [noisy_line(text, 100 + 14 * i, 10, 0.95) for i, text in enumerate(fields)]
    assert [b.text for b in lines_to_blocks(lines, page_number=1)] == fields
    for prose in (
        [
            "The committee asked for the figures again and the answer was",
            "Yes: the totals were checked twice before the report went out",
        ],
        ["Note: the totals were checked twice before the report went", "out to the members"],
    ):
        lines = [noisy_line(text, 100 + 14 * i, 10, 0.95) for i, text in enumerate(prose)]
        assert [b.text for b in lines_to_blocks(lines, page_number=1)] == [" ".join(prose)]
