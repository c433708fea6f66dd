"""The labels a form model learns for its keys, and a value read under one of them."""

from docvlm.anchors import CHECKED, UNCHECKED, AnchorWord
from docvlm.forms.labels import label_phrases, labelled, learn_labels


def _page(rows: list[list[tuple[float, str]]]) -> list[AnchorWord]:
    """Words at (x, text) on lines 20 pt apart; a gap over 30 pt starts a segment."""
    words, segment = [], -1
    for line, row in enumerate(rows):
        right = None
        for x, text in row:
            if right is None or x - right > 30:
                segment += 1
            box = (x, 100.0 + 20 * line, x + 6.0 * len(text), 110.0 + 20 * line)
            words.append(AnchorWord(text, box, (0, 0, 0, 0), line, segment))
            right = box[2]
    return words


def _index(words: list[AnchorWord], text: str) -> list[int]:
    return [i for i, w in enumerate(words) if w.text == text]


# Two dates that look alike, one form beside its labels, one under them.
BESIDE = [
    [(50, "Date"), (80, "of"), (95, "Loss:"), (200, "2004-07-30"),
     (330, "Date"), (360, "Signed:"), (450, "1998-03-21")],
    [(50, "Status:"), (200, "Single"), (240, UNCHECKED), (265, "Married"), (312, CHECKED)],
]  # fmt: skip
BELOW = [
    [(50, "Signed"), (90, "on"), (330, "Date"), (360, "of"), (375, "Loss")],
    [(50, "1987-12-09"), (330, "1954-07-18")],
]


def test_the_label_of_a_value_is_the_text_before_it_on_its_line_else_above_it():
    beside, below = _page(BESIDE), _page(BELOW)
    assert label_phrases(beside, _index(beside, "1998-03-21")) == ["date signed"]
    assert label_phrases(beside, _index(beside, "Married")) == ["single"]
    # Under its label: the value left of it on the line is unknown text, the label is above.
    assert label_phrases(below, _index(below, "1954-07-18")) == ["1987 12 09", "date of loss"]


def test_labels_learned_from_training_pages_tell_swapped_look_alike_values_apart():
    beside, below = _page(BESIDE), _page(BELOW)
    loss, signed = _index(beside, "2004-07-30"), _index(beside, "1998-03-21")
    pages = [(beside, [("/date_of_loss", loss), ("/signature_date", signed)])] * 2
    labels = learn_labels(pages)
    assert labels == {"date of loss": "/date_of_loss", "date signed": "/signature_date"}
    assert labelled(beside, loss, "/date_of_loss", labels)
    assert not labelled(beside, loss, "/signature_date", labels)  # the model's swap
    # A wording seen once is no label yet; a page that prints no learned label vouches nothing.
    assert not labelled(below, _index(below, "1987-12-09"), "/signature_date", labels)


def test_a_phrase_that_labels_two_keys_names_neither():
    page = _page(BESIDE)
    loss, signed = _index(page, "2004-07-30"), _index(page, "1998-03-21")
    confused = [(page, [("/date_of_loss", loss)]), (page, [("/signature_date", loss)])] * 2
    assert learn_labels(confused + [(page, [("/signature_date", signed)])] * 2) == {
        "date signed": "/signature_date"
    }
