"""Training the form model: schema masks, windows of long pages, the confidence thresholds."""

from __future__ import annotations

import random

import torch

from docvlm.anchors import AnchorWord
from docvlm.forms.legibility import ReadingFloor
from docvlm.forms.model import FormModel, FormModelConfig
from docvlm.forms.tagger import ABSTAIN, LEGIBLE, SURE_TAG, FormTagger
from docvlm.forms.train import (
    Answer,
    _window,
    fit_contest,
    fit_fallback,
    fit_key_floors,
    fit_label_score,
    fit_sure_tag,
    fit_threshold,
)


def _answers(count: int, score: float, correct: bool, agrees: bool) -> list[Answer]:
    return [Answer(score - i * 1e-4, correct, agrees) for i in range(count)]


def test_a_schema_keeps_the_model_off_keys_it_does_not_ask_for() -> None:
    torch.manual_seed(0)
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a", "/b"], hash_buckets=64, dim=8)))
    box = (0.0, 0.0, 10.0, 10.0)
    words = [AnchorWord(text, box, (0, 0, 10, 10), 0, 0) for text in ("Ada", "x", "Bo")]
    free, asked = tagger.tag_probabilities([words, words], [None, {"/a"}])
    assert free[:, 3:].sum() > 0  # B-/b and I-/b
    assert asked[:, 3:].sum() == 0
    torch.testing.assert_close(asked.sum(-1), torch.ones(3))


def test_agreement_with_no_model_extraction_vouches_for_values_the_model_alone_cannot() -> None:
    # The model alone is right only half the time below 0.99; where no-model extraction read
    # the same value it was always right: those values are returned, the others are not.
    answers = (
        _answers(60, 0.999, True, False)
        + _answers(100, 0.9, True, True)
        + _answers(100, 0.9, False, False)
        + _answers(100, 0.9, True, False)
    )
    min_score, agree_score, summary = fit_threshold(answers)
    assert 0.99 < min_score <= 0.999 and agree_score <= 0.9 - 99e-4
    assert summary["returned"] == 160 and summary["returned_agreeing"] == 100
    assert summary["returned_wrong"] == 0
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a"], hash_buckets=64, dim=8)))
    tagger.min_score, tagger.agree_score = min_score, agree_score
    assert tagger.confidence(0.895, agrees=True) >= 0.9 > tagger.confidence(0.895)


def test_agreement_safe_all_the_way_down_needs_no_score() -> None:
    # No held-out agreeing value was wrong, the lowest scored 0.5: an agreeing value scored
    # lower is returned too; one wrong agreeing value at 0.4 keeps a floor above it.
    answers = _answers(60, 0.999, True, False) + _answers(60, 0.7, True, True)
    assert fit_threshold(answers)[1] == 0.0
    answers += [Answer(0.4, False, True)] + _answers(5, 0.45, True, True)
    assert 0.4 < fit_threshold(answers)[1] <= 0.45


def test_the_union_of_both_floors_stays_within_one_percent() -> None:
    # Each group alone is within 1 % wrong; together they must be as well.
    answers = _answers(99, 0.999, True, False) + _answers(1, 0.9985, False, False)
    answers += _answers(99, 0.9, True, True) + _answers(1, 0.8, False, True)
    answers += _answers(100, 0.7, True, True) + _answers(3, 0.6, False, True)
    _, _, summary = fit_threshold(answers)
    assert summary["returned_wrong"] / summary["returned"] <= 0.01
    assert summary["returned"] >= 199


def test_training_windows_fit_the_page_and_often_hold_a_value() -> None:
    rng = random.Random(0)
    tags = torch.zeros(1000, dtype=torch.long)
    tags[900] = 1
    spans = [_window(tags, 256, rng) for _ in range(200)]
    assert all(start >= 0 and end - start == 256 and end <= 1000 for start, end in spans)
    holding = sum(start <= 900 < end for start, end in spans)
    assert holding >= 100  # uniform windows alone would hold it about a quarter of the time
    assert _window(tags[:100], 256, rng) == (0, 100)


