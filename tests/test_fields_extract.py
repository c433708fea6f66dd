"""Reading a tagged span into a value: check box marks left out, OCR legibility in the score,
the confidence a value gets alone or where no-model extraction reads it alike, and no-model
extraction's values where the model abstains."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import torch

import docvlm
from docvlm.anchors import CHECKED, AnchorWord
from docvlm.extraction.result import Found
from docvlm.extraction.schema import load_schema
from docvlm.forms.extract import (
    Reading,
    _contested,
    read_fields,
    read_span,
    reading_confidence,
    value_shape,
)
from docvlm.forms.model import FormModel, FormModelConfig
from docvlm.forms.tagger import (
    ABSTAIN,
    LEGIBLE,
    RETURN_CONFIDENCE,
    SURE_TAG,
    FormTagger,
    Span,
)
from docvlm.forms.train import Answer
from docvlm.sources import open_source


def _two_line_form(folder: Path, first: str, second: str) -> Path:
    pdf = folder / "form.pdf"
    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((72, 100), first)
    page.insert_text((72, 130), second)
    document.save(pdf)
    return pdf


def _word(text: str, line: int, column: int, confidence: float = 1.0) -> AnchorWord:
    box = (10.0 + 40 * column, 10.0 + 12 * line, 45.0 + 40 * column, 20.0 + 12 * line)
    return AnchorWord(text, box, (0, 0, 10, 10), line, line, confidence)


def test_a_check_box_mark_is_no_part_of_a_text_value_and_a_blurred_word_lowers_the_score():
    words = [_word("4082", 0, 0), _word("Elm", 0, 1, 0.95), _word("Drive", 0, 2),
             _word(CHECKED, 1, 0), _word("Boise", 1, 1, 0.6)]  # fmt: skip
    spec = load_schema({"type": "object", "properties": {"address": {"type": "string"}}})
    span = Span("/address", [0, 1, 2, 3, 4], 0.99)
    reading = read_span(span, spec.root.properties["address"], words, 1)
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
    tagger.min_score = 0.99991  # a hair under the floor is under it, not rounded up to 0.9
    assert confidence(0.99986, agrees=False) < RETURN_CONFIDENCE
    # Where calibration vouched for no value alone, none is returned, however sure its tag.
    tagger.sure_tag = ABSTAIN
    assert confidence(0.99998, agrees=False) < RETURN_CONFIDENCE
    assert confidence(1.0, agrees=False) < RETURN_CONFIDENCE


def test_a_value_under_its_keys_label_needs_the_label_floor_not_a_sure_tag() -> None:
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a"], hash_buckets=64, dim=8)))
    tagger.min_score, tagger.sure_tag, tagger.label_score = 0.95, SURE_TAG, 0.6
    found = Found("x", 1, None, 0.0, "form-model")

    def confidence(tag_score: float, labelled: bool, contested: bool = False) -> float:
        reading = Reading(found, tag_score, 1.0, 1.0, labelled=labelled, contested=contested)
        return reading_confidence(tagger, reading)

    assert confidence(0.7, labelled=True) >= RETURN_CONFIDENCE > confidence(0.7, labelled=False)
    assert confidence(0.55, labelled=True) < RETURN_CONFIDENCE
    assert confidence(0.99, labelled=True, contested=True) < RETURN_CONFIDENCE
    # Where held-out labelled values needed more than the common floor, a tag under the
    # sure-tag floor is not vouched for between the two.
    tagger.label_score = 0.98
    assert confidence(0.97, labelled=True) < RETURN_CONFIDENCE
    assert confidence(0.985, labelled=True) >= RETURN_CONFIDENCE


def test_a_value_that_looks_like_another_fields_needs_the_look_alike_floor() -> None:
    assert value_shape("EW-2936433") == value_shape("UZY-8010121") != value_shape("(586) 933-5177")
    assert value_shape("1998-03-21") == value_shape("2004-07-30") != value_shape(2004.5)
    assert value_shape(True) == value_shape(False) != value_shape("Yes")
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a"], hash_buckets=64, dim=8)))
    tagger.min_score, tagger.agree_score = 0.5, 0.01
    tagger.sure_tag, tagger.sure_alike = SURE_TAG, 0.99999
    found = Found("EW-2936433", 1, None, 0.0, "form-model")
    alone = Reading(found, 0.9995, 1.0, 1.0)
    assert reading_confidence(tagger, alone) >= RETURN_CONFIDENCE
    alone.alike = True
    assert reading_confidence(tagger, alone) < RETURN_CONFIDENCE
    alone.agrees = True  # no-model extraction read it for this field: the agreement floor
    assert reading_confidence(tagger, alone) >= RETURN_CONFIDENCE


def test_a_word_ocr_read_poorly_keeps_its_value_under_0_9_however_sure_or_agreed() -> None:
    """The tagger and no-model extraction read the same OCR words: a misread character ("ionas"
    for "jonas") is tagged surely and agreed on alike, so OCR's own doubt caps the value."""
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a"], hash_buckets=64, dim=8)))
    tagger.min_score, tagger.agree_score, tagger.sure_tag = 0.5, 0.01, 0.0
    found = Found("ionas", 1, None, 0.0, "form-model")
    for agrees in (True, False):
        poor = Reading(found, 1.0, LEGIBLE - 0.01, 1.0, agrees)
        clear = Reading(found, 1.0, LEGIBLE, 1.0, agrees)
        assert reading_confidence(tagger, poor) < RETURN_CONFIDENCE
        assert reading_confidence(tagger, clear) >= RETURN_CONFIDENCE
    # Calibration counts what extraction returns: a poorly read value is not returned.
    assert not Answer(0.9, False, True, 1.0, legibility=LEGIBLE - 0.01).returned(0.5, 0.01)
    assert Answer(0.9, True, True, 1.0, legibility=LEGIBLE).returned(0.5, 0.01)


