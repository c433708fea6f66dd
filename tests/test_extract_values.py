"""The one reader of printed dates and amounts (docvlm.extraction.values)."""

from __future__ import annotations

import datetime

import pytest

from docvlm.extraction.schema import load_schema
from docvlm.extraction.values import (
    date_order_evidence,
    parse_amount,
    parse_date,
    parse_value,
    read_date,
)

MARCH_14 = datetime.date(2026, 3, 14)


@pytest.mark.parametrize(
    "printed",
    [
        "14/03/2026", "03/14/2026", "2026-03-14", "2026/03/14", "2026.03.14", "14.03.2026",
        "14-03-2026", "14/03/26", "20260314", "March 14, 2026", "Mar 14, 2026", "Mar. 14 2026",
        "14 March 2026", "14 Mar 2026", "14-Mar-2026", "14th March 2026", "14th of March, 2026",
        "Saturday, March 14, 2026", "2026 March 14", "14 MAR 2026", "14/03/2026 10:45",
        "14/03/2026 10:45:12 PM", "2026-03-14T10:45", "14. 03. 2026", "14. 3. 26 10:45",
    ],
)  # fmt: skip
def test_every_common_date_form_reads_as_the_same_day(printed: str) -> None:
    assert parse_date(printed) == MARCH_14


@pytest.mark.parametrize(
    "printed",
    ["31/02/2026", "08%", "TAX", "14/03", "Date: 14/03/2026", "", "14/ 03/ 2026", "14 03 2026"],
)
def test_what_is_not_one_whole_date_is_none(printed: str) -> None:
    assert read_date(printed) is None


def test_ambiguous_dates_follow_the_order_and_say_so() -> None:
    assert read_date("03/04/2026", "dmy").value == datetime.date(2026, 4, 3)
    assert read_date("03/04/2026", "mdy").value == datetime.date(2026, 3, 4)
    assert read_date("03/04/2026").ambiguous
    assert read_date("03.04.2026").value == datetime.date(2026, 4, 3)  # dots are day-first
    assert not read_date("04/04/2026").ambiguous  # either order gives the same day
    assert not read_date("14/03/2026").ambiguous
    assert read_date("14/03/2026").evidence == "dmy"
    assert read_date("03/14/2026").evidence == "mdy"


def test_document_evidence_decides_the_date_order() -> None:
    assert date_order_evidence(["Issued 25/12/2025", "Due 03/04/2026"]) == "dmy"
    assert date_order_evidence(["Issued 12/25/2025", "Due 03/04/2026"]) == "mdy"
    assert date_order_evidence(["Due 03/04/2026"]) is None
    assert date_order_evidence(["Due 03/04/2026", "ZU ZAHLEN EURO 24,23"]) == "dmy"


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("RM 19.40", 19.40), ("EUR 1.234,50", 1234.50), ("1.234,50 EUR", 1234.50),
        ("1.234,50 €", 1234.50), ("$1,234.50", 1234.50), ("USD 1,234,567.89", 1234567.89),
        ("1 234,50", 1234.50), ("CHF 1'234.50", 1234.50), ("(45.00)", -45.00),
        ("-$45.00", -45.00), ("$-45.00", -45.00), ("45.00-", -45.00), ("−45.00", -45.00),
        ("£0.99", 0.99), ("¥1,200", 1200.0), ("12,50", 12.50), ("1.234.567", 1234567.0),
        ("1,234", 1234.0), (".50", 0.5), ("R$ 10,00", 10.0), ("1 234 567 Kr", 1234567.0),
        ("49.99 *", 49.99), ("5,18 A", 5.18), ("1,79B", 1.79),
    ],
)  # fmt: skip
def test_amounts_in_both_thousands_conventions(printed: str, value: float) -> None:
    assert parse_amount(printed) == pytest.approx(value)


@pytest.mark.parametrize(
    "printed", ["TAX", "(Inclusive", "08%", "Rounding", "1,2,3", "12.3.4", "-", "12 A", "A 12,00"]
)
def test_text_that_is_not_an_amount_is_none(printed: str) -> None:
    assert parse_amount(printed) is None


def _spec(node: dict):
    return load_schema({"type": "object", "properties": {"field": node}}).root.properties["field"]


def test_values_are_type_checked_and_fits_say_how_well() -> None:
    total = _spec({"type": "number"})
    assert parse_value("TAX", total) is None
    assert parse_value("8%", total) is None  # a tax rate is not the total
    assert parse_value("8%", _spec({"type": "number", "title": "Tax rate"})).value == 8
    assert parse_value("RM 19.40", total).value == pytest.approx(19.40)
    day = _spec({"type": "string", "format": "date"})
    assert parse_value("14/03/2026", day).value == "2026-03-14"
    ambiguous = parse_value("03/04/2026", day, "dmy")
    assert ambiguous.value == "2026-04-03" and ambiguous.fit < 1
    assert "day-first" in ambiguous.warning
    dotted = parse_value("03.04.2026", day)  # day-first by the dotted form's convention
    assert dotted.value == "2026-04-03" and dotted.fit == ambiguous.fit and dotted.warning
    assert parse_value("03/04/2026", day).fit < dotted.fit  # slashes: a guess
