"""Ticks and check boxes on a form: which option a tick or a ticked box marks.

A tick is read as a word ("X", "XX", a check glyph) printed beside, before or glued to an
option; a box is a check-box glyph in the text or one drawn on the page (`words.drawn_checkbox`).
These read where the mark is and what it marks; `pairing` scores the labels and builds the
readings from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from docvlm.document import BBox
from docvlm.extraction import neighbours
from docvlm.extraction.cells import cell_of
from docvlm.extraction.schema import FieldSpec
from docvlm.extraction.values import CHECKED_GLYPHS, UNCHECKED_GLYPHS, parse_boolean, parse_value
from docvlm.extraction.words import PageWords, Segment, drawn_checkbox, word_parts
from docvlm.geometry import union

_GLUED_TICK = re.compile(r"[.,]?[xX](?=[A-Z]{2})")  # "XFAIR", ".XOTHER*": a tick, then a label
TICK_GAP = 2.0  # label heights between a tick and the option it is printed before
TICK_NEARER = 1.5  # how many times further from what is printed before it the tick must be


def after_tick(page: PageWords, segment: Segment) -> tuple[Segment, Segment] | None:
    """The tick opening `segment` and the words after it ("X FAIR", "X. Proposed", "XYES": a
    box ticked before its option, read with it). A tick across a drawn cell's border from
    them ("Yes | X | No" read "X No") is the previous cell's answer: None."""
    parts = _tick_parts(segment)
    if parts is None:
        return None
    tick, words = parts
    return parts if cell_of(page.cells, tick.bbox) == cell_of(page.cells, words.bbox) else None


def _tick_parts(segment: Segment) -> tuple[Segment, Segment] | None:
    """`segment` as a tick and the words after it: a first word that is a tick, or that opens
    with a capital X glued to a word in capitals ("XFAIR")."""
    first, *others = segment.words
    if _tick_word(first.text) and others:
        return Segment([first], segment.page, segment.line), Segment(
            others, segment.page, segment.line
        )
    glued = _GLUED_TICK.match(first.text)
    if glued is None:
        return None
    cut = glued.end()
    tick, rest = word_parts(first, [(0, cut), (cut, len(first.text))])
    return Segment([tick], segment.page, segment.line), Segment(
        [rest, *others], segment.page, segment.line
    )


def tick_before(page: PageWords, printed: Segment) -> Segment | None:
    """A tick printed apart just before `printed` on its line ("XX | REJECTED", "X | OTHER"),
    in its cell, and clearly nearer to it than to what is printed before the tick (in "Yes x
    | No" the tick is "Yes"'s)."""
    band = neighbours.band(page, printed)
    left = sorted((s for s in band if s.bbox[2] <= printed.bbox[0] + 1), key=lambda s: s.bbox[2])
    if not left or left[-1].widget or not _tick_word(left[-1].text.strip()):
        return None
    tick = left[-1]
    gap = printed.bbox[0] - tick.bbox[2]
    if gap > TICK_GAP * printed.height:
        return None
    if len(left) > 1 and tick.bbox[0] - left[-2].bbox[2] <= TICK_NEARER * gap:
        return None
    return tick if cell_of(page.cells, tick.bbox) == cell_of(page.cells, printed.bbox) else None


def ticks_next(page: PageWords, tick: Segment, right: list[Segment]) -> bool:
    """Whether `tick`, right of a label, is the tick printed before the next option instead
    (see `tick_before`: "AREA REGION X OTHER" ticks "OTHER")."""
    after = [s for s in right if s.line == tick.line and s.bbox[0] >= tick.bbox[2] - 1]
    return bool(after) and tick_before(page, min(after, key=lambda s: s.bbox[0])) is tick


def own_tick(page: PageWords, label: Segment, right: list[Segment]) -> Segment | None:
    """The tick in the column of the first one right of `label` that is the label's row's,
    the nearest such; None where each belongs to another row."""
    column = right[0]
    ticks = [
        s
        for s in right
        if tick(s)
        and s.bbox[0] < column.bbox[2]
        and column.bbox[0] < s.bbox[2]
        and neighbours.marks_row(page, label, s)
    ]
    return min(ticks, key=lambda s: neighbours.rows_apart(s, label), default=None)


def _tick_word(text: str) -> bool:
    """A tick read as a word: a check glyph, or one or two x's ("X.", "XX")."""
    return text in CHECKED_GLYPHS or text.rstrip(".").lower() in ("x", "xx")


def tick(segment: Segment) -> bool:
    """A tick printed after a label ("New Product  X  Discontinue Product"): the label's
    answer, and the text past it the next option's."""
    return bool(segment.checkbox) or _tick_word(segment.text.strip())


def leads_with_tick(segment: Segment) -> bool:
    """A tick glued to the words after it ("X No", "X APPROVE IN ITS ENTIRETY"): those words
    are the next option's, the tick is the answer."""
    return not segment.widget and len(segment.words) > 1 and _tick_word(segment.words[0].text)


def box(segment: Segment) -> bool:
    """A check box printed as a glyph, alone or leading its option's words."""
    return segment.checkbox is not None or segment.text.strip() in CHECKED_GLYPHS | UNCHECKED_GLYPHS