def test_threshold_returns_nothing_when_no_score_keeps_errors_under_one_percent() -> None:
    answers = _answers(60, 0.99, True, False) + _answers(60, 0.995, False, True)
    min_score, agree_score, summary = fit_threshold(answers)
    assert summary["returned"] == 0 and min_score > 1 and agree_score > 1
    tagger = FormTagger(FormModel(FormModelConfig(keys=["/a"], hash_buckets=64, dim=8)))
    tagger.min_score, tagger.agree_score = min_score, agree_score
    assert tagger.confidence(0.9999, agrees=True) < 0.9  # so extraction returns every value null


def test_no_model_values_fill_the_models_nulls_only_where_held_out_pages_vouch_for_them() -> None:
    answers = [Answer(0.999, True, False, where=(row, "/a")) for row in range(100)]
    answers += [Answer(0.5, False, False, where=(row, "/b")) for row in range(100)]
    right = [Answer(0.95, True, False, where=(row, "/b")) for row in range(100)]
    # Where the model's own value is returned, no-model extraction's is not counted at all.
    wrong_under_returned = [Answer(0.95, False, False, where=(row, "/a")) for row in range(20)]

    def returns(answer: Answer) -> bool:
        return answer.returned(0.99, 0.99)

    safe, summary = fit_fallback(answers, right + wrong_under_returned, returns)
    assert safe and summary["fallback_added"] == 100 and summary["fallback_added_wrong"] == 0
    wrong = [Answer(0.95, row % 10 == 0, False, where=(row, "/b")) for row in range(100)]
    assert not fit_fallback(answers, wrong, returns)[0]  # 90 of 200 returned wrong
    assert not fit_fallback(answers, [], returns)[0]  # nothing seen, nothing vouched for


def test_the_sure_tag_floor_rises_for_any_held_out_layout_wrong_above_it_and_never_falls() -> None:
    # Layout b's two wrong values at 0.9993 hide among a's right ones when pooled (2 of 300,
    # under 1 %), but are 4 % of b's own, which a layout 1 % wrong gives under a fifth of the
    # time: the floor rises above them. Agreeing values never set it.
    a, b = frozenset({"/a"}), frozenset({"/b"})
    answers = [Answer(0.99, True, False, 0.99999 - i * 1e-8, layout=a) for i in range(250)]
    answers += [Answer(0.99, True, False, 0.9999 - i * 1e-7, layout=b) for i in range(48)]
    answers += [Answer(0.98, False, False, 0.9993, layout=b) for _ in range(2)]
    answers += [Answer(0.98, False, True, 0.99999, layout=b)]  # read alike: the other floor
    sure_tag = fit_sure_tag(answers)
    assert 0.9993 < sure_tag <= 0.9999
    pooled = [Answer(x.score, x.correct, x.agrees, x.tag) for x in answers]
    assert fit_sure_tag(pooled) == 0.9993  # the same answers as one layout: let through
    min_score, _, summary = fit_threshold(answers, sure_tag)
    assert summary["returned_wrong"] <= 0.01 * summary["returned"] and summary["returned"] >= 298
    assert not Answer(0.99, True, False, 0.9993).returned(min_score, ABSTAIN, sure_tag)
    # One wrong value of b's 50 is what a layout 1 % wrong gives a third of the time: no proof.
    one_wrong = answers[:-2]
    assert fit_sure_tag(one_wrong) == 0.9993
    # Held-out layouts without a wrong value do not lower it: unseen ones may be unlike them.
    clean = [Answer(0.99, True, False, 0.9 - i * 1e-4, layout=a) for i in range(200)]
    assert fit_sure_tag(clean) == SURE_TAG