def test_best_span_starts_at_the_likeliest_begin_and_runs_while_inside_wins() -> None:
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a", "/b"], hash_buckets=64, dim=8)))
    # Tags: O, B-/a, I-/a, B-/b, I-/b; no word's argmax holds /b.
    probabilities = torch.tensor(
        [[0.9, 0.0, 0.0, 0.1, 0.0],
         [0.5, 0.0, 0.0, 0.4, 0.1],
         [0.55, 0.0, 0.0, 0.0, 0.45],
         [0.6, 0.0, 0.0, 0.1, 0.3]])  # fmt: skip
    assert "/b" not in tagger.spans(probabilities)
    span = tagger.best_span(probabilities, "/b")
    assert span.words == [1, 2] and abs(span.score - 0.4) < 1e-6


def test_an_untagged_key_is_read_from_its_likeliest_span_only_where_no_model_agrees(
    tmp_path: Path,
) -> None:
    pdf = _two_line_form(tmp_path, "Full name: Ravi Okafor", "Phone: (625) 476-4203")
    schema = load_schema({"type": "object", "properties": {
        "full_name": {"type": "string"}, "phone": {"type": "string"}}})  # fmt: skip
    tagger = FormTagger(
        FormModel(FormModelConfig(keys=["/full_name", "/phone"], hash_buckets=64, dim=8))
    )
    tagger.min_score = tagger.agree_score = 0.05

    def untagged(begin: str, inside: str):
        def tag_probabilities(pages, asked=None):
            out = []
            for words in pages:
                texts = [word.text for word in words]
                probabilities = torch.zeros(len(words), 5)
                probabilities[:, 0] = 0.8
                probabilities[:, 1] = 0.1  # B-/full_name, never the argmax
                probabilities[texts.index(begin), 1] = 0.3
                probabilities[texts.index(inside), 2] = 0.7
                probabilities[:, 3] = 0.1
                out.append(probabilities / probabilities.sum(-1, keepdim=True))
            return out

        return tag_probabilities

    with open_source(pdf) as source:
        pages = [source.page(1)]
        tagger.tag_probabilities = untagged("Ravi", "Okafor")
        readings, _ = read_fields(tagger, pages, schema, "text")
        assert readings["/full_name"].found.value == "Ravi Okafor"
        assert readings["/full_name"].guessed and readings["/full_name"].agrees
        assert "/phone" not in readings  # its guess, "Full", is not what no-model extraction reads
        tagger.tag_probabilities = untagged("Phone:", "(625)")
        assert "/full_name" not in read_fields(tagger, pages, schema, "text")[0]