def option_row(line: list[Segment]) -> list[tuple[Segment, bool]] | None:
    """Options printed each beside a check-box glyph ("☐ Original ☒ Updated", or the glyphs
    after their options: "Original ☐ Updated ☒"), with whether each is ticked; None where
    the segments after the label are not such a row up to the next label."""
    tokens: list[Segment | bool] = []  # an option's words, or a box's state
    for segment in line:
        if segment.widget or segment.text.endswith(":"):
            break
        glyph = segment.text.strip()
        if segment.checkbox is None and glyph in CHECKED_GLYPHS | UNCHECKED_GLYPHS:
            tokens.append(glyph in CHECKED_GLYPHS)
            continue
        if segment.checkbox is not None:
            tokens.append(segment.checkbox)
        tokens.append(segment)
    if len(tokens) < 2 or len(tokens) % 2 or not any(isinstance(t, bool) for t in tokens):
        return None
    start = 1 if isinstance(tokens[0], bool) else 0
    pairs = [(tokens[i], tokens[i + 1 - 2 * start]) for i in range(start, len(tokens), 2)]
    row = [(o, s) for o, s in pairs if isinstance(o, Segment) and isinstance(s, bool)]
    return row if len(row) == len(pairs) else None


def ticked_options(
    page: PageWords, spec: FieldSpec, right: list[Segment]
) -> Iterator[tuple[Segment, BBox]]:
    """The segments right of a label whose check box is ticked, in order, each with its box;
    the side the boxes sit on is found from the options that are values of `spec`."""
    side = _box_side(page, [s for s in right if parse_value(s.text, spec) is not None])
    for segment in right:
        ticked = _ticked_box(page, segment, side)
        if ticked is not None:
            yield segment, ticked


def boolean_answer(
    page: PageWords, label: Segment, right: list[Segment], printed: Segment
) -> tuple[bool, BBox, list[Segment]] | None:
    """A yes/no label's answer: its own box, boxes ticked beside printed options, a "Yes" or
    "No" (or box) right of it, else a box drawn beside it; with where it was read and the
    segments it was read from (none for a box)."""
    state = label.checkbox
    values: list[Segment] = []
    boxed = _boxed_answer(page, right) if state is None else None
    if boxed is not None:
        state, values = boxed
        if state is None:
            return None
    elif state is None and right:
        state = right[0].checkbox if right[0].checkbox is not None else parse_boolean(right[0].text)
        values = [right[0]] if state is not None else []
    bbox = union([s.bbox for s in values]) if values else label.bbox
    if state is None:
        drawn = _nearest_box(page, label, printed)
        if drawn is None:
            return None
        state, drawn_box = drawn
        bbox = union([drawn_box, label.bbox])
    return state, bbox, values


def _nearest_box(page: PageWords, label: Segment, printed: Segment) -> tuple[bool, BBox] | None:
    """A yes/no label's drawn box: the one just before the label ("☒ Smoker") or just after
    the words printed with it ("Consent given ☐"), whichever is nearer the text."""
    before = drawn_checkbox(page, label.bbox)
    after = drawn_checkbox(page, printed.bbox, "right")
    if before is None or after is None:
        return before or after
    gap_before = label.bbox[0] - before[1][2]
    gap_after = after[1][0] - printed.bbox[2]
    return before if gap_before <= gap_after else after


def _boxed_answer(
    page: PageWords, right: list[Segment]
) -> tuple[bool | None, list[Segment]] | None:
    """A yes/no answer ticked in boxes drawn beside printed options ("☐ Yes ☒ No"): the
    ticked option's meaning and segment, (None, []) where not exactly one box is ticked, and
    None where the options have no boxes (then a printed "Yes" is the answer itself)."""
    options = []
    for segment in right[:2]:
        if segment.checkbox is not None or parse_boolean(segment.text) is None:
            break
        options.append(segment)
    side = _box_side(page, options)
    boxes = [drawn_checkbox(page, option.bbox, side) for option in options]
    if all(drawn is None for drawn in boxes):
        return None
    ticked = [o for o, drawn in zip(options, boxes, strict=True) if drawn is not None and drawn[0]]
    if len(ticked) != 1:
        return None, []
    return parse_boolean(ticked[0].text), ticked


def _ticked_box(page: PageWords, segment: Segment, side: str = "left") -> BBox | None:
    """The box of a ticked checkbox that belongs to `segment` (a glyph in it, or drawn on
    `side`)."""
    if segment.checkbox is not None:
        return segment.bbox if segment.checkbox else None
    drawn = drawn_checkbox(page, segment.bbox, side)
    return drawn[1] if drawn is not None and drawn[0] else None


def _box_side(page: PageWords, options: list[Segment]) -> str:
    """Which side of its option a row's drawn boxes sit: "right" where the first option has
    no box before it and the last one has a box after it ("Single ☒ Married ☐"), since
    a box between two options would otherwise be read as the next one's."""
    if not options or options[0].checkbox is not None:
        return "left"
    after = drawn_checkbox(page, options[0].bbox) is None and drawn_checkbox(
        page, options[-1].bbox, "right"
    )
    return "right" if after else "left"
