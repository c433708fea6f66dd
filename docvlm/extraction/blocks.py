"""Free-text answers that go on past their first line: where a block answer's next lines start.

`neighbours.continuation` reads on from the value's own left edge (or, for a sentence, back
at the row's margin). An answer typed beside its label may also go on back under the label,
its next lines starting at the label's left edge ("Attn: Mr. Steven Katz | Route 4 ... |
North Brunswick, NJ"): an address, a list of names. Those lines are the answer's when they
follow at the line spacing, carry no label of their own and sit as a wrapped answer's lines
do (`may_go_on`); where they sit so but read as a label, the value is doubted instead. A
line indented under the value, inside its span and in its size of type, goes on with it too
(`indented_under`).
"""

from __future__ import annotations

from collections.abc import Callable

from docvlm.extraction import neighbours
from docvlm.extraction.words import PageWords, Segment

WRAP_SLACK = 5.0  # line heights, about a word: how much further a wrapped line may reach
SIZE_SLACK = 0.2  # how far the heights of one size of type may differ, as a fraction
OUTDENT = 3.0  # line heights left of the value its next line may start (see `_outdented`)


def wrapped_back(
    page: PageWords,
    value: Segment,
    row_start: float,
    ends: Callable[[Segment], bool],
    labelled: Callable[[Segment], bool],
    glossed: bool = False,
) -> list[Segment]:
    """The lines continuing `value`, typed right of its label, back at the row's left edge
    `row_start` (the label's): the first starts there (or a little left of the value: see
    `_outdented`) just under the value, is not a stop and names no label of its own, and
    nothing printed left of it reaches past the row's start. Further lines follow it as
    `neighbours.continuation` reads them. `glossed`: the value is the label's gloss."""
    height = value.height
    if value.bbox[0] - row_start <= neighbours.ALIGN * height:
        return []  # the value starts the row: reading on from it already covers this
    gap = neighbours.CONTINUED_GAP * height
    under = [s for s in neighbours.under_span(page, value) if s.bbox[1] - value.bbox[3] <= gap]
    if not under:
        return []
    top = min(s.bbox[1] for s in under)
    first = min(
        (s for s in under if s.bbox[1] - top <= neighbours.LINE_SLACK * height),
        key=lambda s: s.bbox[0],
    )
    if (
        not (_at(first, row_start, height) or _outdented(first, value))
        or ends(first)
        or _names_label(first)
        or labelled(first)
        or beside_label(page, first, row_start)
    ):
        return []
    line = [first, *neighbours.rest_of_line(page, first, ends)]
    # A gloss beside the label ("(For the client)") asks for the answer that follows under
    # it, however wide that runs.
    if not may_go_on(page, value, line, wide=glossed):
        return []
    joined = Segment([w for s in line for w in s.words], first.page, first.line)
    return [*line, *neighbours.continuation(page, joined, row_start, ends)]


def indented_under(
    page: PageWords,
    value: Segment,
    ends: Callable[[Segment], bool],
    labelled: Callable[[Segment], bool],
) -> list[Segment]:
    """The line continuing `value` indented under it, inside its span ("CARLTON Filter
    100's - 4 Mg Laser | Mfg. for Taiwan"): the first segment just under the value starts
    well right of the value's start and ends within its span, is words the value's size
    (`_words_alike`), is not a stop and names no label of its own, and nothing printed on
    its band reaches under the value from the left (the next row's label may sit left of
    the value's column, not in it), nor is further along it."""
    height = value.height
    gap = neighbours.CONTINUED_GAP * height
    under = [s for s in neighbours.under_span(page, value) if s.bbox[1] - value.bbox[3] <= gap]
    if not under:
        return []
    first = min(under, key=lambda s: (s.bbox[1], s.bbox[0]))
    slack = neighbours.ALIGN * height
    inside = value.bbox[0] + slack < first.bbox[0] and first.bbox[2] <= value.bbox[2] + slack
    if not inside or not _words_alike(first, value):
        return []
    if ends(first) or _names_label(first) or labelled(first):
        return []
    if beside_label(page, first, value.bbox[0]):
        return []
    line = [first, *neighbours.rest_of_line(page, first, ends)]
    inside_span = line[-1].bbox[2] <= value.bbox[2] + slack
    return line if inside_span and not _printed_further(page, line) else []


def _words_alike(line: Segment, value: Segment) -> bool:
    """Whether `line` is words printed the size of `value`'s (figures under figures are a
    column's next cell)."""
    return any(c.isalpha() for c in line.text) and _same_size(line, value)


def _same_size(line: Segment, value: Segment) -> bool:
    """Whether `line` is printed the size of `value`: a smaller caption under it
    ("Originating Agent") is the form's own."""
    return abs(line.height - value.height) <= SIZE_SLACK * value.height


def may_go_on(page: PageWords, value: Segment, line: list[Segment], wide: bool = False) -> bool:
    """Whether `line`, printed back at the left under `value`, may be the value going on:
    it reaches on under the value (ending under the label, it is the next row's label),
    nothing is printed further along it (a row's label with its own answer), and it is no
    wider than the row it would go on plus about a word (printed text of its own, an
    instruction). Where `value` is the label's gloss ("(For the client)"), which asks for
    the answer under it, the line may be of any width and end under the label."""
    end = line[-1].bbox[2]
    further = _printed_further(page, line)
    under_value = end > value.bbox[0] + neighbours.ALIGN * value.height
    in_row = wide or end <= value.bbox[2] + WRAP_SLACK * value.height
    return not further and (under_value or wide) and in_row


def _printed_further(page: PageWords, line: list[Segment]) -> bool:
    """Whether something is printed further along `line`, past its end (centred on it: a
    value typed low on the line over it may reach into its band)."""
    last = line[-1]
    return any(
        s.bbox[0] >= last.bbox[2] - 1 and on_line(s, last) for s in neighbours.band(page, last)
    )


def on_line(segment: Segment, line: Segment) -> bool:
    """Whether `segment` is centred on `line`, within half its height: not the line over it
    or under it, reaching into its band."""
    off = (segment.bbox[1] + segment.bbox[3] - line.bbox[1] - line.bbox[3]) / 2
    return abs(off) <= 0.5 * line.height


def _at(segment: Segment, x: float, height: float) -> bool:
    """Whether `segment` starts at `x`, give or take a line's usual misalignment."""
    return abs(segment.bbox[0] - x) <= neighbours.ALIGN * height


def _outdented(segment: Segment, value: Segment) -> bool:
    """Whether `segment` starts a little left of `value`, further than a line's usual
    misalignment but within `OUTDENT` line heights, in its size of type ("DLR" over
    "12/5/89"): the value's next line typed out from its start, not the next row's."""
    shift = value.bbox[0] - segment.bbox[0]
    outdented = neighbours.ALIGN * value.height < shift <= OUTDENT * value.height
    return outdented and _same_size(segment, value)


def _names_label(segment: Segment) -> bool:
    """Whether a word of `segment` ends in a colon: the line is a row's label ("Phone: ..."),
    not an answer going on."""
    return any(w.text.endswith(":") for w in segment.words)


def beside_label(page: PageWords, segment: Segment, row_start: float) -> bool:
    """Whether something on `segment`'s band, left of it, reaches past `row_start`: the
    next row's label, `segment` its answer."""
    return any(
        s.bbox[2] <= segment.bbox[0] + 1 and s.bbox[2] > row_start
        for s in neighbours.band(page, segment)
    )
