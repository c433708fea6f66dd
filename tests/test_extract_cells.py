"""Drawn cells: a label at the top of a box is answered inside that box."""

from __future__ import annotations

from types import SimpleNamespace

import pymupdf
from PIL import Image, ImageDraw

import docvlm
from docvlm.extraction.cells import cell_of, drawn_cells
from docvlm.extraction.pairing import pair_fields
from docvlm.extraction.schema import load_schema
from docvlm.extraction.words import PageWords, Word
from tests.test_extract_pairing import _schema

# A two-row boxed form (points): a label in capitals at the top of a cell, the answer typed
# under it; under the employer's cell, border to border, a cell with a stamp and no label.
CELLS = [(60, 80, 300, 122), (300, 80, 540, 122), (60, 122, 300, 172), (300, 122, 540, 172)]
LABELS = [(66, 92, "APPLICANT"), (306, 92, "EMPLOYER"), (66, 132, "REMARKS")]
ANSWERS = [(66, 116, "Jane Smith"), (306, 116, "Acme Ltd"), (66, 156, "Handle with care"),
           (306, 134, "Fragile goods only")]  # fmt: skip


def _form(boxed: bool) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    for box in CELLS if boxed else []:
        page.draw_rect(pymupdf.Rect(box), color=(0, 0, 0), width=1)
    for x, y, text in LABELS:
        page.insert_text((x, y), text, fontname="helv", fontsize=7)
    for x, y, text in ANSWERS:
        page.insert_text((x, y), text, fontname="helv", fontsize=11)
    return doc.tobytes()


def _grid(size: tuple[int, int], boxes: list[tuple[int, int, int, int]]) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for box in boxes:
        draw.rectangle(box, outline="black", width=2)
    return image


def test_the_rectangles_a_grid_closes_are_its_cells_and_text_inside_does_not_split_them() -> None:
    image = _grid((400, 340), [(20, 20, 200, 80), (200, 20, 380, 80), (20, 120, 380, 200)])
    draw = ImageDraw.Draw(image)
    draw.text((30, 30), "NAME  | the answer", fill="black")  # a bar and letters: no rule
    draw.rectangle((20, 250, 380, 300), outline="black", width=2)
    draw.rectangle((20, 270, 24, 282), fill="white")  # a scan's break in the left border
    cells = drawn_cells(image, text_height=10)
    assert len(cells) == 4
    assert cell_of(cells, (30, 30, 60, 40)) == cell_of(cells, (100, 60, 150, 70))
    assert cell_of(cells, (30, 30, 60, 40)) != cell_of(cells, (210, 30, 260, 40))
    assert cell_of(cells, (30, 260, 60, 270)) is not None


def test_an_open_frame_or_a_lone_rule_makes_no_cell() -> None:
    image = Image.new("RGB", (400, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.line((20, 100, 380, 100), fill="black", width=2)  # an answer line
    draw.line((20, 150, 380, 150), fill="black", width=2)
    draw.line((20, 150, 20, 250), fill="black", width=2)  # three sides of a box
    draw.line((380, 150, 380, 250), fill="black", width=2)
    assert drawn_cells(image, text_height=10) == []


def test_an_answer_under_a_label_heading_its_drawn_box_is_read_and_stops_at_the_border() -> None:
    schema = _schema("Applicant", "Employer", "Remarks")
    boxed = docvlm.extract(_form(boxed=True), schema)
    assert boxed.data == {"f0": "Jane Smith", "f1": "Acme Ltd", "f2": "Handle with care"}
    bare = docvlm.extract(_form(boxed=False), schema)
    # The box is the evidence: without it the same text under a label is a weaker guess.
    assert 0.4 <= bare.fields["/f0"].confidence < boxed.fields["/f0"].confidence < 0.9
    # Without the border the stamp beside REMARKS, across the page in the next cell, is still
    # no answer of it (words without figures that far are another column's).
    assert bare.data["f2"] == "Handle with care"


def test_a_scanned_boxed_form_answers_each_label_from_its_own_cell() -> None:
    # A raster page (as scanned) with OCR's words; the cells come from the pixels.
    scale = 2  # pixels per point
    image = _grid((612 * scale, 792 * scale), [tuple(v * scale for v in b) for b in CELLS])
    words = [
        Word(word, (x + 40 * i, y - 8, x + 40 * i + 36, y), 0.95)
        for x, y, text in LABELS + ANSWERS
        for i, word in enumerate(text.split())
    ]
    scan = SimpleNamespace(pdf_page=None, render_dpi=lambda dpi: image)
    page = PageWords(1, "ocr", [_in_pixels(w, scale) for w in words], scan)  # type: ignore[arg-type]
    schema = load_schema(_schema("Applicant", "Remarks"))
    found = pair_fields(schema.root, [page], set())
    assert found["/f0"].value == "Jane Smith"
    assert found["/f1"].value == "Handle with care"
    assert all(0.4 <= f.confidence < 0.9 for f in found.values())


def _in_pixels(word: Word, scale: int) -> Word:
    return Word(word.text, tuple(v * scale for v in word.bbox), word.confidence)


def test_a_bracketed_line_under_a_boxed_label_is_its_gloss_not_the_cells_answer() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.draw_rect(pymupdf.Rect(60, 80, 300, 140), color=(0, 0, 0), width=1)
    page.insert_text((66, 92), "DOSAGE", fontname="helv", fontsize=7)
    page.insert_text((66, 102), "(mg/kg BODY WEIGHT)", fontname="helv", fontsize=7)
    result = docvlm.extract(doc.tobytes(), _schema("Dosage"))
    # At most the weight of any text under a label, never the surer reading of a box's answer.
    assert result.data["f0"] is None or result.fields["/f0"].confidence < 0.55
