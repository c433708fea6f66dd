"""Extraction on real fillable forms, claim and receipt pages: the right value or null with a
warning, never a label, never a confident wrong value."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import docvlm
from docvlm.engines.ocr_choice import rapid_reads_better
from docvlm.engines.ocr_layout import OCRWord
from docvlm.engines.ocr_rapid import RapidOCRBackend
from tests.forms import FORMS, fill_form
from tests.test_extract_receipts import SCHEMA as RECEIPT_SCHEMA

FORM_FILES = sorted(FORMS.glob("*.pdf"))


@pytest.mark.parametrize("path", FORM_FILES, ids=[p.stem for p in FORM_FILES])
def test_every_widget_of_a_filled_real_form_is_read(path: Path) -> None:
    filled, schema, expected = fill_form(path.read_bytes(), seed=7)
    result = docvlm.extract(filled, schema)
    assert result.errors == []
    assert {k: result.data.get(k) for k in expected} == expected
    assert all(result.fields[f"/{key}"].source == "acroform" for key in expected)


@pytest.fixture(scope="module")
def filled_1040(tmp_path_factory) -> Path:
    """The real IRS 1040 with its taxpayer, spouse and address widgets filled."""
    doc = pymupdf.open(FORMS / "irs_f1040.pdf")
    values = {"f1_02": "Maria J", "f1_03": "Garcia", "f1_04": "123456789", "f1_05": "James",
              "f1_06": "Smith", "f1_07": "987654321", "f1_08": "1180 Market St",
              "f1_10": "San Francisco", "f1_11": "CA", "f1_12": "94102"}  # fmt: skip
    for widget in doc[0].widgets():
        key = widget.field_name.rsplit(".", 1)[-1][:5]
        if key in values:
            widget.field_value = values[key]
            widget.update()
    path = tmp_path_factory.mktemp("f1040") / "f1040.pdf"
    doc.save(path)
    return path


def test_a_1040_read_by_plain_field_names_never_returns_a_label(filled_1040: Path) -> None:
    names = ["first_name", "last_name", "home_address", "social_security_number", "city",
             "state", "zip_code", "spouse_first_name"]  # fmt: skip
    schema = {"type": "object", "properties": {n: {"type": ["string", "null"]} for n in names}}
    result = docvlm.extract(filled_1040, schema)
    right = {"first_name": "Maria J", "last_name": "Garcia", "home_address": "1180 Market St",
             "social_security_number": "123456789", "city": "San Francisco", "state": "CA",
             "zip_code": "94102"}  # fmt: skip
    for name in names:
        assert result.data[name] in (right.get(name), None), name
    assert result.data["last_name"] == "Garcia"
    # "Last name" is printed for the taxpayer and the spouse: the first is kept, not as sure.
    assert result.fields["/last_name"].confidence < 0.9
    assert any(w["pointer"] == "/last_name" for w in result.warnings)


def _page(lines: list[str]) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    for index, line in enumerate(lines):
        page.insert_text((72, 90 + 22 * index), line, fontname="helv", fontsize=11)
    return doc.tobytes()


CLAIM_SCHEMA = {
    "type": "object",
    "properties": {
        "date_of_loss": {"type": "string", "format": "date"},
        "date_reported": {"type": ["string", "null"], "format": "date"},
        "policy_number": {"type": "string"},
    },
    "required": ["date_of_loss"],
}


def test_a_day_first_date_of_loss_is_read() -> None:
    pdf = _page(["Claim form", "Date of loss: 14/03/2026", "Policy number: 88-1234"])
    result = docvlm.extract(pdf, CLAIM_SCHEMA)
    assert result.errors == []
    assert result.data["date_of_loss"] == "2026-03-14"
    assert result.data["policy_number"] == "88-1234"


def test_an_ambiguous_date_follows_the_documents_dates_or_the_order_given() -> None:
    pdf = _page(["Date of loss: 03/04/2026", "Date reported: 25/04/2026", "Policy number: 7"])
    result = docvlm.extract(pdf, CLAIM_SCHEMA)
    assert result.data["date_of_loss"] == "2026-04-03"  # 25/04 shows the form is day-first
    assert result.fields["/date_of_loss"].confidence < 0.9
    assert any("ambiguous date" in w["message"] for w in result.warnings)
    ordered = docvlm.extract(pdf, CLAIM_SCHEMA, date_order="mdy")
    assert ordered.data["date_of_loss"] == "2026-03-04"


def test_a_value_of_the_wrong_type_is_null_with_a_warning() -> None:
    pdf = _page(["Date of loss: unknown", "Policy number: 88-1234"])
    nullable_date = {"type": ["string", "null"], "format": "date"}
    properties = {**CLAIM_SCHEMA["properties"], "date_of_loss": nullable_date}
    schema = {"type": "object", "properties": properties}
    result = docvlm.extract(pdf, schema)
    assert result.data["date_of_loss"] is None
    assert any(w["pointer"] == "/date_of_loss" for w in result.warnings)


def test_the_cli_takes_the_date_order_and_warns_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "claim.pdf").write_bytes(_page(["Date of loss: 03/04/2026", "Policy number: 7"]))
    (tmp_path / "claim.json").write_text(json.dumps(CLAIM_SCHEMA))
    command = [sys.executable, "-m", "docvlm.cli", "extract", str(tmp_path / "claim.pdf"),
               "--schema", str(tmp_path / "claim.json"), "--date-order", "dmy"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["date_of_loss"] == "2026-04-03"
    assert "warning: /date_of_loss: ambiguous date" in done.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "docvlm.cli", "extract", "--help"], capture_output=True, text=True
    ).stdout
    for option in ("--pages", "--ocr-lang", "--adapter", "--device", "--quantize", "--date-order"):
        assert option in help_text


def _receipt_png() -> bytes:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 30)
    lines = ["GREEN LEAF CAFE SDN BHD", "NO. 12, JALAN MAWAR 3", "47301 PETALING JAYA",
             "TEL: 03-7712345", "", "DATE: 14/03/2026   TIME: 13:45", "",
             "LATTE               RM 12.50", "MUFFIN              RM  6.90",
             "TAX 6%              RM  1.16", "ROUNDING            RM  0.04",
             "TOTAL               RM 20.60"]  # fmt: skip
    image = Image.new("L", (900, 60 + 44 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((60, 30 + 44 * row), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_scanned_receipt_gives_the_total_and_its_issuer(tmp_path: Path) -> None:
    path = tmp_path / "receipt.png"
    path.write_bytes(_receipt_png())
    result = docvlm.extract(path, RECEIPT_SCHEMA)
    assert result.data["total"] == pytest.approx(20.60)
    assert result.data["date"] == "2026-03-14"
    assert result.data["company"] == "GREEN LEAF CAFE SDN BHD"
    assert result.data["address"] == "NO. 12, JALAN MAWAR 3, 47301 PETALING JAYA"
    assert all(found.confidence < 0.9 for found in result.fields.values())  # read by OCR


def _low_resolution_form_png() -> bytes:
    """A form scanned at ~100 dpi: 10-pixel print, slightly blurred, with dust."""
    image = Image.new("L", (760, 400), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 11)
    rows = [("SUBMITTED BY:", "Carol S. Lincoln"), ("SUPPLIER:", "Kapuler Marketing Research"),
            ("DATE:", "12/04/1987")]  # fmt: skip
    for index, (label, value) in enumerate(rows):
        draw.text((60, 80 + 40 * index), label, fill=0, font=font)
        draw.text((200, 80 + 40 * index), value, fill=30, font=font)
    rng = random.Random(7)
    for _ in range(400):
        draw.point((rng.randrange(760), rng.randrange(400)), fill=rng.randrange(100))
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(0.5)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_print_tesseract_reads_unsurely_is_read_by_rapidocr_and_clean_print_is_not() -> None:
    def page(*confidences: float, lines: int = 5) -> list[OCRWord]:
        # Lines of words 30 px high at 300 dpi (not small print), each between two dashed
        # rules Tesseract is unsure of.
        words = []
        for row in range(lines):
            y = 120 * row
            words += [OCRWord(f"W{i}", (90 * i, y + 40, 90 * i + 80, y + 70), c)
                      for i, c in enumerate(confidences)]  # fmt: skip
            words += [OCRWord("-" * 20, (0, y + dy, 400, y + dy + 30), 0.2) for dy in (0, 80)]
        return words

    assert not rapid_reads_better(page(0.96, 0.93, 0.95, 0.4), enlarged_by=1.0)
    # A till's dot-matrix print: most words unsure.
    assert rapid_reads_better(page(0.96, 0.5, 0.88, 0.4, 0.95), enlarged_by=1.0)
    # A band of a dozen words says little of a page's print.
    assert not rapid_reads_better(page(0.96, 0.5, 0.88, 0.4, 0.95, lines=2), enlarged_by=1.0)
    assert not rapid_reads_better([], enlarged_by=1.0)


def test_a_low_resolution_form_scan_is_read_by_the_small_print_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers: list[str] = []
    recognize = RapidOCRBackend.recognize

    def spy(self: RapidOCRBackend, image: Image.Image) -> list:
        readers.append("rapidocr")
        return recognize(self, image)

    monkeypatch.setattr(RapidOCRBackend, "recognize", spy)
    path = tmp_path / "scan.png"
    path.write_bytes(_low_resolution_form_png())
    titles = {"submitted_by": "Submitted by", "supplier": "Supplier", "date": "Date"}
    schema = {
        "type": "object",
        "properties": {key: {"type": ["string", "null"], "title": t} for key, t in titles.items()},
    }
    result = docvlm.extract(path, schema)
    assert readers == ["rapidocr"]
    assert result.data == {
        "submitted_by": "Carol S. Lincoln",
        "supplier": "Kapuler Marketing Research",
        "date": "12/04/1987",
    }
    assert all(found.confidence < 0.9 for found in result.fields.values())
    readers.clear()
    receipt = tmp_path / "receipt.png"
    receipt.write_bytes(_receipt_png())  # print ~20 px high: Tesseract reads it
    docvlm.extract(receipt, schema)
    assert readers == []
