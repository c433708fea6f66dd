"""The legibility floor: how often a value's own words read wrong, measured on training pages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pymupdf

from docvlm.finetune.manifest import Example
from docvlm.forms.align import align
from docvlm.forms.legibility import fit_legible, reading_evidence
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


def test_the_floor_rises_above_misreads_only_where_they_exceed_their_share() -> None:
    clear = [(0.96, True)] * 1000
    few = [(0.87, True)] * 197 + [(0.88, False)] * 3  # 3 of 1200: within READ_ERROR
    floor = fit_legible(clear + few)
    assert floor.legible == LEGIBLE and (floor.values, floor.misread) == (1200, 3)
    assert floor.model_error == TARGET_ERROR - 3 / 1200
    many = [(0.87, True)] * 90 + [(0.88, False)] * 10 + [(0.9, True)] * 100
    floor = fit_legible(clear + many)
    assert 0.88 < floor.legible <= 0.9 and floor.misread == 0
    assert floor.model_error == TARGET_ERROR
    # Misreads scattered up to the top: the floor stops above the most legible one.
    top = fit_legible([(0.9, False)] * 5 + [(0.95, False)] + [(0.97, True)] * 10)
    assert 0.95 < top.legible <= 0.97 and top.values == 10
