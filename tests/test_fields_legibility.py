"""The legibility floor: how often a value's own words read wrong, measured on training pages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pymupdf

from docvlm.finetune.manifest import Example
from docvlm.forms.align import align
from docvlm.forms.legibility import ReadingFloor, reading_evidence, reading_floors
from docvlm.forms.tagger import LEGIBLE, TARGET_ERROR


def test_a_value_whose_own_words_read_otherwise_is_a_misread(tmp_path: Path) -> None:
    # As OCR slips would print them: one letter and one digit read wrong, an amount right.
    pdf = pymupdf.open()
    page = pdf.new_page(width=612, height=792)
    for row, text in enumerate(["Name: Ada Lovelaee", "Phone: (517) 555-0101", "Total: $1,234.50"]):
        page.insert_text((60, 80 + 30 * row), text, fontname="helv", fontsize=10)
    pdf.save(tmp_path / "form.pdf")
    target = {"name": "Ada Lovelace", "phone": "(617) 555-0101", "total": 1234.5}
    example = Example(target, pdf=tmp_path / "form.pdf")
    words = [replace(word, confidence=0.9) for word in example.page_anchors("text").words]
    evidence = reading_evidence(example, words, align(target, words))
    assert sorted(evidence) == [(0.9, False), (0.9, False), (0.9, True)]


def test_floors_are_tried_above_each_misread_while_the_reading_stays_within_budget() -> None:
    clear = [(0.96, True)] * 1000
    few = [(0.87, True)] * 197 + [(0.88, False)] * 3
    floors = reading_floors(clear + few)
    assert [f.legible for f in floors] == [LEGIBLE, 0.8801]
    assert (floors[0].values, floors[0].misread) == (1200, 3)
    assert floors[0].model_error == TARGET_ERROR - 3 / 1200
    assert floors[1].misread == 0 and floors[1].model_error == TARGET_ERROR
    # Where every value at a floor reads right, no higher floor is tried.
    assert reading_floors(clear) == [ReadingFloor(LEGIBLE, 1000, 0)]
    # A floor whose values read wrong more than TARGET_ERROR is not tried at all.
    poor = reading_floors([(0.9, False)] * 5 + [(0.95, False)] + [(0.97, True)] * 100)
    assert [f.legible for f in poor] == [0.9501]