def test_values_ocr_read_under_the_legibility_floor_set_no_floor() -> None:
    # Extraction never returns a value with a word OCR read under LEGIBLE: its misreads
    # ("ionas" for "jonas", tagged surely) must not raise the floors of the legible values.
    legible = [Answer(0.9995, True, False, 0.9995 - i * 1e-7) for i in range(200)]
    misread = [Answer(0.5, False, False, 0.99999, legibility=LEGIBLE - 0.3) for _ in range(5)]
    sure_tag = fit_sure_tag(legible + misread)
    assert SURE_TAG <= sure_tag < 0.9995
    min_score, _, summary = fit_threshold(legible + misread, sure_tag)
    assert summary["returned"] == 200 and summary["returned_wrong"] == 0
    assert Answer(0.9995, True, False, 0.9995).returned(min_score, ABSTAIN, sure_tag)


def test_contested_values_set_no_floor() -> None:
    # Extraction never returns a value no-model extraction gives to another field (a swap of
    # look-alike fields): its errors must not raise the floors of the others.
    clear = [Answer(0.9995, True, False, 0.9995 - i * 1e-7) for i in range(200)]
    swapped = [Answer(0.9999, False, False, 0.99999, contested=True) for _ in range(5)]
    sure_tag = fit_sure_tag(clear + swapped)
    assert SURE_TAG <= sure_tag < 0.9995
    min_score, _, summary = fit_threshold(clear + swapped, sure_tag)
    assert summary["returned"] == 200 and summary["returned_wrong"] == 0


def test_values_that_look_like_another_fields_have_a_sure_tag_floor_of_their_own() -> None:
    # A claim and a policy number swapped at 0.99995 (values that look alike): pooled, the
    # floor rises above every value; fitted apart, it holds back the look-alike ones only.
    layout = frozenset({"/a"})
    distinct = [Answer(0.99, True, False, 0.9999 - i * 1e-6, layout=layout) for i in range(200)]
    alike = [
        Answer(0.99, True, False, 0.9999 - i * 1e-6, layout=layout, alike=True) for i in range(100)
    ]
    swapped = [Answer(0.99, False, False, 0.99995, layout=layout, alike=True) for _ in range(6)]
    answers = distinct + alike + swapped
    assert fit_sure_tag(answers) > 0.99995
    sure_tag, sure_alike = fit_sure_tag(distinct), fit_sure_tag(alike + swapped)
    assert sure_tag == distinct[-1].tag and sure_alike > 0.99995  # its lowest value held out
    min_score, _, summary = fit_threshold(answers, sure_tag, sure_alike)
    assert summary["returned"] == len(distinct) and summary["returned_wrong"] == 0
    assert distinct[0].returned(min_score, ABSTAIN, sure_tag, sure_alike)
    assert not alike[0].returned(min_score, ABSTAIN, sure_tag, sure_alike)


def test_values_under_their_keys_label_get_a_floor_where_held_out_ones_were_right() -> None:
    # Tagged under the sure-tag floor, but printed under a label the key's values had in
    # training: all right held out, they are returned down to the lowest such score.
    layout = frozenset({"/a"})
    sure = [Answer(0.99, True, False, 0.9995, layout=layout) for _ in range(200)]
    labelled = [
        Answer(0.9 - i * 1e-3, True, False, 0.9 - i * 1e-3, layout=layout, labelled=True)
        for i in range(100)
    ]
    floors = (0.95, ABSTAIN, SURE_TAG, None, LEGIBLE)
    floor = fit_label_score(sure + labelled, floors)
    assert floor == labelled[-1].score
    assert labelled[-1].returned(*floors, label_score=floor)
    assert not labelled[-1].returned(*floors)
    # A layout whose labelled values were often wrong: the floor rises above its wrong ones.
    other = frozenset({"/b"})
    wrong = [Answer(0.85, False, False, 0.85, layout=other, labelled=True) for _ in range(3)]
    assert fit_label_score(sure + labelled + wrong, floors) > 0.85
    assert fit_label_score(sure, floors) == ABSTAIN  # none held out: none vouched for


