"""Where a label's value can be printed, by geometry alone: right of it on the same band, the
block under it, and the lines that continue a value.

Bands, not line indices: a typed or handwritten answer sits a few points above or below its
printed label, so grouping words into lines can put the two on different lines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from docvlm.document import BBox
from docvlm.extraction.cells import cell_of
from docvlm.extraction.words import PageWords, Segment

BAND_SLACK = 0.3  # label heights a value's centre may sit above or below the label's box
RAISED_OVERLAP = 0.25  # label heights a value raised over its label still reaches into its box
RULE_GAP = 0.5  # label heights between a label printed under a rule and the answer typed on it
CLEAR_ABOVE = 0.5  # label heights clear of print over an answer typed on a label's rule
BELOW_LINES = 2.5  # label heights between a label and the value under it
DIAGONAL = 4.0  # label heights past a label's end an answer below it may start
CONTINUED_GAP = 0.9  # line heights between a value's line and the one continuing it
ALIGN = 1.2  # line heights a continued line's start may sit from the value's start
MAX_CONTINUED_LINES = 10
SPACED_GAP = 2.0  # line heights between a value's last line and a spaced-out line after it
LINE_SLACK = 0.5  # line heights the segments of one printed line may start apart vertically
SENTENCE_WORDS = 4  # words with letters on a line that wraps like running text
WORD_GAP = 2.0  # line heights between two segments of one line of a value
STACK_GAP = 0.5  # character heights between two characters printed one under another
NEXT_LINE = 0.4  # line heights the next line's centre sits at least under the line above's
ITEM_MARKER = re.compile(r"\(?[a-h1-9]\)|[a-h1-9][.)]")  # a list's "a)", "(b)", "1."
SPACE = 0.3  # line heights of a space between words


def page_segments(page: PageWords) -> list[Segment]:
    return [segment for line in page.lines for segment in line]


def band(page: PageWords, label: Segment) -> list[Segment]:
    """Segments other than `label` whose centre lies in its band, left to right."""
    return sorted(band_of(page_segments(page), label), key=lambda s: s.bbox[0])


def band_of(segments: list[Segment], label: Segment) -> list[Segment]:
    """Those of `segments` other than `label` whose centre lies in its band."""
    _, y0, _, y1 = label.bbox
    slack = BAND_SLACK * label.height
    return [s for s in segments if s is not label and y0 - slack <= _centre(s) <= y1 + slack]


def right_of(page: PageWords, label: Segment) -> list[Segment]:
    """Segments right of `label` whose centre lies in its band, or that sit raised over its
    line (see `raised`), left to right; of two stacked one over the other, the one nearer
    the label's line first (the next line's start reaching into a tall band is no nearer)."""
    segments = page_segments(page)
    beside = band_of(segments, label) + [s for s in segments if raised(s, label)]
    ordered = sorted((s for s in beside if s.bbox[0] >= label.bbox[2] - 1), key=lambda s: s.bbox[0])
    for i in range(len(ordered) - 1):
        first, second = ordered[i], ordered[i + 1]
        if _stacked(first, second) and _off_line(second, label) < _off_line(first, label):
            ordered[i], ordered[i + 1] = second, first
    return ordered


def _stacked(first: Segment, second: Segment) -> bool:
    """Whether one segment sits over the other; two of one printed line are side by side
    however their ends overlap (a typed value's last word over a printed label's first)."""
    overlap = min(first.bbox[2], second.bbox[2]) > max(first.bbox[0], second.bbox[0])
    return overlap and first.line != second.line


def _off_line(segment: Segment, label: Segment) -> float:
    return abs(_centre(segment) - _centre(label))


def raised(segment: Segment, label: Segment) -> bool:
    """Whether `segment` sits above `label`'s band yet still reaches down into the label's
    box: a typed answer on the rule a small printed label sits under ("STRAIN OF MICE:" with
    "Swiss-Webster" typed higher), not the row above, which clears the label's box, nor
    text printed down the margin, taller than a line."""
    y0 = label.bbox[1]
    return (
        _centre(segment) < y0 - BAND_SLACK * label.height
        and segment.bbox[3] - y0 >= RAISED_OVERLAP * label.height
        and segment.height <= 2 * label.height
    )


def on_rule_above(page: PageWords, label: Segment) -> Segment | None:
    """The answer typed on the rule `label` is printed under ("BBDO Inc." typed just above
    "Agency:", its bottom at the label's top; "527.6" over "PLANT AVERAGE"): the nearest
    segment starting over the label or past its end, above its band yet no further than a
    small gap, and laid out as no other row's text is (see `_alone_on_rule`)."""
    # A label printed over several lines has its first lines above: its own row, not a rule.
    segments = [s for s in page_segments(page) if s is not label] + list(label.lead)
    x1, y0 = label.bbox[2], label.bbox[1]
    above = [
        s
        for s in segments
        if label.bbox[0] - 1 <= s.bbox[0] <= x1 + DIAGONAL * label.height
        and _centre(s) < y0 - BAND_SLACK * label.height
        and y0 - s.bbox[3] <= RULE_GAP * label.height
        and s.height <= 2 * label.height
        and _alone_on_rule(segments, s, label)
    ]
    return min(above, key=lambda s: s.bbox[0], default=None)


def _alone_on_rule(segments: list[Segment], answer: Segment, label: Segment) -> bool:
    """Whether `answer` stands alone over `label`'s row: nothing printed left of it on its
    own band reaches past the label's start (the row above's own label), nothing sits just
    over it or the label (a line it would continue, a label it would answer from below),
    and nothing of the label's band sits under it (the upper line of a two-line heading)."""
    x0 = label.bbox[0]
    x1 = answer.bbox[2]
    top = answer.bbox[1] - CLEAR_ABOVE * label.height
    band = band_of(segments, label)
    return not (
        _row_has_left(segments, answer, x0)
        or any(
            s.bbox[0] < x1 and x0 < s.bbox[2] and s.bbox[3] > top and _centre(s) < answer.bbox[1]
            for s in segments
        )
        or any(s.bbox[0] < x1 and answer.bbox[0] < s.bbox[2] for s in band)
    )


def marks_row(page: PageWords, label: Segment, mark: Segment) -> bool:
    """Whether `mark` (a tick in a checklist's tick column) is `label`'s: no other option
    printed left of it in the label's column has its line's centre nearer the mark's. A
    tick a little off its row reaches into the band of the row above or below too."""
    x0, _, x1, _ = label.bbox
    distance = rows_apart(mark, label)
    return not any(
        s is not label
        and s.bbox[2] <= mark.bbox[0] + 1
        and s.bbox[0] < x1
        and x0 < s.bbox[2]
        and rows_apart(mark, s) < distance
        for s in page_segments(page)
    )


def rows_apart(segment: Segment, other: Segment) -> float:
    """How far apart the two segments' lines are: the distance between their centres."""
    return abs(_centre(segment) - _centre(other))


def under_span(page: PageWords, segment: Segment) -> list[Segment]:
    """Segments whose centre lies below `segment` and that overlap its span across."""
    x0, _, x1, y1 = segment.bbox
    return [s for s in page_segments(page) if _centre(s) > y1 and s.bbox[0] < x1 and x0 < s.bbox[2]]


def stacked(page: PageWords, segment: Segment) -> bool:
    """Whether a segment of at most two characters touches `segment` from above or below in
    its column: text printed vertically, one character a line."""
    x0, y0, x1, y1 = segment.bbox
    touch = STACK_GAP * segment.height
    return any(
        s is not segment
        and len(s.text.strip()) <= 2
        and s.bbox[0] < x1
        and x0 < s.bbox[2]
        and (abs(s.bbox[1] - y1) <= touch or abs(y0 - s.bbox[3]) <= touch)
        for s in page_segments(page)
    )


def below(page: PageWords, label: Segment, reach: float = BELOW_LINES) -> Segment | None:
    """The nearest segment under `label` that overlaps it horizontally, or starts just past
    its end with nothing left of it (an answer typed down and to the right), and is not
    further below than `reach` label heights."""
    x0, _, x1, y1 = label.bbox
    segments = page_segments(page)
    under = [
        s
        for s in segments
        if s.bbox[1] >= y1 - 0.3 * label.height
        and x0 < s.bbox[2]
        and (
            s.bbox[0] < x1
            or (s.bbox[0] <= x1 + DIAGONAL * label.height and not _row_has_left(segments, s, x0))
        )
    ]
    if not under:
        return None
    nearest = min(under, key=lambda s: s.bbox[1])
    return nearest if nearest.bbox[1] - y1 <= reach * label.height else None


def above(page: PageWords, label: Segment) -> Segment | None:
    """The nearest segment over `label` that overlaps it horizontally and starts near its
    start (what is typed on the rule a caption is printed under), and is not far above."""
    x0, y0, x1, _ = label.bbox
    over = [
        s
        for s in page_segments(page)
        if s.bbox[3] <= y0 + 0.3 * label.height
        and x0 < s.bbox[2]
        and s.bbox[0] < x1
        and abs(s.bbox[0] - x0) <= ALIGN * label.height
    ]
    if not over:
        return None
    nearest = max(over, key=lambda s: s.bbox[3])
    return nearest if y0 - nearest.bbox[3] <= BELOW_LINES * label.height else None


def headed_cell(page: PageWords, label: Segment, value: Segment) -> BBox | None:
    """The drawn cell `label` heads, when `value` lies in it too: nothing in the cell is
    printed above the label. Such a cell holds the label's answer, and the answer ends at its
    border."""
    cell = cell_of(page.cells, label.bbox)
    if cell is None or cell_of([cell], value.bbox) is None:
        return None
    top = label.bbox[1] - BAND_SLACK * label.height
    inside = (s for s in page_segments(page) if s is not label and cell_of([cell], s.bbox))
    return None if any(_centre(s) < top for s in inside) else cell


def continuation(
    page: PageWords, value: Segment, row_start: float, stops: Callable[[Segment], bool]
) -> list[Segment]:
    """The lines continuing `value` (a wrapped address, a paragraph answer): each is the
    leftmost segment of the next line down that overlaps the value's column, starts where the
    value starts (or, a sentence wrapped, at the row's left margin), follows without a gap, is
    not a stop (a label, a widget, a check box) and has nothing printed left of it reaching
    past `row_start`: there, the next row's own label (or answer) would be."""
    lines: list[Segment] = []
    segments = page_segments(page)
    left, right = value.bbox[0], value.bbox[2]
    previous = value
    while len(lines) < MAX_CONTINUED_LINES:
        step = _next_line(segments, value, previous, (left, right), row_start, stops)
        if step is None or step[0].bbox[1] - previous.bbox[3] > CONTINUED_GAP * value.height:
            break
        line = [step[0], *_rest_of_line(segments, step[0], right, stops)]
        lines.extend(line)
        previous = Segment([w for s in line for w in s.words], step[0].page, step[0].line)
        left, right = step[1], max(right, line[-1].bbox[2])
    return lines


def rest_of_line(
    page: PageWords, first: Segment, stops: Callable[[Segment], bool]
) -> list[Segment]:
    """The segments after `first` on its line up to a stop or a column's gap."""
    return _rest_of_line(page_segments(page), first, math.inf, stops)


def _rest_of_line(
    segments: list[Segment], first: Segment, right: float, stops: Callable[[Segment], bool]
) -> list[Segment]:
    """The segments after `first` on its line that start inside the value's column (ending
    at `right`), up to a stop or a column's gap: OCR splits a line into segments at gaps
    narrower than a column's."""
    after = sorted(
        (s for s in band_of(segments, first) if s.bbox[0] >= first.bbox[2] - 1),
        key=lambda s: s.bbox[0],
    )
    rest: list[Segment] = []
    end = first.bbox[2]
    for segment in after:
        if segment.bbox[0] < end - 1:
            continue  # it starts under what is taken: a skewed neighbouring line's, in this band
        far = segment.bbox[0] - end > WORD_GAP * first.height  # the next column's text
        if far or segment.bbox[0] >= right or stops(segment):
            break
        rest.append(segment)
        end = segment.bbox[2]
    return rest


def runs_past(
    page: PageWords, value: list[Segment], row_start: float, stops: Callable[[Segment], bool]
) -> bool:
    """Whether a line that could continue the value's lines follows them after a wider gap
    than a wrapped line's (a list spaced out, a second paragraph): then where the value ends
    is a guess."""
    left = min(s.bbox[0] for s in value)
    right = max(s.bbox[2] for s in value)
    step = _next_line(page_segments(page), value[0], value[-1], (left, right), row_start, stops)
    return step is not None and step[0].bbox[1] - value[-1].bbox[3] <= (
        SPACED_GAP * value[0].height
    )


def _hangs(previous: Segment, nearest: Segment) -> bool:
    """Whether `nearest` starts under the words after the list's item marker opening the
    line above ("b) R&D should advise ... | met."): an item's lines hang from its marker."""
    words = previous.words
    return (
        len(words) > 1
        and ITEM_MARKER.fullmatch(words[0].text) is not None
        and abs(nearest.bbox[0] - words[1].bbox[0]) <= ALIGN * previous.height
    )


def _next_line(
    segments: list[Segment],
    value: Segment,
    previous: Segment,
    column: tuple[float, float],
    row_start: float,
    stops: Callable[[Segment], bool],
) -> tuple[Segment, float] | None:
    """The leftmost segment of the line under `previous` that may continue `value`, with the
    left edge further lines align to; None where that line does not continue it."""
    left, right = column
    # By centres, not by box edges: OCR boxes can be taller than the line pitch, so a
    # line's box can reach well into the next line's.
    below = _centre(previous) + NEXT_LINE * previous.height
    under = [
        s
        for s in segments
        if _centre(s) >= below and s is not previous and s.bbox[0] < right and left < s.bbox[2]
    ]
    if not under:
        return None
    # The next line's leftmost segment: a line's words can start a little apart vertically.
    first_top = min(s.bbox[1] for s in under)
    nearest = min(
        (s for s in under if s.bbox[1] - first_top <= LINE_SLACK * value.height),
        key=lambda s: s.bbox[0],
    )
    aligned = abs(nearest.bbox[0] - left) <= ALIGN * value.height or _hangs(previous, nearest)
    # Back at the margin, a paragraph's lines go on only while each line above is full.
    wrapped = abs(left - value.bbox[0]) > ALIGN * value.height
    if wrapped or not aligned:
        margin = max(s.bbox[2] for s in segments)
        aligned = _wraps_to_margin(previous, nearest, row_start, value.height, margin)
        left = nearest.bbox[0] if aligned else left
    if (
        not aligned
        or stops(nearest)
        or _row_has_left(segments, nearest, row_start, previous.bbox[3])
    ):
        return None
    return nearest, left


def _centre(segment: Segment) -> float:
    return (segment.bbox[1] + segment.bbox[3]) / 2


def _wraps_to_margin(
    previous: Segment, segment: Segment, row_start: float, height: float, margin: float
) -> bool:
    """A sentence wrapped back to the row's left margin, under the label ("Comments: Please
    contact the | suggester..."): the line above is a sentence's words, and this one starts
    where the row starts, and either in lower case, where the next row's own label would
    start with a capital, or with a word that would not have fitted at the end of the line
    above, before the page's right `margin` (why a line wraps: a row's label would have
    had room to be printed up there)."""
    words = sum(any(c.isalpha() for c in w.text) for w in previous.words)
    if words < SENTENCE_WORDS or abs(segment.bbox[0] - row_start) > ALIGN * height:
        return False
    first = segment.words[0].bbox
    no_room = previous.bbox[2] + SPACE * height + (first[2] - first[0]) > margin
    return segment.text[:1].islower() or no_room


def _row_has_left(
    segments: list[Segment], segment: Segment, row_start: float, below: float = -math.inf
) -> bool:
    """Whether something is printed left of `segment` on its band, reaching past
    `row_start`, with its centre under `below` (the label of the line above, read a little
    low, is not this row's)."""
    x0, y0, _, y1 = segment.bbox
    slack = BAND_SLACK * segment.height
    return any(
        s.bbox[2] <= x0 + 1
        and s.bbox[2] > row_start
        and y0 - slack <= (s.bbox[1] + s.bbox[3]) / 2 <= y1 + slack
        and (s.bbox[1] + s.bbox[3]) / 2 > below
        for s in segments
    )
