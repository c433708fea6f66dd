"""Comb fields: a value printed one character per box ("2 5 / 0 5 / 1 9 9 2" for an SSN, a
date, a postcode) reads as one word per character, on the text layer of a flattened form and
in OCR alike. A run of single characters on one line whose centres sit on an even grid far
wider than the characters is joined back into words; an empty box (two pitches) is a space."""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import TYPE_CHECKING

from docvlm.engines.ocr_layout import is_cjk
from docvlm.geometry import union

if TYPE_CHECKING:
    from docvlm.extraction.words import Word

# A comb's characters: letters, digits and the separators inside dates and amounts; a printed
# arrow or check box glyph beside the boxes is not part of the value, and a comb of mostly
# separators is a dot leader ("3 . . . . ."). Single CJK characters are whole words.
_COMB_PUNCTUATION = frozenset("/-.,'")
# Measured on real combs (IRS 1040 / W-9 and the Luxembourg 160F flattened, the 160F's OCR at
# 200 dpi): the pitch is 2.2-3.3 glyph widths (a word space in running text 1.3-1.6, a
# letter-spaced heading ~1.3) and 0.9-1.8 glyph heights (separate table columns: more).
MIN_PITCH_WIDTHS = 2.0
MAX_PITCH_HEIGHTS = 2.5
GRID_TOLERANCE = 0.2  # of the pitch: OCR boxes sit a few pixels off the glyph's centre
MIN_COMB_CHARACTERS = 3  # two characters cannot show an even pitch


def combs_joined(words: list[Word]) -> list[Word]:
    """`words` with each comb's characters replaced by the comb's words (see the module);
    every other word kept as it is, in its place."""
    replaced: dict[int, list[Word]] = {}
    for row in _rows(words):
        for run in _single_character_runs(words, row):
            for pitch, comb in _combs(words, run):
                replaced |= dict.fromkeys((i for group in comb for i in group), [])
                replaced[comb[0][0]] = _joined(words, comb, pitch)
    return [new for index, word in enumerate(words) for new in replaced.get(index, [word])]


def _rows(words: list[Word]) -> list[list[int]]:
    """Indices of the words on each visual line (centre inside the line's first word), left
    to right."""
    order = sorted(range(len(words)), key=lambda i: (words[i].bbox[1] + words[i].bbox[3]) / 2)
    rows: list[list[int]] = []
    for index in order:
        _, y0, _, y1 = words[index].bbox
        if rows:
            first = words[rows[-1][0]].bbox
            if first[1] <= (y0 + y1) / 2 <= first[3]:
                rows[-1].append(index)
                continue
        rows.append([index])
    return [sorted(row, key=lambda i: words[i].bbox[0]) for row in rows]


def _single_character_runs(words: list[Word], row: list[int]) -> list[list[int]]:
    runs: list[list[int]] = [[]]
    for index in row:
        text = words[index].text
        if len(text) == 1 and (_letter_or_digit(text) or text in _COMB_PUNCTUATION):
            runs[-1].append(index)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if len(run) >= MIN_COMB_CHARACTERS]


def _letter_or_digit(character: str) -> bool:
    return character.isalnum() and not is_cjk(character)


def _centre(word: Word) -> float:
    return (word.bbox[0] + word.bbox[2]) / 2


def _combs(words: list[Word], run: list[int]) -> list[tuple[float, list[list[int]]]]:
    """(pitch, words) of each comb in a run of single characters, a word being the indices of
    its characters. A character off the grid, or after two empty boxes or more, starts a new
    comb."""
    centres = [_centre(words[i]) for i in run]
    pitch = _pitch([b - a for a, b in zip(centres, centres[1:], strict=False)])
    width = statistics.median(words[i].bbox[2] - words[i].bbox[0] for i in run)
    height = max(words[i].bbox[3] - words[i].bbox[1] for i in run)
    if not MIN_PITCH_WIDTHS * width <= pitch <= MAX_PITCH_HEIGHTS * height:
        return []
    combs: list[list[list[int]]] = []
    start, last_step = centres[0], 0
    for index, centre in zip(run, centres, strict=True):
        step = round((centre - start) / pitch)
        on_grid = abs(centre - start - step * pitch) <= GRID_TOLERANCE * pitch
        if combs and on_grid and step == last_step + 1:
            combs[-1][-1].append(index)
        elif combs and on_grid and step == last_step + 2:
            combs[-1].append([index])
        else:
            combs.append([[index]])
            start, step = centre, 0
        last_step = step
    return [(pitch, comb) for comb in combs if _mostly_letters(words, comb)]


def _mostly_letters(words: list[Word], comb: list[list[int]]) -> bool:
    characters = [words[i].text for group in comb for i in group]
    letters = sum(_letter_or_digit(c) for c in characters)
    return len(characters) >= MIN_COMB_CHARACTERS and 2 * letters > len(characters)


def _pitch(steps: list[float]) -> float:
    """The grid's pitch from the distances between neighbouring centres: their median is
    pulled off by empty boxes and jitter, so the distances of one or two boxes are summed
    over the boxes they span."""
    guess = statistics.median(steps)
    spanned = [(step, n) for step in steps if (n := round(step / guess)) in (1, 2)]
    return sum(step for step, _ in spanned) / sum(n for _, n in spanned)


def _joined(words: list[Word], comb: list[list[int]], pitch: float) -> list[Word]:
    """One word per group of filled boxes. Its box spans its cells, not just its glyphs, so
    the gap to the comb's next word is one box and the comb stays one segment; its confidence
    is its characters' mean, as a value's reading fit weighs words by their characters."""
    out = []
    for group in comb:
        parts = [words[i] for i in group]
        _, y0, _, y1 = union([p.bbox for p in parts])
        box = (_centre(parts[0]) - pitch / 2, y0, _centre(parts[-1]) + pitch / 2, y1)
        text = "".join(p.text for p in parts)
        out.append(
            replace(
                parts[0],
                text=text,
                bbox=box,
                confidence=statistics.fmean(p.confidence for p in parts),
            )
        )
    return out
