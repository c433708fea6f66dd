"""Word labels from (document, JSON) pairs: typed, multi-word, multi-line, reported when absent."""

from __future__ import annotations

import pymupdf
import pytest

from docvlm.anchors import page_anchors
from docvlm.forms.align import align, read_flag, target_leaves, usual_places
from docvlm.sources import open_source


@pytest.fixture(scope="module")
def words():
    pdf = pymupdf.open()
    page = pdf.new_page(width=612, height=792)
    lines = [
        (60, 80, "Name: Ada Lovelace"),
        (330, 80, "Phone: (617) 555-0101"),
        (60, 120, "Address:"),
        (60, 136, "12 Mill Lane"),
        (60, 150, "Boston, MA 02110"),
        (330, 136, "Date of Birth: March 5, 1990"),
        (330, 160, "Total: $1,234.50"),
        (60, 200, "Signed on 06.11.2024"),
        (75, 240, "Yes"),
        (125, 240, "No"),
    ]
    for x, y, text in lines:
        page.insert_text((x, y), text, fontname="helv", fontsize=10)
    for x, ticked in ((60, False), (110, True)):  # "[ ] Yes  [x] No"
        box = pymupdf.Rect(x, 232, x + 9, 241)
        page.draw_rect(box, width=0.8)
        if ticked:
            page.draw_line(box.tl + (2, 2), box.br - (2, 2))
    with open_source(pdf.tobytes()) as document:
        return page_anchors(document.page(1)).words


def _texts(words, alignment) -> dict[str, list[str]]:
    return {s.pointer: [words[i].text for i in s.words] for s in alignment.spans}


def test_typed_multi_word_and_multi_line_values_are_found(words) -> None:
    target = {
        "name": "Ada Lovelace",
        "phone": "(617) 555-0101",
        "address": "12 Mill Lane, Boston, MA 02110",
        "date_of_birth": "1990-03-05",
        "signature_date": "2024-11-06",
        "total": 1234.5,
        "consent": False,
        "note": None,
    }
    alignment = align(target, words)
    found = _texts(words, alignment)
    assert found["/name"] == ["Ada", "Lovelace"]
    assert found["/phone"] == ["(617)", "555-0101"]
    assert found["/address"] == ["12", "Mill", "Lane", "Boston,", "MA", "02110"]
    assert found["/date_of_birth"] == ["March", "5,", "1990"]
    assert found["/signature_date"] == ["06.11.2024"]
    assert found["/total"] == ["$1,234.50"]
    assert found["/consent"] == ["[x]", "No"] and read_flag(found["/consent"]) is False
    assert alignment.missing == [] and "/note" not in found


def test_values_not_on_the_page_are_reported_with_a_reason(words) -> None:
    alignment = align({"name": "Ada Lovelace", "member_id": "ZZ-99812", "total": 99.0}, words)
    assert dict(alignment.missing) == {
        "/member_id": "value not found on the page",
        "/total": "value not found on the page",
    }
    assert align({"name": "Ada"}, []).missing[0][1].startswith("the page has no words")


def test_ocr_slips_still_align(words) -> None:
    found = _texts(words, align({"name": "Ada Lovelaee"}, words))  # one misread letter
    assert found["/name"] == ["Ada", "Lovelace"]


def test_array_items_become_starred_keys() -> None:
    leaves = target_leaves({"items": [{"amount": 1.0}, {"amount": 2.0}], "total": 3.0})
    assert leaves == [
        ("/items/*/amount", "/items/0/amount", 1.0),
        ("/items/*/amount", "/items/1/amount", 2.0),
        ("/total", "/total", 3.0),
    ]


def _labels_under(upper: str, lower: str):
    """A page printing each value over its label (a caption under each box)."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=612, height=792)
    for y, text in ((100, upper), (112, "UPPER"), (130, lower), (142, "LOWER")):
        page.insert_text((60, y), text, fontname="helv", fontsize=10)
    with open_source(pdf.tobytes()) as document:
        return page_anchors(document.page(1)).words


def test_a_value_printed_twice_is_taken_at_its_keys_usual_place() -> None:
    seen = []
    for index in range(5):
        target = {"upper": f"Rossi{index}", "lower": f"{index}0 Elm St"}
        page_words = _labels_under(*target.values())
        seen.append((page_words, align(target, page_words)))
    places = usual_places(seen)
    assert places.keys() == {"/upper", "/lower"}
    twice = _labels_under("Garcia", "Garcia")
    target = {"upper": "Garcia", "lower": "Garcia"}
    line = {s.pointer: twice[s.words[0]].line for s in align(target, twice, places).spans}
    assert line["/upper"] < line["/lower"]
    # By the neighbouring words alone, the upper value's label sits above the lower copy.
    line = {s.pointer: twice[s.words[0]].line for s in align(target, twice).spans}
    assert line["/upper"] > line["/lower"]
    assert align(target, twice).repeated == ["/upper", "/lower"]
