"""Receipts: the amount to pay among several totals, the issuer's letterhead, an unlabelled
date, day-first money, and amounts a first OCR reading left out."""

from __future__ import annotations

import datetime
import io
from types import SimpleNamespace

import numpy as np
import pymupdf
import pytest
from PIL import Image, ImageDraw, ImageFont

import docvlm
from docvlm.engines.ocr_layout import OCRWord
from docvlm.engines.ocr_unread import unread_text
from docvlm.extraction.letterhead import _letterhead, line_text
from docvlm.extraction.pairing import pair_fields
from docvlm.extraction.schema import load_schema
from docvlm.extraction.values import (
    date_order_evidence,
    date_substrings,
    parse_amount,
    parse_date,
)
from docvlm.extraction.words import PageWords, Word, page_words
from docvlm.sources import open_source

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
SCHEMA = {
    "type": "object",
    "properties": {
        "company": {"type": ["string", "null"], "description": "shop that issued it"},
        "address": {"type": ["string", "null"], "description": "the shop's address"},
        "date": {"type": ["string", "null"], "format": "date"},
        "total": {"type": ["number", "null"]},
    },
}


def _receipt_pdf(lines: list[str | tuple[str, str]]) -> bytes:
    """A born-digital receipt: a line is centred text, or a (label, amount) row."""
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=60 + 14 * len(lines))
    for row, line in enumerate(lines):
        y = 40 + 14 * row
        if isinstance(line, tuple):
            page.insert_text((20, y), line[0], fontname="cour", fontsize=9)
            page.insert_text((280 - 5.4 * len(line[1]), y), line[1], fontname="cour", fontsize=9)
        else:
            page.insert_text((150 - 2.7 * len(line), y), line, fontname="cour", fontsize=9)
    return doc.tobytes()


