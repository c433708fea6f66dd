"""Reading a tagged span into a value: check box marks left out, OCR legibility in the score,
and the confidence a value gets alone or where no-model extraction reads it alike."""

from __future__ import annotations

from docvlm.anchors import CHECKED, AnchorWord
from docvlm.extraction.pairing import Found
from docvlm.extraction.schema import load_schema
from docvlm.forms.extract import Reading, _read, reading_confidence
from docvlm.forms.model import FormModel, FormModelConfig
from docvlm.forms.tagger import RETURN_CONFIDENCE, SURE_TAG, FormTagger, Span


def _word(text: str, line: int, column: int, confidence: float = 1.0) -> AnchorWord:
    box = (10.0 + 40 * column, 10.0 + 12 * line, 45.0 + 40 * column, 20.0 + 12 * line)
    return AnchorWord(text, box, (0, 0, 10, 10), line, line, confidence)


def test_a_check_box_mark_is_no_part_of_a_text_value_and_a_blurred_word_lowers_the_score():
    words = [_word("4082", 0, 0), _word("Elm", 0, 1, 0.95), _word("Drive", 0, 2),
             _word(CHECKED, 1, 0), _word("Boise", 1, 1, 0.6)]  # fmt: skip
    spec = load_schema({"type": "object", "properties": {"address": {"type": "string"}}})
    span = Span("/address", [0, 1, 2, 3, 4], 0.99)
    reading = _read(span, spec.root.properties["address"], words, 1)
    assert reading is not None
    assert reading.found.value == "4082 Elm Drive, Boise"
    assert reading.tag_score == 0.99 and reading.legibility == 0.6
    assert abs(reading.score - 0.99 * 0.6 * reading.fit) < 1e-9


def test_agreement_lowers_the_floor_and_a_value_alone_needs_a_sure_tag() -> None:
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a"], hash_buckets=64, dim=8)))
    tagger.min_score, tagger.agree_score, tagger.sure_tag = 0.95, 0.5, SURE_TAG
    found = Found("x", 1, None, 0.0, "form-model")

    def confidence(tag_score: float, agrees: bool) -> float:
        return reading_confidence(tagger, Reading(found, tag_score, 1.0, 1.0, agrees))

    assert confidence(0.6, agrees=True) >= RETURN_CONFIDENCE > confidence(0.6, agrees=False)
    # Above the held-out threshold, but alone and not sure of its tags: null.
    assert confidence(SURE_TAG - 1e-4, agrees=False) < RETURN_CONFIDENCE
    assert confidence(SURE_TAG, agrees=False) >= RETURN_CONFIDENCE
    tagger.sure_tag = 0.0  # a model of one layout: its held-out rows are of that layout
    assert confidence(0.96, agrees=False) >= RETURN_CONFIDENCE
