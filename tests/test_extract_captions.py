"""Forms that print each caption small under the rule its answer is typed on."""

from __future__ import annotations

import pymupdf

import docvlm

ROWS = [  # (x, baseline of the answer, answer, caption): a name block, then an address block
    (72, 100, "Ada Lovelace", "LAST NAME"),
    (72, 124, "Augusta", "FIRST NAME"),
    (300, 124, "Byron", "MAIDEN NAME"),
    (72, 200, "12 Elm Street", "STREET"),
    (72, 224, "Boston", "CITY"),
    (300, 224, "Massachusetts", "STATE"),
]


def _form(captions_under: bool) -> bytes:
    """The rows above as a born-digital page: each answer on a rule with its caption in 7 pt
    just under the rule, or (not `captions_under`) the caption over the answer instead."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    for x, y, answer, caption in ROWS:
        page.draw_line((x, y + 3), (x + 200, y + 3))
        page.insert_text((x, y + 11 if captions_under else y - 12), caption, fontsize=7)
        page.insert_text((x, y), answer, fontname="helv", fontsize=11)
    return doc.tobytes()


def _schema() -> dict:
    titles = [caption for *_, caption in ROWS]
    properties = {f"f{i}": {"type": ["string", "null"], "title": t} for i, t in enumerate(titles)}
    return {"type": "object", "properties": properties}


def test_an_answer_typed_over_its_caption_is_the_captions_not_the_next_rows() -> None:
    result = docvlm.extract(_form(captions_under=True), _schema())
    assert result.data == {f"f{i}": row[2] for i, row in enumerate(ROWS)}


def test_labels_printed_over_their_answers_are_still_read_downwards() -> None:
    result = docvlm.extract(_form(captions_under=False), _schema())
    assert result.data == {f"f{i}": row[2] for i, row in enumerate(ROWS)}