def test_contested_values_are_returned_only_where_held_out_ones_were_right() -> None:
    # Labels printed under their boxes: the pairing gives each value to the field below, the
    # model is right. Held-out contested values all right: they get a floor and are returned.
    clear = _answers(100, 0.999, True, False)
    under = [Answer(0.99 - i * 1e-4, True, False, contested=True) for i in range(60)]
    floor = fit_contest(clear + under, 0.5)
    assert 0.5 <= floor <= under[-1].score
    assert under[-1].returned(0.5, ABSTAIN, contest_score=floor)
    # Swapped look-alike dates: the contested values were the model's errors: none returned.
    swapped = under[:50] + [Answer(0.995, False, False, contested=True) for _ in range(5)]
    floor = fit_contest(clear + swapped, 0.5)
    assert floor > 0.995 and not swapped[0].returned(0.5, ABSTAIN, contest_score=floor)
    # None held out, none vouched for; never under the floor of the uncontested values.
    assert fit_contest(clear, 0.5) == ABSTAIN
    assert fit_contest(clear + under, 0.995) == 0.995


def test_a_key_held_out_too_often_wrong_needs_its_own_values_to_vouch_for_it() -> None:
    # A radio group read as a coin toss: 5 of its 20 held-out values wrong, pooled with 400
    # right ones (1.2 % wrong in all). A floor just above its last wrong value is no
    # evidence (the next pages' wrong values land above it): 20 values cannot vouch for 1 %,
    # so it is shut. A key with one slip in 20 keeps the common floor.
    names = [Answer(0.99, True, False, where=(row, "/name")) for row in range(200)]
    dates = [Answer(0.99, True, False, where=(row, "/date")) for row in range(199)]
    dates.append(Answer(0.995, False, False, where=(199, "/date")))
    radio = [
        Answer(0.9 + row * 1e-3, row % 4 != 0, False, where=(row, "/radio")) for row in range(20)
    ]
    answers = names + dates + radio
    floors = fit_key_floors(answers, lambda answer: answer.returned(0.5, ABSTAIN))
    assert floors == {"/radio": ABSTAIN}
    returned = [a for a in answers if a.returned(0.5, ABSTAIN, key_floors=floors)]
    assert sum(not a.correct for a in returned) == 1 and len(returned) == 400
    assert fit_key_floors(radio[1:4], lambda answer: True) == {}  # none wrong
    # Held out often enough (63 right values above its last wrong one, at 0.916), the key
    # keeps the values scoring above its wrong ones.
    many = [Answer(0.9 + row * 1e-3, row >= 20 or row % 4 != 0, False, where=(row, "/radio"))
            for row in range(80)]  # fmt: skip
    assert fit_key_floors(many, lambda answer: True) == {"/radio": 0.9 + 17e-3}


def test_values_wrong_only_as_their_own_words_read_are_no_model_error() -> None:
    # Layout b's two wrong values would raise the floor as the model's errors; OCR misread
    # the right words (`misread`): they are the reading's share of the budget, which the
    # training pages measured, and the model's floor stays where its own errors put it.
    a, b = frozenset({"/a"}), frozenset({"/b"})
    answers = [Answer(0.99, True, False, 0.99999 - i * 1e-8, layout=a) for i in range(250)]
    answers += [Answer(0.99, True, False, 0.9999 - i * 1e-7, layout=b) for i in range(48)]
    misread = [Answer(0.98, False, False, 0.9993, layout=b, misread=True) for _ in range(2)]
    reading = ReadingFloor(LEGIBLE, values=2000, misread=4)
    assert fit_sure_tag(answers + misread, reading) == 0.9993
    min_score, _, summary = fit_threshold(answers + misread, 0.9993, None, reading)
    assert summary["returned"] == 300 and summary["returned_misread"] == 2
    # The model's share is what the reading leaves: 0.8 % here, so 2 of 300 model errors
    # (0.67 %, 0.83 % with the pseudo-error) are too many.
    model_wrong = [Answer(0.98, False, False, 0.9993, layout=a) for _ in range(2)]
    assert fit_sure_tag(answers + model_wrong, reading) > 0.9993
