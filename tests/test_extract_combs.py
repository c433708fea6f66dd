"""Comb fields (one character per box) read back as words: `docvlm.extraction.combs`."""

from __future__ import annotations

import pymupdf

import docvlm
from docvlm.extraction.combs import combs_joined
from docvlm.extraction.words import Word
from tests.forms import FORMS, fill_form


def _characters(text: str, pitch: float, width: float = 8.0, jitter: list[float] | None = None):
    """One word per character of `text` (a space skips a box), centred `pitch` apart."""
    words = []
    for index, character in enumerate(text):
        if character == " ":
            continue
        centre = 100 + index * pitch + (jitter[index] if jitter else 0.0)
        words.append(Word(character, (centre - width / 2, 10, centre + width / 2, 30), 0.9))
    return words


def _texts(words: list[Word]) -> list[str]:
    return [w.text for w in combs_joined(words)]


def test_a_date_printed_one_digit_per_box_is_one_word_spanning_its_boxes() -> None:
    label = Word("Date", (20, 10, 60, 30))
    joined = combs_joined([label, *_characters("25/05/1992", pitch=19)])
    assert [w.text for w in joined] == ["Date", "25/05/1992"]
    assert joined[1].bbox == (90.5, 10, 280.5, 30)
    assert joined[1].confidence == 0.9


def test_an_empty_box_is_a_space_and_ocr_jitter_stays_on_the_grid() -> None:
    jitter = [0, 6, -3, 0, 0, 0, 5, 0, 0, 0, -6, 0]  # up to 14 % of the pitch
    assert _texts(_characters("8784 Pine St", pitch=44, width=16, jitter=jitter)) == [
        "8784",
        "Pine",
        "St",
    ]


def test_a_character_off_the_grid_starts_a_new_comb() -> None:
    words = _characters("123", pitch=19) + _characters("456", pitch=19)
    words[3:] = [Word(w.text, (w.bbox[0] + 47, 10, w.bbox[2] + 47, 30)) for w in words[3:]]
    assert _texts(words) == ["123", "456"]


def test_ordinary_spacing_tables_and_leaders_are_left_alone() -> None:
    words = _characters("aIx", pitch=9, width=6)  # single letters a word space apart
    assert _texts(words) == ["a", "I", "x"]
    heading = _characters("SUMMARY", pitch=9, width=7)  # letter-spaced: 1.3 glyph widths
    assert _texts(heading) == list("SUMMARY")
    columns = _characters("1234", pitch=80)  # one digit per table column
    assert _texts(columns) == list("1234")
    leader = _characters("3.......", pitch=12, width=2.2)
    assert _texts(leader) == list("3.......")
    two = _characters("05", pitch=19)  # two characters show no even pitch
    assert _texts(two) == ["0", "5"]


NATIONAL_ID = {
    "type": "object",
    "properties": {"national_id": {"type": "string", "title": "n° d'identification national"}},
}


def _flattened_160f() -> pymupdf.Document:
    """The Luxembourg salary certificate with its widgets baked into the page. Its national
    identification number is a comb field (13 boxes at the top of page 1); seed 5 fills it
    with a date."""
    filled, _, expected = fill_form((FORMS / "160F-2019.pdf").read_bytes(), 5)
    assert expected["F_1"] == "09/12/2012"
    doc = pymupdf.open(stream=filled, filetype="pdf")
    doc.bake()
    return doc


def test_the_comb_of_a_real_flattened_form_is_read_as_its_value() -> None:
    result = docvlm.extract(_flattened_160f().tobytes(), NATIONAL_ID)
    assert result.data["national_id"] == "09/12/2012"


def test_the_comb_of_a_real_form_scanned_is_read_as_its_value(tmp_path) -> None:
    # The page's top band at 200 dpi: OCR reads each box's character as a word, a few pixels
    # off the grid.
    band = _flattened_160f()[0].get_pixmap(dpi=200, clip=pymupdf.Rect(0, 0, 612, 45))
    band.save(tmp_path / "band.png")
    result = docvlm.extract(tmp_path / "band.png", NATIONAL_ID)
    assert result.data["national_id"] == "09/12/2012"