def test_where_calibration_vouched_for_it_a_field_the_model_leaves_null_is_read_without_it(
    tmp_path: Path,
) -> None:
    pdf = _two_line_form(tmp_path, "Date of birth: 14/03/1990", "Full name: Ravi Okafor")
    date = {"type": "string", "format": "date"}
    schema = {
        "type": "object",
        "properties": {"date_of_birth": date, "full_name": {"type": "string"}},
    }
    torch.manual_seed(0)
    tagger = FormTagger(
        FormModel(FormModelConfig(keys=["/date_of_birth", "/full_name"], hash_buckets=64, dim=8))
    )
    tagger.min_score = 1.5  # the model abstains on every value
    abstained = docvlm.extract(pdf, schema, model=tagger)
    assert abstained.data.get("date_of_birth") is None
    reasons = {w["pointer"]: w["message"] for w in abstained.warnings}
    assert "confidence" in reasons["/full_name"]  # read, but under 0.9: null, and said so
    tagger.fallback = True
    result = docvlm.extract(pdf, schema, model=tagger)
    # The typed date is no-model extraction's at ≥ 0.9; its free text stays below 0.9: null.
    assert result.data.get("date_of_birth") == "1990-03-14"
    assert result.data.get("full_name") is None
    assert result.fields["/date_of_birth"].confidence >= RETURN_CONFIDENCE


def test_a_value_no_model_extraction_gives_to_another_field_is_contested() -> None:
    """A date of loss and a signature date swapped by the model: no-model extraction reads
    the model's signature date as the date of loss, so that value stays under 0.9."""
    found = {
        "/signature_date": Found("1998-03-21", 1, None, 0.0, "form-model"),
        "/date_of_loss": Found("2004-07-30", 1, None, 0.0, "form-model"),
        "/smoker": Found(True, 1, None, 0.0, "form-model"),
    }
    readings = {p: Reading(f, 1.0, 1.0, 1.0) for p, f in found.items()}
    no_model = {
        "/date_of_loss": Found("1998-03-21", 1, None, 0.95, "pairing"),
        "/consent": Found(True, 1, None, 0.95, "pairing"),
    }
    assert _contested("/signature_date", readings, no_model)
    assert not _contested("/date_of_loss", readings, no_model)  # disagrees, but no swap shown
    assert not _contested("/smoker", readings, no_model)  # yes/no values prove nothing
    readings["/date_of_loss"] = Reading(found["/signature_date"], 1.0, 1.0, 1.0)
    assert not _contested("/signature_date", readings, no_model)  # both fields hold it
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a"], hash_buckets=64, dim=8)))
    tagger.min_score, tagger.agree_score, tagger.sure_tag = 0.5, 0.01, 0.0
    contested = Reading(found["/signature_date"], 1.0, 1.0, 1.0, contested=True)
    assert reading_confidence(tagger, contested) < RETURN_CONFIDENCE
    assert not Answer(0.99, False, False, 1.0, contested=True).returned(0.5, 0.01)
    tagger.contest_score = 0.95  # held-out contested values were right from 0.95 on
    assert reading_confidence(tagger, contested) >= RETURN_CONFIDENCE
    assert Answer(0.99, False, False, 1.0, contested=True).returned(0.5, 0.01, contest_score=0.95)
    tagger.key_floors = {"/signature_date": 1.5}  # its held-out values were too often wrong
    assert reading_confidence(tagger, contested, "/signature_date") < RETURN_CONFIDENCE
    assert reading_confidence(tagger, contested, "/date_of_loss") >= RETURN_CONFIDENCE