def test_the_total_is_the_last_of_equally_named_totals_and_a_currency_code_names_nothing() -> None:
    pdf = _receipt_pdf([("Total Qty:", "3"), ("Sub Total (Excl GST):", "40.34"),
                        ("Total (Incl GST):", "42.76"), ("Rounding Adj", "-0.01"),
                        ("TOTAL RM", "42.75"), ("CASH", "50.00"), ("CHANGE", "7.25")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["total"] == pytest.approx(42.75)
    assert result.fields["/total"].confidence < 0.9  # another total was printed too


def test_a_total_labelled_with_a_misread_currency_code_is_read_beside_it() -> None:
    # OCR read "Total EUR" as "Total ELR"; the tax line is no total for all its three capitals.
    pdf = _receipt_pdf([("Total GST", "5.40"), ("Total ELR", "59,99"), ("Bar EUR", "100,00")])
    assert docvlm.extract(pdf, SCHEMA).data["total"] == pytest.approx(59.99)
    pdf = _receipt_pdf([("Total GST", "5.40"), ("Bar EUR", "100,00")])
    assert docvlm.extract(pdf, SCHEMA).data["total"] is None


@pytest.mark.parametrize("label", ["NETT TOTAL", "Total Amount", "GRAND TOTAL"])
def test_the_amount_to_pay_is_named_as_receipts_print_it(label: str) -> None:
    pdf = _receipt_pdf([("Total Qty:", "7"), ("SUB-TOTAL", "139.31"), (label, "147.65")])
    assert docvlm.extract(pdf, SCHEMA).data["total"] == pytest.approx(147.65)


def test_the_letterhead_address_skips_the_registration_number_and_ends_at_the_title() -> None:
    pdf = _receipt_pdf(["MR. K.T.H. (M) SDN BHD", "(CO. REG: 431207-W)",
                        "33, JALAN BAKAWALI 2/7,", "TAMAN PERMATA,", "53100 KUALA LUMPUR.",
                        "CASH BILL", ("TOTAL", "12.00")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] == "MR. K.T.H. (M) SDN BHD"
    assert result.data["address"] == "33, JALAN BAKAWALI 2/7, TAMAN PERMATA, 53100 KUALA LUMPUR."


def test_the_state_after_a_postcode_line_its_comma_continues_is_in_the_address() -> None:
    pdf = _receipt_pdf(["BOOK TA .K (TAMAN DAYA) SDN BHD", "NO.53 55,57 & 59, JALAN SAGU 18,",
                        "TAMAN DAYA,", "81100 JOHOR BAHRU,", "JOHOR.", "TEL: 07-3507405",
                        ("TOTAL", "9.00")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] == "BOOK TA .K (TAMAN DAYA) SDN BHD"
    assert result.data["address"] == (
        "NO.53 55,57 & 59, JALAN SAGU 18, TAMAN DAYA, 81100 JOHOR BAHRU, JOHOR."
    )


def test_a_name_printed_over_two_lines_ends_with_its_legal_form() -> None:
    pdf = _receipt_pdf(["PERDANA TEKNIK INTERNATIONAL", "SDN BHD", "(431207-W)",
                        "NO 17, JALAN MERANTI 4,", "53100 KUALA LUMPUR.",
                        ("TOTAL", "12.00")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] == "PERDANA TEKNIK INTERNATIONAL SDN BHD"
    assert result.data["address"] == "NO 17, JALAN MERANTI 4, 53100 KUALA LUMPUR."


def test_a_zero_read_in_a_letterhead_word_and_an_o_read_in_a_postcode_are_mended() -> None:
    pdf = _receipt_pdf(["PERDANA TEKNIK SDN BHD", "NO 17, JALAN MERANTI 4,",
                        "812OO J0HOR BAHRU.", ("TOTAL", "12.00")])  # fmt: skip
    assert (
        docvlm.extract(pdf, SCHEMA).data["address"] == "NO 17, JALAN MERANTI 4, 81200 JOHOR BAHRU."
    )


def test_a_registration_line_spaced_before_its_colon_is_skipped_above_the_address() -> None:
    pdf = _receipt_pdf(["MR. D.I.Y. (M) SDN BHD", "(CO. REG : 860671-D)",
                        "LOT 1851-A & 1851-B, JALAN KPB 6,", "43300 SERI KEMBANGAN, SELANGOR",
                        ("TOTAL", "15.90")])  # fmt: skip
    assert docvlm.extract(pdf, SCHEMA).data["company"] == "MR. D.I.Y. (M) SDN BHD"


def test_a_registration_number_after_the_name_on_its_line_is_not_part_of_it() -> None:
    pdf = _receipt_pdf(["99 SPEED MART S/B (519537-X)", "LOT P.T. 2811, JALAN ANGSA,",
                        "41150 KLANG, SELANGOR", ("TOTAL", "21.90")])  # fmt: skip
    assert docvlm.extract(pdf, SCHEMA).data["company"] == "99 SPEED MART S/B"


@pytest.mark.parametrize(
    ("rows", "total"),
    [
        # the sales total with its tax is the total; the one before tax never is
        ([("Total Sales (Excluding GST)", "10.00"), ("Total GST", "0.60"),
          ("Total Sales (Inclusive of GST)", "10.60")], 10.6),
        ([("Total Sales (Incl GST)", "RM 21.90")], 21.9),
        ([("TOTAL", "10.60"), ("Total (excl. VAT)", "8.83")], 10.6),
        ([("Summe ohne MwSt", "8,90")], None),
        # a note that tax is included qualifies the total's label as a parenthetical does
        ([("Sub-total", "15.00"), ("TOTAL INCL GST", "15.90")], 15.9),
        ([("Total Amt Incl. GST", "15.90")], 15.9),
        # the rounded total is printed after the total it rounds
        ([("TOTAL", "15.88"), ("ROUNDING ADJ", "0.02"), ("TOTAL ROUNDED", "15.90")], 15.9),
    ],
)  # fmt: skip
def test_a_total_before_tax_is_not_the_total(rows: list, total: float | None) -> None:
    pdf = _receipt_pdf(["SYARIKAT ABC", "Date : 12-03-2018", *rows, ("CASH", "50.00")])
    assert docvlm.extract(pdf, SCHEMA).data["total"] == total


def test_the_warning_on_a_total_printed_twice_names_the_one_taken() -> None:
    pdf = _receipt_pdf(["SHOP", ("TOTAL", "15.88"), ("ROUNDING ADJ", "0.02"), ("TOTAL", "15.90")])
    result = docvlm.extract(pdf, SCHEMA)
    (warning,) = [w["message"] for w in result.warnings if w["pointer"] == "/total"]
    assert result.data["total"] == 15.9
    assert warning.endswith("took 15.9, not 15.88")  # the last total, not the first printed


def test_the_title_printed_above_the_issuer_is_not_its_name() -> None:
    pdf = _receipt_pdf(["TAX INVOICE", "HARBOUR BOOKS LIMITED", "12 STATION ROAD,",
                        "YORK YO1 7HH", "Date: 14/11/2017", ("TOTAL", "12.00")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] == "HARBOUR BOOKS LIMITED"
    assert result.data["address"] == "12 STATION ROAD, YORK YO1 7HH"


@pytest.mark.parametrize("first", ["Pohlweg 110", "Filiale 547", "12 STATION ROAD,"])
def test_a_street_or_branch_heading_the_receipt_is_not_its_issuer(first: str) -> None:
    # The shop's name was a logo OCR did not read: what is left on top is no name, but it is
    # the shop's address.
    pdf = _receipt_pdf([first, "33100 Paderborn", ("SUMME", "24,23")])
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] is None
    assert result.data["address"] == f"{first.rstrip(',')}, 33100 Paderborn"
    assert result.data["total"] == pytest.approx(24.23)


def test_the_issuer_is_the_name_above_the_address_not_an_advert_printed_higher_up() -> None:
    pdf = _receipt_pdf(["FRESH FOOD / GOOD LIFE", "Scan the QR code: tell us",
                        "www.shop-feedback.de", "Marktkauf Lehr", "Detmolder Str. 4",
                        "33102 Paderborn", "Tel. 05251 / 180420",
                        ("SUMME EUR", "27,42")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] == "Marktkauf Lehr"
    assert result.data["address"] == "Detmolder Str. 4, 33102 Paderborn"


def test_a_street_printed_under_its_postcode_and_a_name_with_a_digit_in_a_word() -> None:
    pdf = _receipt_pdf(["B4U GROCERS", "33100 Paderborn", "Husener Str. 121",
                        "Tel.: 05251/689080", ("SUMME", "19,46")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] == "B4U GROCERS"
    assert result.data["address"] == "33100 Paderborn, Husener Str. 121"


def test_a_slogan_or_phone_beside_the_address_is_not_part_of_it() -> None:
    pdf = _receipt_pdf([("", "dm-drogerie markt"), ("", "Pohlweg 110"),
                        ("HIER BIN ICH MENSCH", "33100 Paderborn"),
                        ("HIER KAUF ICH EIN", "05251/1809732"), ("SUMME", "4,55")])  # fmt: skip
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["company"] == "dm-drogerie markt"
    assert result.data["address"] == "Pohlweg 110, 33100 Paderborn"


def test_a_logo_in_white_on_a_dark_badge_above_the_issuer_is_not_its_name(tmp_path) -> None:
    lines = ["HARBOUR BOOKS LIMITED", "12 STATION ROAD,", "YORK YO1 7HH", "Date: 14/11/2017"]
    font = ImageFont.truetype(MONO, 26)
    image = Image.new("L", (640, 360), 255)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((200, 20, 440, 100), radius=18, fill=20)
    draw.text((320 - draw.textlength("BOOKS", font=font) / 2, 45), "BOOKS", fill=255, font=font)
    for row, line in enumerate(lines):
        x = (640 - draw.textlength(line, font=font)) / 2
        draw.text((x, 130 + 40 * row), line, fill=0, font=font)
    path = tmp_path / "receipt.png"
    image.save(path)
    result = docvlm.extract(path, SCHEMA)
    assert result.data["company"] == "HARBOUR BOOKS LIMITED"
    assert result.data["address"] == "12 STATION ROAD, YORK YO1 7HH"
    # A noisier scan reads the badge as letters, fairly surely ("I xen" at 0.55 on a till
    # receipt): its dark ground still tells it apart from the name.
    with open_source(path) as document:
        words = page_words(document.page(1))
        printed = [w for w in words.words if w.bbox[1] > 100]  # below the badge
        words.words = [Word("HBLX", (230, 40, 410, 80), 0.7), *printed]
        assert line_text(_letterhead(words)[0]) == "HARBOUR BOOKS LIMITED"


def test_a_wordmark_in_heavy_black_letters_is_the_issuers_name_not_a_badge(tmp_path) -> None:
    # A shop's name printed as its logo, letters so heavy they fill over half their box, on
    # the paper: unlike a badge's, the box's edges are mostly paper.
    image = Image.new("L", (640, 300), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(MONO, 26)
    heavy = ImageFont.truetype(MONO, 72)
    draw.text((150, 20), "ROLLER", fill=0, font=heavy, stroke_width=6, stroke_fill=0)
    for row, line in enumerate(["Senefelder Strasse 2", "33100 Paderborn"]):
        draw.text((180, 140 + 40 * row), line, fill=0, font=font)
    path = tmp_path / "receipt.png"
    image.save(path)
    with open_source(path) as document:
        words = page_words(document.page(1))
        printed = [w for w in words.words if w.bbox[1] > 130]
        box = draw.textbbox((150, 20), "ROLLER", font=heavy, stroke_width=6)
        page_box = tuple(v * words.page.width / 640 for v in box)
        words.words = [Word("ROLLER", page_box, 0.96), *printed]
        image, zoom = words.gray
        x0, y0, x1, y1 = (round(v * zoom) for v in page_box)
        heavy_ink = np.asarray(image.crop((x0, y0, x1, y1))) < 128
        assert heavy_ink.mean() > 0.5  # heavier than MARK_INK
        assert line_text(_letterhead(words)[0]) == "ROLLER"


def test_a_total_after_its_currency_is_read_when_the_next_lines_amount_sorts_first() -> None:
    # A German till scanned large: "SUMME | EUR | 49.99 *", and under it "GEGEBEN BAR 50.00",
    # whose amount reaches into SUMME's band and starts a point further left.
    words = [Word("SUMME", (41, 929, 146, 976), 0.95), Word("EUR", (220, 928, 290, 975), 0.95),
             Word("49.99", (684, 928, 790, 971), 0.95), Word("*", (800, 928, 825, 971), 0.9),
             Word("GEGEBEN", (46, 972, 185, 1011), 0.95), Word("BAR", (222, 968, 279, 1013), 0.95),
             Word("50.00", (683, 966, 780, 1010), 0.95)]  # fmt: skip
    raster = Image.new("RGB", (900, 1200), "white")
    scan = SimpleNamespace(pdf_page=None, render_dpi=lambda dpi: raster)
    page = PageWords(1, "ocr", words, scan)  # type: ignore[arg-type]
    schema = load_schema({"type": "object", "properties": {"total": {"type": "number"}}})
    assert pair_fields(schema.root, [page], set())["/total"].value == 49.99


def test_a_total_under_a_tax_summarys_total_column_is_no_rival_of_the_total_beside_its_label():
    # "Total 17.33", then a tax summary whose last column is headed "Total": the cell under
    # that heading (15.44, the first tax class's gross) is printed last but is one row's.
    rows = [
        [("Total", 1703), ("17.33", 2303)],
        [("Gruppe:", 1704), ("Netto", 2002), ("MwSt", 2192), ("Total", 2376)],
        [("A", 1665), ("12,97", 2002), ("2,47", 2190), ("15.44", 2378)],
        [("B", 1667), ("1,77", 2016), ("0,12", 2192), ("1.89", 2392)],
    ]
    words = [
        Word(text, (x, 740 + 80 * row, x + 25 * len(text), 780 + 80 * row), 0.95)
        for row, line in enumerate(rows)
        for text, x in line
    ]
    raster = Image.new("RGB", (2600, 1400), "white")
    scan = SimpleNamespace(pdf_page=None, render_dpi=lambda dpi: raster)
    page = PageWords(1, "ocr", words, scan)  # type: ignore[arg-type]
    schema = load_schema({"type": "object", "properties": {"total": {"type": "number"}}})
    assert pair_fields(schema.root, [page], set())["/total"].value == 17.33


def test_a_date_labelled_in_the_receipts_own_language_is_read_beside_its_label() -> None:
    # Two dates printed, so the page's only date is no rule here: "Datum" names the date.
    schema = {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}}
    for label in ("Datum:", "Tarikh:", "Fecha:"):
        pdf = _receipt_pdf(["SHOP", ("Gutschein bis", "31.12.2021"), (label, "15.04.2020")])
        assert docvlm.extract(pdf, schema).data == {"date": "2020-04-15"}, label


def test_the_only_date_a_page_prints_is_the_documents_date_even_unlabelled() -> None:
    schema = {
        "type": "object",
        "properties": {
            "date": {"type": ["string", "null"], "format": "date"},
            "due_date": {"type": ["string", "null"], "format": "date"},
        },
    }
    once = _receipt_pdf(["SHOP", "15/04/2017 15:49", ("TOTAL", "9.00")])
    result = docvlm.extract(once, schema)
    assert result.data == {"date": "2017-04-15", "due_date": None}  # a due date is another
    assert result.fields["/date"].confidence < 0.9
    both_timed = _receipt_pdf(["SHOP", "15/04/2017 15:49", "Printed 16/04/2017 09:02"])
    assert docvlm.extract(both_timed, schema).data["date"] is None  # which one? say nothing


def test_of_several_dates_the_one_printed_with_a_time_of_day_is_the_documents() -> None:
    schema = {
        "type": "object",
        "properties": {"date": {"type": ["string", "null"], "format": "date"}},
    }
    pdf = _receipt_pdf(["SHOP", "15/04/2017 15:49", "Valid until 15/05/2017"])
    result = docvlm.extract(pdf, schema)
    assert result.data == {"date": "2017-04-15"}
    assert result.fields["/date"].confidence < 0.6
    assert "2017-05-15" in result.fields["/date"].warning


def test_a_date_printed_only_inside_a_line_of_other_figures_is_the_documents_date() -> None:
    # A German till's last line: branch, till and receipt numbers, the time, then the date.
    pdf = _receipt_pdf(["ALDI", ("ZU ZAHLEN EURO", "24,23"), "1018 8746 09:48 17.03.2020"])
    schema = {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}}
    result = docvlm.extract(pdf, schema)
    assert result.data == {"date": "2020-03-17"}
    assert result.fields["/date"].confidence < 0.9
    # A till that glues the time to a two-digit year prints the same date as its footer.
    glued = _receipt_pdf(["SHOP", "3182 573850705 11.04.2009:51", "Datum 11.04.20 09:51 Uhr"])
    assert docvlm.extract(glued, schema).data == {"date": "2020-04-11"}
    assert date_substrings("1018 8746 09:48 17.03.2020") == ["17.03.2020"]
    # OCR spaced a till's wide cells before the points, the date among other figures.
    spaced = _receipt_pdf(["SHOP", ("SUMME", "4,55"), "08 .04 .20 09:51 0000545 003 034 4720"])
    assert docvlm.extract(spaced, schema).data == {"date": "2020-04-08"}


def test_a_label_word_after_figures_ends_the_value_before_it() -> None:
    pdf = _receipt_pdf(["SHOP", "Date: 2018-11-17 Time: 08:54", "Date of Birth: 1990-01-02"])
    schema = {
        "type": "object",
        "properties": {
            "date": {"type": ["string", "null"], "format": "date"},
            "date_of_birth": {"type": ["string", "null"], "format": "date"},
        },
    }
    assert docvlm.extract(pdf, schema).data == {"date": "2018-11-17", "date_of_birth": "1990-01-02"}


@pytest.mark.parametrize(("money", "date"), [("RM", "2018-01-04"), ("$", None)])
def test_an_unlabelled_ambiguous_date_is_read_where_the_money_shows_the_order(
    money: str, date: str | None
) -> None:
    pdf = _receipt_pdf(["HARBOUR BOOKS LIMITED", "04-01-2018 18:42", (f"TOTAL {money}", "9.50")])
    result = docvlm.extract(pdf, SCHEMA)
    assert result.data["date"] == date
    (warning,) = [w["message"] for w in result.warnings if w["pointer"] == "/date"]
    assert "ambiguous date '04-01-2018 18:42'" in warning
    # Where nothing shows the order the guess is withheld, and the warning says what was read.
    assert ("left empty rather than guessed" in warning) == (date is None)


def test_money_of_day_first_countries_decides_ambiguous_dates_where_no_date_does() -> None:
    assert date_order_evidence(["TOTAL", "RM", "12.50", "01-07-2017"]) == "dmy"
    assert date_order_evidence(["AMOUNT(RM)", "01-07-2017"]) == "dmy"
    assert date_order_evidence(["12,50", "€", "01.07.2017"]) == "dmy"
    assert date_order_evidence(["$12.50", "01-07-2017"]) is None  # dollars: US or not
    assert date_order_evidence(["RM", "12/31/2017"]) == "mdy"  # the dates' own evidence first
    assert date_order_evidence(["RMB", "FORMAL"]) is None


def test_a_tax_only_day_first_countries_levy_decides_ambiguous_dates_where_no_date_does() -> None:
    assert date_order_evidence(["VAT", "NO:", "GB", "5255135949", "10/06/2018"]) == "dmy"
    assert date_order_evidence(["GST", "ID", ":", "007284630226", "11/10/2018"]) == "dmy"
    assert date_order_evidence(["MwSt.", "19%", "01.07.2017"]) == "dmy"
    assert date_order_evidence(["SALES", "TAX", "01/07/2017"]) is None  # the US: month-first
    # Canada's GST comes beside a provincial tax, and its receipts write dates either way.
    assert date_order_evidence(["GST", "5%", "PST", "7%", "01/07/2017"]) is None
    assert date_order_evidence(["VATICAN", "CANVAS", "01/07/2017"]) is None


def _two_columns() -> tuple[Image.Image, list[OCRWord]]:
    image = Image.new("L", (900, 300), 235)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(MONO, 28)
    left = []
    for row, (label, amount) in enumerate([("SUBTOTAL", "40.34"), ("TOTAL", "42.75")]):
        y = 60 + 80 * row
        draw.text((40, y), label, fill=20, font=font)
        draw.text((700, y), amount, fill=20, font=font)
        x0, y0, x1, y1 = draw.textbbox((40, y), label, font=font)
        left.append(OCRWord(label, (x0, y0, x1, y1), 0.95, y1 - y0))
    draw.rectangle((40, 250, 860, 252), fill=0)  # a rule is no text
    draw.rectangle((400, 60, 420, 80), outline=0)  # nor is a check box
    return image, left


def test_ink_no_word_covers_is_found_where_it_reads_as_text() -> None:
    image, left = _two_columns()
    unread = unread_text(image, left)
    assert unread and all(box[0] >= 680 and box[2] <= 820 for box in unread)
    assert {int(box[1]) // 80 for box in unread} == {0, 1}  # both amounts, not the rule
    draw = ImageDraw.Draw(image)
    covered = left + [
        OCRWord(
            a, draw.textbbox((700, 60 + 80 * row), a, font=ImageFont.truetype(MONO, 28)), 0.9, 20
        )
        for row, a in enumerate(["40.34", "42.75"])
    ]
    assert unread_text(image, covered) == []


def test_a_scanned_receipt_with_right_aligned_amounts_gives_all_four_fields(tmp_path) -> None:
    lines = ["LIGHTROOM GALLERY SDN BHD", "(431207-W)", "NO 17, JALAN MERANTI 4,",
             "TAMAN MELAWATI,", "40170 SHAH ALAM, SELANGOR.", "CASH BILL",
             "15/04/2017 15:49", "-" * 34, ("Sub Total (Excl GST):", "181.94"),
             ("Total GST @6%:", "10.92"), ("Total (Incl GST):", "192.86"),
             ("Rounding Adj", "-0.01"), ("TOTAL RM", "192.85"), ("CASH", "200.00"),
             ("CHANGE", "7.15"), "GST SUMMARY AMOUNT(RM) TAX(RM)"]  # fmt: skip
    font = ImageFont.truetype(MONO, 26)
    image = Image.new("L", (640, 60 + 36 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        y = 30 + 36 * row
        if isinstance(line, tuple):
            draw.text((20, y), line[0], fill=0, font=font)
            draw.text((620 - draw.textlength(line[1], font=font), y), line[1], fill=0, font=font)
        else:
            draw.text(((640 - draw.textlength(line, font=font)) / 2, y), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path = tmp_path / "receipt.png"
    path.write_bytes(buffer.getvalue())
    result = docvlm.extract(path, SCHEMA)
    assert result.data == {
        "company": "LIGHTROOM GALLERY SDN BHD",
        "address": "NO 17, JALAN MERANTI 4, TAMAN MELAWATI, 40170 SHAH ALAM, SELANGOR.",
        "date": "2017-04-15",
        "total": pytest.approx(192.85),
    }
    assert all(found.confidence < 0.9 for found in result.fields.values())  # read by OCR


@pytest.mark.parametrize(
    "printed, value",
    [("RM12.50", 12.5), ("S$ 4.20", 4.2), ("HK$5", 5.0), ("181. 94", 181.94), ("192 .85", 192.85),
     ("330 00", 330.0), ("1 234", 1234.0), ("FROM 5", None)],
)  # fmt: skip
def test_till_amounts_glued_to_their_currency_or_broken_at_the_point(printed, value) -> None:
    assert parse_amount(printed) == value


def test_a_weekday_in_brackets_after_a_date_is_part_of_it() -> None:
    assert parse_date("25/12/2018 (Tue) 14:02") == datetime.date(2018, 12, 25)


def _three_columns(rows: list[tuple[str, str, str]]) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=40 + 14 * len(rows))
    for row, texts in enumerate(rows):
        for x, text in zip((20, 150, 240), texts, strict=True):
            page.insert_text((x, 30 + 14 * row), text, fontname="cour", fontsize=9)
    return doc.tobytes()


def test_the_total_follows_the_item_count_and_the_currency_on_its_line() -> None:
    schema = {"type": "object", "properties": {"total": {"type": "number"}}}
    pdf = _three_columns([("SUMME 3", "EUR", "152,00"), ("GEGEBEN ec-Karte", "EUR", "152,00")])
    assert docvlm.extract(pdf, schema).data["total"] == pytest.approx(152.0)
    items = {"type": "object", "properties": {"quantity": {"type": "number"}}}
    pdf = _three_columns([("Quantity 3", "Price", "12.00")])  # a count that is the value
    assert docvlm.extract(pdf, items).data["quantity"] == 3


def test_a_tax_summary_row_under_its_headings_is_no_total() -> None:
    """ "Summe | 0,47 | 6,69 | 7,16" heads a row of a tax table: its first amount is the tax,
    not the total, which the amount to pay names."""
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=160)
    rows = [("zu zahlen", [(230, "7,16")]), ("Bar", [(230, "10,00")]),
            ("MWST%", [(110, "MWST"), (170, "Netto"), (230, "Brutto")]),
            ("A 7%", [(110, "0,47"), (170, "6,69"), (230, "7,16")]),
            ("Summe", [(110, "0,47"), (170, "6,69"), (230, "7,16")])]  # fmt: skip
    for row, (label, cells) in enumerate(rows):
        page.insert_text((20, 40 + 16 * row), label, fontname="cour", fontsize=9)
        for x, text in cells:
            page.insert_text((x, 40 + 16 * row), text, fontname="cour", fontsize=9)
    assert docvlm.extract(doc.tobytes(), SCHEMA).data["total"] == pytest.approx(7.16)
