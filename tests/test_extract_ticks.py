"""Ticks and check boxes: which option a tick or a ticked box marks (extraction.ticks)."""

from __future__ import annotations

from types import SimpleNamespace

from docvlm.extraction import ticks
from docvlm.extraction.words import Segment, Word


def _segment(*texts: str, x: float = 10.0) -> Segment:
    """One segment of `texts` as words 10 points apart, each 8 points a character wide."""
    words = []
    for text in texts:
        words.append(Word(text, (x, 100, x + 8 * len(text), 110)))
        x += 8 * len(text) + 10
    return Segment(words, 1, 0)


def test_a_tick_opening_a_segment_is_cut_from_the_option_it_ticks() -> None:
    page = SimpleNamespace(cells=[])
    for texts, tick, option in [
        (("X", "FAIR"), "X", "FAIR"),
        (("X.", "Proposed"), "X.", "Proposed"),
        (("XYES",), "X", "YES"),  # glued to an option in capitals
    ]:
        parts = ticks.after_tick(page, _segment(*texts))
        assert parts is not None and (parts[0].text, parts[1].text) == (tick, option)
    assert ticks.after_tick(page, _segment("Xerox", "copy")) is None
    assert ticks.after_tick(page, _segment("X")) is None  # a tick alone ticks nothing in it


def test_a_tick_across_a_cells_border_from_the_option_is_the_previous_cells() -> None:
    segment = _segment("X", "No")  # the tick at x 10-18, "No" at x 28-44
    page = SimpleNamespace(cells=[(0, 90, 20, 120), (20, 90, 60, 120)])
    assert ticks.after_tick(page, segment) is None


def test_a_tick_read_as_a_word_and_one_glued_to_the_next_options_words() -> None:
    assert ticks.tick(_segment("XX")) and ticks.tick(_segment("x."))
    assert not ticks.tick(_segment("Xerox"))
    assert ticks.leads_with_tick(_segment("X", "No"))
    assert not ticks.leads_with_tick(_segment("X"))  # a tick alone leads nothing


def test_a_row_of_glyph_boxes_pairs_each_option_with_its_state_either_side() -> None:
    before = [_segment("☐"), _segment("Original"), _segment("☒"), _segment("Updated")]
    after = [_segment("Original"), _segment("☐"), _segment("Updated"), _segment("☒")]
    for line in (before, after):
        row = ticks.option_row(line)
        assert row is not None
        assert [(option.text, state) for option, state in row] == [
            ("Original", False),
            ("Updated", True),
        ]
    assert ticks.option_row([_segment("Original"), _segment("Updated")]) is None  # no box
    # The row ends at the next label: "Date:" leaves one option and its box.
    row = ticks.option_row([_segment("☒"), _segment("Yes"), _segment("Date:"), _segment("☐")])
    assert row is not None and [(o.text, s) for o, s in row] == [("Yes", True)]
