"""One label's reading on a page: the value beside or under it, how it is extended, and how sure
that reading is (each fit a factor of its confidence; see `pairing` for how readings compete)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from docvlm.document import BBox
from docvlm.extraction import blocks, columns, neighbours, ticks
from docvlm.extraction.cells import cell_of
from docvlm.extraction.labels import (
    CURRENCY_CODES,
    MIN_LABEL_SCORE,
    STRONG_LABEL_SCORE,
    label_score,
    normalize_label,
)
from docvlm.extraction.neighbours import right_of
from docvlm.extraction.result import Found
from docvlm.extraction.schema import FieldSpec
from docvlm.extraction.values import (
    CENTS,
    DateOrder,
    has_digit,
    has_time_of_day,
    is_typed,
    parse_value,
    read_date,
)
from docvlm.extraction.words import PageWords, Segment, drawn_checkbox, trim_leaders
from docvlm.geometry import union

PART_SCORE = 95.0
# How a fuzzy label's score lowers its value's confidence: squared, a label OCR misread by a
# letter or two ("Faciliry:", "This Anount") sank a value it plainly names under the floor.
LABEL_FIT_POWER = 1.75
# Confidence = label fit × position fit × type fit × reading fit; each factor is below 1 where
# that step could have gone wrong, so only an exact label, beside a typed value, on a text
# layer reaches 1.0.
BELOW_FIT = 0.92  # a value under its label could belong to the next label's row
# Free text is not checked by a type, so a stray label could pass: it never reaches 0.9.
FREE_TEXT_FIT = 0.85
# Without a type check, where free text sits is the only evidence it answers the label: text
# right of a label ending in ":" is the form's own convention; text below a label, run on
# into it, or beside printed words without a colon is as often a heading, another row's
# value or the label's own wording. (Measured on FUNSD training pages: right of a colon label
# about 80 % right, below a label about 25 %.)
UNMARKED_LABEL_FIT = 0.85
FREE_BELOW_FIT = 0.7
# Under a label heading a drawn cell, inside that cell, free text is the cell's answer.
BOXED_BELOW_FIT = 1.0
# Under a label whose colon asks for an answer and that has nothing beside it, the line (or
# wrapped pair of lines) under it is that answer. More lines under it, read or not, are as
# often a list of several answers or a block read short: such a block stays doubted, unless
# its words are few (a name, a number). (FUNSD training pages 0-105 / 106-148: 9 / 6 more
# values returned, all right; taking longer blocks with text just under them too, 15 / 7
# right but 0 / 2 wrong.)
ASKED_BELOW_FIT = 1.0
ASKED_REACH = 3.5  # label heights
RUN_ON_FIT = 0.7
# Figures run on into a label ("Date Sent 4/19/74", "SCHEDULE 2/20 & 3/20") are its answer: a
# label's own wording seldom holds them (FUNSD training pages 0-40 / 40-80 / 80-105: of the
# values this raises to 0.45 and above, 12 of 14 / 13 of 19 / 12 of 12 right). So are words
# printed otherwise than the label ("PHYSICAL APPEARANCE Yellow liquid", "Original to Dr.
# A. W. Spears"): words in capitals after a label in capitals are its wording or a heading
# ("PROJECT INITIATION FORM"; FUNSD training pages 0-105: 1 of 12 right, against 38 of 45).
RUN_ON_FIGURES_FIT = 1.0
# Free text with a line under it that could continue it, spaced further apart than a wrapped
# line (a list of names, a second paragraph): where the value ends is a guess.
SPACED_FIT = 0.8
# Free text read on past its first segment (the line's further cells, the lines under it, a
# column's or a row's cells where no table shows where they end): where such a value ends is
# a guess, so it stays below the surest free text.
# (FUNSD training pages 0-40, values at 0.6 and above: one segment 89 % right, several 61 %.)
# One wrapped line under it is not: two-line answers are as often right as one-line ones
# (FUNSD training pages 0-40 / 40-80 / 80-105: 86 / 79 / 80 % right).
EXTENDED_CEILING = 0.55
# A label heading a table's column (the row under it a table's row, see
# `columns.heads_table`) is answered by the column's cells as surely as a colon label by the
# text beside it, and where the column ends is read from the table (FUNSD training pages
# 0-105: +20 values right, +4 wrong, 3 of them annotations reading a cell otherwise). So is
# a row header by its table's row of figures or words (see `columns.table_row`; FUNSD
# training pages 0-105 / 106-148, such values returned: 30 of 31 / 3 of 3 right).
TABLE_COLUMN_FIT = 1.0
# Free text right of a label across a wide empty stretch of its band is as often the next
# column's entry as the label's answer (FUNSD training pages, free text beyond 8 label heights:
# 0-40 58 % right against 81 % nearer; held out, 40-80 33 % against 80 %, 80-105 50 % against
# 76 %). A dot leader or rule end in the stretch is no gap: the eye follows it.
FAR_RIGHT = 8.0  # label heights
FAR_RIGHT_FIT = 0.8
# Words without figures this many FAR_RIGHT stretches on, where text under the label can answer
# it, are another column's, printed across the page ("REMARKS: ... | Product").
ACROSS_PAGE = 2.0
# Capitals without figures that far from a label in capitals without a colon are the next
# column's printed heading ("DESCRIPTION ... UNIT PRICE"), not the label's answer (FUNSD
# training pages 0-105: 1 of 11 such values right).
LONE_REACH = 0.5  # of FAR_RIGHT, for a one-character value
# Unread text after a free-text value on its line, nearer than a column's gap ("TOTAL AREA
# BUDGET: (REV) | 3,488,000.00", "Substance 36 | gn/m2"): the answer may go on into it
# (FUNSD training pages 0-105, values at 0.55 and above: 17 of 34 such values wrong; all
# such readings: 70 of 139 right, pages 106-148: 8 of 23). Lowered after the rest of the
# reading so that no value is dropped for it, under FREE_TEXT_FLOOR from a label's colon.
ROW_GOES_ON = 6.0  # label heights
# A line just under a free-text value of words that starts well left of it (an address under
# "Attn: Mr. Steven Katz", a paragraph wrapped back under its label): the answer may go on
# there, lowered as above (FUNSD training pages 0-105, values at 0.5 and above: 20 of 33 such
# values right, against 88 % of the others).
WRAPS_BACK_GAP = 1.2  # label heights between the value's bottom and that line's top
WRAPS_BACK_LEFT = 1.2  # label heights that line starts left of the value
OCR_FIT = 0.85
CURRENCY_SIGNS = frozenset("$€£¥₹₩₽₺₪₫฿₱")
SIGN_GAP = 2.0  # value heights between a currency sign and the amount it is printed before
SENTENCE_COLON_WORDS = 3  # words before a colon that make a line in lower case a sentence
# Words led by dashes to a capital ("Original - Project File", "Copies to --- Dr. A. W.
# Spears"): a printed label and its own answer, as a dot leader leads one.
_DASH_LED = re.compile(r"[A-Za-z.]\s*(?:-{2,}|\s-)\s+[A-Z]")
_QUOTED_CHARACTER = re.compile(r"[\"'“‘]\w[\"'”’]")
_COUNT = re.compile(r"[(\[]?\d{1,3}[)\]]?")
_NUMBER_CELL = re.compile(r"(?=.*\d)[\d\s.,%()*+\-/#$]+")
_UNIT = re.compile(
    r"(?:mm|cm|m|km|in|ft|mg|g|gm|kg|lbs?|oz|ml|l|cc|%|°[cf]?|hrs?|min|pcs)"
    r"(?:/(?:mm|cm|m|m2|cc|ml|l|kg|g|hr))?",
    re.IGNORECASE,
)


@dataclass
class Candidate:
    """One field's reading at one of its labels, with what the choice between readings needs."""

    field: FieldSpec
    label_score: float
    claimed: list[int]  # ids of the segments the label and value were read from
    found: Found
    run_on: bool = False  # the label is the start of a longer printed segment
    goes_on: bool = False  # the answer may go on past it (`_row_goes_on`, `_wraps_back`)
    under: bool = False  # read under its label, not beside it
    tabled: bool = False  # read down a table's column its label heads
    # A column's cells, which answer their row's header too: taken from other columns only.
    column_cells: tuple[int, ...] = ()


@dataclass
class Reading:
    """Reads one field's value beside one of its labels, and how sure that reading is."""

    page: PageWords
    spec: FieldSpec
    names: list[str]
    label_like: set[int]
    date_order: DateOrder | None
    score: float
    all_names: list[list[str]]
    captions_under: bool = False  # the page prints its labels under their values

    def value(
        self,
        label: Segment,
        rest: Segment | None,
        right: list[Segment],
        printed: Segment,
    ) -> Candidate | None:
        """The first place that holds a value of the field's type: the label's own segment,
        the next segment on its line, the segment below it."""
        if self.spec.kind == "boolean":
            return _boolean_value(self.page, self.spec, label, right, self.score, printed)
        if self.spec.enum is not None:
            ticked = self._ticked_option(label, right, printed)
            if ticked is not None:
                return ticked
        if not is_typed(self.spec):
            row = ticks.option_row([s for s in right if s.line == label.line])
            ticked = [option for option, state in row or [] if state]
            if len(ticked) == 1:
                claimed = [id(printed), *(id(option) for option, _ in row or [])]
                fit = self._layout_fit(label, ticked[0], "right")
                return self._candidate(ticked[0], fit, claimed)
            if row is not None:  # none or several ticked: the row is no answer, but under it
                right = [s for s in right if s.line != label.line]
        if not is_typed(self.spec):  # a tick is free text's answer; a typed value parses
            if rest is not None and ticks.tick(rest):
                return self._mark(label, printed, printed, rest)  # "Yes x": glued to its option
            before = ticks.tick_before(self.page, printed)
            if before is not None:
                return self._mark(label, before, printed)  # "XX | REJECTED": ticked before it
        reach = printed.bbox[2]  # where the band's last printed mark before the value ends
        mark = None
        while right and not right[0].widget and _stray(self.page, right[0]):
            if ticks.tick(right[0]):
                tick = ticks.own_tick(self.page, label, right)
                if tick is None or ticks.ticks_next(self.page, tick, right):
                    return None
                return self._mark(label, tick, printed)  # a ticked option
            if not is_typed(self.spec) and len(right) > 1 and _marks_item(right[0], right[1]):
                mark, right = right[0], right[1:]  # joined to the item it opens, below
                break
            reach = right[0].bbox[2]
            mark = right[0]
            right = right[1:]  # a stray mark (a rule end, a dot leader) between label and value
        if right and not is_typed(self.spec) and ticks.leads_with_tick(right[0]):
            return self._mark(label, right[0], printed)  # read glued to the next option's words
        if rest is not None and self.spec.kind == "number" and _count_before_amount(rest, right):
            rest = None  # "SUMME 3 | EUR 152,00": the items summed, then their amount
        if rest is not None and right and is_typed(self.spec) and _misread_code(rest.text):
            rest = None  # "Total ELR | 59,99": a currency code OCR misread is still the label's
        if rest is None and self.spec.kind == "number" and right and right[0].line == label.line:
            after = [s for s in right[1:] if s.line == label.line]
            if after and _currency(right[0]):
                # "Total | EUR | 59,99": the amount is printed after its currency, on the label's
                # line (the next line's amount, read into a tall band, may sort before it)
                right = after + [s for s in right[1:] if s.line != label.line]
        if rest is not None and self._own_wording(label, rest):
            label, rest = printed, None
        options: list[tuple[Segment, float, list[int], bool]] = []
        header, tabled = self._heads_column(printed)
        below, cell = self._below(label, rest, header)
        if below is None and tabled:
            # under a gloss, a taller cell, or on the first of the rows labels head
            below = columns.first_cell(self.page, header, self._stops)
        if below is None and rest is None and not right and label.text.endswith(":"):
            # A colon asking for an answer with nothing beside it: room left to sign or type
            # in may stand between it and its answer.
            far = neighbours.below(self.page, label, ASKED_REACH)
            below = far if far is not None and self._can_be_value(far) else None
        if rest is not None:
            # Words ending in a colon after the label are the next label ("INITIATED BY:");
            # free text opening in lower case or with "&" goes on with the label's own
            # wording ("Requested by", "ALLIES & ORGANIZATIONS"); a typed value parses or not.
            wording = rest.text[:1].islower() or rest.text.startswith("&")
            run_on = not (
                rest.text.startswith("(")
                or rest.text.endswith(":")
                or (wording and not is_typed(self.spec))
            )
            if run_on and self._can_be_value(rest):
                fit = self._layout_fit(label, rest, "run-on")
                row = [rest, *(s for s in right if s.line == label.line)]
                value, count = self._with_units(row, label)
                claimed = [id(printed), *(id(s) for s in row[1:count])]
                options.append((value, fit, claimed, False))
        elif (
            right
            and header is None
            and (self._can_be_value(right[0]) or self._value_head(label, right))
            and not self._heading_across_gap(label, right[0], reach, below is not None)
            and not self._among_options(label, right[0])
            and not _repeats_label(label, right[0])
            and (cell is None or cell_of([cell], right[0].bbox) is not None)
            and not (self.spec.kind == "number" and _row_of_amounts(label, right))
        ):
            # A tall label's band reaches the next printed line: its segments are not this
            # row's, and where they sit under the value, where the value ends is a guess.
            row = [right[0], *(s for s in right[1:] if s.line == right[0].line)]
            value, count = self._with_units(row, label)
            tabled = self._tabled_row(printed, row, count)
            if tabled > count:
                words = [w for s in row[:tabled] for w in s.words]
                value, count = Segment(words, value.page, value.line), tabled
            claimed = [id(printed), *(id(s) for s in row[:count])]
            crowded = read_date(value.text) is None and any(
                _overlaps(s, value) for s in right if s.line != right[0].line
            )
            units = all(_UNIT.fullmatch(s.text) for s in row[1:count])  # "974 | mg" is whole
            tabled_row = tabled > 0
            if mark is not None and (self._signs(mark, value) or _marks_item(mark, value)):
                value = Segment(mark.words + value.words, value.page, value.line)
                claimed.append(id(mark))
            if count == len(row) or not ticks.box(row[count]) or is_typed(self.spec):
                fit = self._layout_fit(label, value, "right", reach)
                fit = TABLE_COLUMN_FIT if tabled_row else fit
                extended = count > 1 and not (units or tabled_row)
                options.append((value, fit, claimed, extended or crowded))
            # else a box follows it: the text is a printed option ("Transfer ☐"), no answer
        # A row-headed table's header is answered by its column, not by a heading over it.
        row_headed = tabled and bool(columns.row_headed_cells(self.page, printed, self._stops))
        on_rule = (
            neighbours.on_rule_above(self.page, label) if not (options or row_headed) else None
        )
        if on_rule is not None and rest is None and self._can_be_value(on_rule):
            row = [on_rule, *(s for s in right_of(self.page, on_rule) if s.line == on_rule.line)]
            value, count = self._with_units(row, label)
            fit = self._layout_fit(label, value, "right")
            options.append((value, fit, [id(printed), *(id(s) for s in row[:count])], count > 1))
        asked = below is not None and cell is None and self._asked_below(label, below, right)
        if below is not None:
            below, claimed = self._below_line(below, header)
            where = "boxed" if cell is not None else "asked" if asked else "below"
            options.append(
                (below, self._layout_fit(label, below, where), [id(printed), *claimed], False)
            )
        for segment, position_fit, claimed, extended in options:
            if segment is not below and self._printed_option(label, segment):
                continue
            under = header is not None and segment is below and columns.in_column(segment, header)
            column = header if under else None
            read_under = segment is below
            first = segment
            segment, more, spaced = self._continued(
                segment,
                label,
                column,
                cell if segment is below else None,
            )
            if column is not None and more and not is_typed(self.spec):
                tabled = tabled or self._column_of_figures(column, segment, more)
            if column is not None and tabled and (more or row_headed) and not is_typed(self.spec):
                position_fit = TABLE_COLUMN_FIT  # one row under headings may be labels' answers
            fit = position_fit * (SPACED_FIT if spaced else 1.0)
            if asked and read_under and self._block_goes_on(segment, claimed + more, more):
                fit *= FREE_BELOW_FIT  # a list or a long block: several answers, or one cut short
            extended = extended or (len(more) > 1 if column is None else bool(more) and not tabled)
            cells: tuple[int, ...] = ()
            if column is not None:
                cells, claimed, more = (*claimed[1:], *more), claimed[:1], []
            candidate = self._candidate(segment, fit, claimed + more)
            if candidate:
                found = candidate.found
                if extended:
                    found.confidence = min(found.confidence, EXTENDED_CEILING)
                # Beside and under a column's cells are the table's other cells.
                candidate.goes_on = column is None and (
                    self._row_goes_on(label, first, claimed, more)
                    or self._wraps_back(label, segment, claimed + more)
                )
                candidate.under = read_under
                candidate.tabled = column is not None and tabled
                candidate.column_cells = cells
                return candidate
        return None

    def _own_wording(self, label: Segment, rest: Segment) -> bool:
        """Whether free text in capitals run on into a label in capitals goes on with its
        wording ("COMPOUND NAME", "PROJECT OBJECTIVE:"), whose answer is beside or under the
        whole, rather than being the next field's label ("COMPOUND VEHICLE:")."""
        next_label = rest.text.endswith(":") and self._opens_with_label(rest)
        return not is_typed(self.spec) and _printed_alike(label, rest) and not next_label

    def _below(
        self, label: Segment, rest: Segment | None, header: Segment | None
    ) -> tuple[Segment | None, BBox | None]:
        """The value under the label, if one can be there, and the drawn cell the label heads
        with that value inside it: a label printed whole at the top of a cell (not the start
        of a longer heading) is answered in its cell, not across its border. Words in
        brackets under it are the label's gloss ("(mg/kg BODY WEIGHT)"), as they are after
        the label on its line: the answer is under them (under a column's `header`, the
        column's cells are read past it). A page printing its captions under the answers
        has the label's answer over it."""
        above = neighbours.above(self.page, label) if self.captions_under else None
        if above is not None and self._can_be_value(above):
            return above, None  # a caption's answer is typed on the rule over it
        below = neighbours.below(self.page, label)
        glossed = below is not None and header is None and _gloss(below.text)
        if glossed:
            below = neighbours.below(self.page, below)
        if below is None or not self._can_be_value(below):
            return None, None
        if rest is not None or glossed or below.text.startswith("("):
            return below, None
        return below, neighbours.headed_cell(self.page, label, below)

    def _asked_below(self, label: Segment, below: Segment, right: list[Segment]) -> bool:
        """Whether the free text under `label` answers its colon: nothing is printed right of
        the label on its band, and the text is not printed as the label is (a label in
        capitals over words in capitals is a row of labels, or a heading)."""
        return label.text.endswith(":") and not right and not _printed_alike(label, below)

    def _block_goes_on(self, value: Segment, claimed: list[int], more: list[int]) -> bool:
        """Whether a block under a label is more than its first line or wrapped pair of
        lines: more lines were read on, or text not read sits just under words running on
        (a short answer, a name or a number, is whole on its line)."""
        if len(more) > 1:
            return True
        if len(value.words) < neighbours.SENTENCE_WORDS:
            return False
        gap = neighbours.CONTINUED_GAP * value.height
        return any(
            id(s) not in claimed
            and id(s) not in self.label_like
            and s.bbox[1] - value.bbox[3] <= gap
            for s in neighbours.under_span(self.page, value)
        )

    def _below_line(self, below: Segment, header: Segment | None) -> tuple[Segment, list[int]]:
        """The free-text value under a label with the rest of its line up to a column's gap
        ("Peter | Faucetta Jr.": OCR cut the name at a wide word space), and the ids of the
        segments it takes. Under a column's header the line's next cells are the next
        columns'; a typed value parses on its own."""
        if header is not None or is_typed(self.spec) or below.widget:
            return below, [id(below)]
        line = [below, *neighbours.rest_of_line(self.page, below, self._stops)]
        words = [w for segment in line for w in segment.words]
        return Segment(words, below.page, below.line), [id(s) for s in line]

    def _layout_fit(
        self, label: Segment, value: Segment, where: str, reach: float | None = None
    ) -> float:
        """How far where the value sits says it answers the label; `reach` is where the
        printing before a value right of the label ends (the label, or a leader after it)."""
        if is_typed(self.spec) or value.widget:
            return BELOW_FIT if where in ("below", "boxed") else 1.0
        marked = 1.0 if label.text.endswith(":") else UNMARKED_LABEL_FIT
        far = reach is not None and _far(label, value, reach)
        run_on = RUN_ON_FIT if _printed_alike(label, value) else RUN_ON_FIGURES_FIT
        fit = {
            "right": 1.0,
            "asked": ASKED_BELOW_FIT,
            "below": FREE_BELOW_FIT,
            "boxed": BOXED_BELOW_FIT,
            "run-on": run_on,
        }[where]
        return marked * fit * (FAR_RIGHT_FIT if far else 1.0)

    def _signs(self, mark: Segment, value: Segment) -> bool:
        """Whether `mark` is a currency sign printed apart before a free-text amount ("$ |
        10,000."): part of the answer, which a reader would not drop."""
        return (
            not is_typed(self.spec)
            and mark.text.strip() in CURRENCY_SIGNS
            and value.text[:1].isdigit()
            and value.bbox[0] - mark.bbox[2] <= SIGN_GAP * value.height
        )

    def _printed_option(self, label: Segment, value: Segment) -> bool:
        """The next option of a printed row ("ORIGINAL ☐ UPDATED ☐"): a box drawn just before
        it, whose answer is a tick that OCR does not read, not the label's answer."""
        return self._printed_row(label, value) and drawn_checkbox(self.page, value.bbox) is not None

    def _heading_across_gap(
        self, label: Segment, value: Segment, reach: float, answered_under: bool
    ) -> bool:
        """A row of headings: free text across a wide gap right of the label; or, where text
        under the label can answer it, words without figures across the page, another
        column's."""
        if self._printed_row(label, value) and _far(label, value, reach):
            return True
        words = not is_typed(self.spec) and not value.widget and not has_digit(value.text)
        return answered_under and words and _far(label, value, reach, ACROSS_PAGE)

    def _among_options(self, label: Segment, value: Segment) -> bool:
        """Capitals right of a label in capitals that itself follows capitals on its line
        ("POOR | FAIR | GOOD"): a row of options or headings, none the other's answer."""
        if not self._printed_row(label, value):
            return False
        band = neighbours.band(self.page, label)
        left = [s for s in band if s.line == label.line and s.bbox[2] <= label.bbox[0] + 1]
        if not left:
            return False
        before = max(left, key=lambda s: s.bbox[2])
        return _printed_alike(label, before) and not before.text.endswith(":")

    def _printed_row(self, label: Segment, value: Segment) -> bool:
        """Free text in capitals without figures right of a label in capitals without a
        colon, printed as that label is: the row's next heading or option, maybe."""
        return (
            not is_typed(self.spec)
            and not value.widget
            and not label.text.endswith(":")
            and _printed_alike(label, value)
        )

    def _continued(
        self, value: Segment, label: Segment, column: Segment | None, cell: BBox | None
    ) -> tuple[Segment, list[int], bool]:
        """A free-text value with the lines that continue it (under a column's `header`, the
        column's further cells; inside a drawn `cell`, up to its border; beside its `label`,
        maybe back under the label: see `blocks.wrapped_back`), and whether a line spaced
        further apart may continue it too. A value that reads whole as a date goes on no
        further, except in a column, whose further cells may be dates too."""
        if is_typed(self.spec) or value.widget:
            return value, [], False
        if read_date(value.text) is not None and column is None:
            return value, [], False  # a date is whole on its line: the lines under it are rows

        def stops(segment: Segment) -> bool:
            return (self._stops(segment) and not _sentence_to_colon(segment)) or (
                cell is not None and cell_of([cell], segment.bbox) is None
            )

        if column is not None:
            cells = columns.column_cells(self.page, column, value, stops)
            words = [w for segment in cells for w in segment.words]
            more = [id(s) for s in cells if s is not value]
            return Segment(words, value.page, value.line), more, False
        numeric = columns.figures(value.text)

        def ends(segment: Segment) -> bool:
            # A number (a telephone, a code) goes on only in figures: words under it are
            # another row's, or a note.
            return stops(segment) or (numeric and not columns.figures(segment.text))

        def labelled(segment: Segment) -> bool:
            return _printed_alike(label, segment) or self._opens_with_label(segment)

        row_start = min(label.bbox[0], value.bbox[0])
        row_left = self._row_left(label, row_start) if numeric else row_start
        lines = neighbours.continuation(self.page, value, row_left, ends)
        glossed = _gloss(value.text)
        lines = lines or blocks.wrapped_back(self.page, value, row_start, ends, labelled, glossed)
        lines = lines or blocks.indented_under(self.page, value, ends, labelled)
        spaced = neighbours.runs_past(self.page, [value, *lines], row_start, ends)
        if not lines:
            return value, [], spaced
        words = [w for segment in [value, *lines] for w in segment.words]
        return Segment(words, value.page, value.line), [id(s) for s in lines], spaced

    def _row_left(self, label: Segment, row_start: float) -> float:
        """Where the row of figures beside `label` starts: at the first cell printed left of
        the label on its line ("Filter Length 21.0mm | Kind 3.3-35,000y"), since a line under
        the figures with text left of it reaching past there is the next row's ("Circumference
        24.8mm | RE-2218"), not more of the value."""
        before = [
            s.bbox[0] for s in neighbours.band(self.page, label) if s.bbox[2] <= label.bbox[0]
        ]
        return min([row_start, *before])

    def _row_goes_on(
        self, label: Segment, value: Segment, claimed: list[int], more: list[int]
    ) -> bool:
        """Whether the first text printed after a free-text value on its line (centred on
        it: the next line's start may reach into its band; a dot or a rule's end is no
        text), nearer than a column's gap, is unread text rather than a label (or a label
        read together with its own value, or one printed as this one is: `_next_label`)
        and is not beside a block of its own (`_block_apart`, the lines read on: `more`):
        where the value ends is a guess. A whole date ends where it ends."""
        if is_typed(self.spec) or value.widget or read_date(value.text) is not None:
            return False
        after = [
            s
            for s in right_of(self.page, value)
            if id(s) not in claimed and any(c.isalnum() for c in s.text)
        ]
        if not after:
            return False
        following = after[0]
        if not blocks.on_line(following, value):
            return False  # the next or last line's, read into a tall band
        if _number_row(value) and _NUMBER_CELL.fullmatch(following.text) is None:
            return False  # words after a row's number cells: the next column's text
        if (
            _next_label(label, value, following)
            or _titled_after(value, following)
            or _label_and_value(following.text)
            or self._block_apart(more, following)
        ):
            return False
        return (
            not following.widget
            and id(following) not in self.label_like
            and not self._opens_with_label(following)
            and following.bbox[0] - value.bbox[2] <= ROW_GOES_ON * label.height
        )

    def _block_apart(self, more: list[int], after: Segment) -> bool:
        """Whether the lines read on under a value (ids `more`) all end before the text `after`
        it on its line starts, with nothing beside them ("MARY SEAGRAVES | SME" over "Ext.
        1485"): the value is a block of its own and `after` another column's, since an answer
        wrapped to a next line would run on under `after` (and lines with text beside them are
        a table's rows, each with its own answer)."""
        lines = [s for s in neighbours.page_segments(self.page) if id(s) in more]
        return bool(lines) and all(
            line.bbox[2] < after.bbox[0] and not self._text_beside(line, more) for line in lines
        )

    def _text_beside(self, line: Segment, more: list[int]) -> bool:
        return any(
            id(s) not in more and blocks.on_line(s, line) and any(c.isalnum() for c in s.text)
            for s in right_of(self.page, line)
        )

    def _wraps_back(self, label: Segment, value: Segment, claimed: list[int]) -> bool:
        """Whether the line just under a value of words starts well left of it, under its
        column but not before the row does (a line of its own), is no label, has no label
        beside it (the next row's answer), is no gloss in brackets ("(Product Test, AaU,
        etc.)"), leads no label by dashes to its own answer ("Copies to --- Dr. A. W.
        Spears") and may go on with it (see `blocks.may_go_on`): the answer may have wrapped
        back under its label (a paragraph in capitals under a label in capitals) where
        reading on (`_continued`) did not take that line."""
        if is_typed(self.spec) or value.widget or has_digit(value.text):
            return False
        x0, _, _, y1 = value.bbox
        under = [
            s
            for s in neighbours.under_span(self.page, value)
            if id(s) not in claimed and s.bbox[1] - y1 <= WRAPS_BACK_GAP * label.height
        ]
        if not under:
            return False
        first = min(under, key=lambda s: (s.bbox[1], s.bbox[0]))
        line = [first, *neighbours.rest_of_line(self.page, first, self._stops)]
        row_start = min(label.bbox[0], x0)
        in_row = first.bbox[0] >= row_start - neighbours.ALIGN * value.height
        return (
            id(first) not in self.label_like
            and x0 - first.bbox[0] > WRAPS_BACK_LEFT * label.height
            and in_row
            and not blocks.beside_label(self.page, first, row_start)
            and not _gloss(first.text)
            and not _DASH_LED.search(" ".join(s.text for s in line))
            and blocks.may_go_on(self.page, value, line)
        )

    def _opens_with_label(self, segment: Segment) -> bool:
        """Whether `segment`'s leading words name a field ("Date 5-13-81")."""
        return any(
            label_score(" ".join(w.text for w in segment.words[:end]), names) >= STRONG_LABEL_SCORE
            for end in range(1, len(segment.words) + 1)
            for names in self.all_names
        )

    def _heads_column(self, printed: Segment) -> tuple[Segment | None, bool]:
        """`printed` itself where it heads a table's column, so that its answers are the cells
        under it, and whether the row under it shows a table (see `columns.heads_table`) or
        the cells under it head a table's rows (see `columns.heads_row_headers`); else its
        nearest neighbour along its line, on either side, is another label (a header row:
        its table's, where figures open its column down the table, see
        `columns.down_the_table`), or it heads figures (see `_heads_figures`)."""
        if printed.text.endswith(":"):
            return None, False  # a colon asks for the answer beside or under it, not a column
        if columns.heads_table(self.page, printed, self._stops):
            return printed, True
        if columns.heads_row_headers(self.page, printed, self._stops):
            return printed, True
        band = neighbours.band(self.page, printed)
        left = [s for s in band if s.bbox[2] <= printed.bbox[0] + 1]
        right = right_of(self.page, printed)  # with an answer typed raised over the row
        nearest = [max(left, key=lambda s: s.bbox[2])] if left else []
        nearest += right[:1]
        if nearest and all(id(s) in self.label_like for s in nearest):
            return printed, columns.down_the_table(self.page, printed) is not None
        return (printed if _heads_figures(self.page, printed, [printed, *band]) else None), False

    def _column_of_figures(self, header: Segment, value: Segment, more: list[int]) -> bool:
        """Whether the column read under `header` (`value`, its cells `more` among them) is
        figures in every cell: a table's column of amounts or counts, whose end shows where
        words or a blank gap start, unless figures go on in it past the gap or the header
        spans several cells of a row under it (a heading over several columns)."""
        taken = set(more)
        cells = [s for s in neighbours.page_segments(self.page) if id(s) in taken]
        first = value.words[: len(value.words) - sum(len(c.words) for c in cells)]
        return (
            bool(first)
            and all(
                columns.figures(" ".join(w.text for w in words))
                for words in [first, *(c.words for c in cells)]
            )
            and not columns.cut_short(self.page, header, cells)
            and not columns.over_several(self.page, header, min(cells, key=lambda c: c.bbox[1]))
        )

    def _stops(self, segment: Segment) -> bool:
        return segment.widget or segment.checkbox is not None or id(segment) in self.label_like

    def _with_units(self, right: list[Segment], label: Segment) -> tuple[Segment, int]:
        """The free-text value right of a label (or run on into it) with what belongs to it
        on that line: the unit after it ("84 | mm", "Density 245 | mg/cc"), after a number
        the row's further number cells ("2.0 | (51) | 31 | (83)", up to words after them:
        the next column's text, or an amount across a gap after a count: "500 | $250"), and
        words printed less than two line heights on ("One | Tray"; not the next label, see
        `_next_label`); and how many segments it takes. A typed value parses without them,
        and a date takes only a time of day printed just after it."""
        value = right[0]
        if is_typed(self.spec) or value.widget:
            return value, 1
        if read_date(value.text) is not None:
            count = 2 if _time_after(value, right[1:2]) else 1
            return Segment(
                [w for s in right[:count] for w in s.words], value.page, value.line
            ), count
        numeric = _NUMBER_CELL.fullmatch(value.text) is not None
        count = 1
        for index, segment in enumerate(right[1:], 1):
            inside = index + 1 < len(right) and self._inside_value(
                right[index - 1], segment, right[index + 1]
            )  # "Amelia 100's | Candidates: | NM-FT and NM-Lights"
            if segment.widget or (id(segment) in self.label_like and not inside):
                break
            if _overlaps(segment, right[count - 1]):
                break  # it starts under the value: the next line's, read into the band
            gap = segment.bbox[0] - right[count - 1].bbox[2]
            unit = _UNIT.fullmatch(segment.text) is not None
            near = gap <= 2.0 * value.height and not _fragment(segment.text)
            repeated = fuzz.ratio(segment.text.lower(), value.text.lower()) >= 80
            number = _NUMBER_CELL.fullmatch(segment.text) is not None
            if numeric and count > 1 and not (number or unit):
                break  # words after a row's number cells: the next column's text
            if numeric and number and not near and _priced(segment) and not _priced(value):
                break  # "500 | $250": a count, then what it costs: the next column's
            if not unit and _next_label(label, value, segment):
                break  # "PROJECT LEADER Williams/Giordano | TOTAL BUDGET"
            if not (unit or near or repeated or (numeric and number)):
                break
            count += 1
        if count == 1:
            return value, 1
        words = [w for segment in right[:count] for w in segment.words]
        return Segment(words, value.page, value.line), count

    def _tabled_row(self, printed: Segment, row: list[Segment], count: int) -> int:
        """How many of `row`'s segments, right of a row header, a table's row takes: the
        `count` read, or the whole row where the reading stopped short of it (a cell misread
        unlike its neighbour: "72 m | 72 | mm"), every cell opening with figures (not a code
        of the next column's: "24.8mm | RE-2218") and none a label; 0 where neither is a
        table's row (see `columns.table_row`)."""
        if count > 1 and columns.table_row(self.page, printed, _cells(row, count)):
            return count
        whole = _cells(row, len(row))
        if (
            count == len(row)
            or is_typed(self.spec)
            or not all(columns.opens_with_figures(s.text) for s in whole)
            or any(id(s) in self.label_like or s.text.endswith(":") for s in row)
        ):
            return 0
        return len(row) if columns.table_row(self.page, printed, whole) else 0

    def _can_be_value(self, segment: Segment) -> bool:
        """Labels are never values: neither another field's nor this field's own. On a
        fillable PDF free text comes only from widgets: its printed text is the form's own
        (labels, instructions), which no type check would tell from an answer."""
        if segment.widget:
            return True
        if self.page.fillable and not is_typed(self.spec):
            return False
        return (
            id(segment) not in self.label_like
            and label_score(segment.text, self.names) < MIN_LABEL_SCORE
            and not _part_of(segment.text, self.names)
        )

    def _value_head(self, label: Segment, right: list[Segment]) -> bool:
        """Whether words ending in a colon just after a label's colon open its free-text
        answer ("Description: | Hong Kong: | Cigarette Market Monitor")."""
        return (
            not is_typed(self.spec)
            and len(right) >= 2
            and label.text.endswith(":")
            and self._inside_value(label, right[0], right[1])
        )

    def _inside_value(self, before: Segment, words: Segment, after: Segment) -> bool:
        """Whether `words` ending in a colon, set close on both sides on one line (as a value's
        segments are), are a value's words rather than the next label: they name no field,
        and the text after them can be a value."""
        close = all(
            second.line == before.line
            and second.bbox[0] - first.bbox[2] <= neighbours.WORD_GAP * before.height
            for first, second in ((before, words), (words, after))
        )
        return (
            close
            and not words.widget
            and words.text.endswith(":")
            and all(label_score(words.text, names) < MIN_LABEL_SCORE for names in self.all_names)
            and self._can_be_value(after)
        )

    def _ticked_option(
        self, label: Segment, right: list[Segment], printed: Segment
    ) -> Candidate | None:
        for segment, box in ticks.ticked_options(self.page, self.spec, right):
            candidate = self._candidate(segment, 1.0, [id(printed), id(segment)])
            if candidate:  # else OCR read the box itself as a letter: the option follows
                candidate.found.bbox = union([box, segment.bbox])
                return candidate
        return None

    def ticked(self, label: Segment, tick: Segment, printed: Segment) -> Candidate | None:
        """The tick `printed` opens, before the label it holds, as the label's answer."""
        return self._mark(label, printed, printed, tick)

    def _mark(
        self, label: Segment, marked: Segment, printed: Segment, tick: Segment | None = None
    ) -> Candidate | None:
        """The tick opening `marked` (or `tick`, cut from it) as a free-text answer ("New
        Product  X", or glued to the next option's words: "X No"); a typed field has none."""
        if is_typed(self.spec):
            return None
        tick = tick or Segment(marked.words[:1], marked.page, marked.line)
        # Any mark read there is the tick: how surely OCR read it as an "x" says nothing more.
        confidence = label_fit(self.score) * self._layout_fit(label, tick, "right") * FREE_TEXT_FIT
        confidence *= OCR_FIT if self.page.source == "ocr" else 1.0
        found = Found(
            tick.text.strip(" .,"),
            self.page.number,
            tick.bbox,
            round(confidence, 3),
            self.page.source,
        )
        return Candidate(self.spec, self.score, [id(printed), id(marked)], found)

    def _candidate(
        self, segment: Segment, position_fit: float, claimed: list[int]
    ) -> Candidate | None:
        if not segment.widget:
            segment = trim_leaders(segment)
            if segment is None:
                return None
        parsed = parse_value(segment.text, self.spec, self.date_order)
        if parsed is None or (not segment.widget and _stray(self.page, segment)):
            return None
        confidence = (
            label_fit(self.score)
            * position_fit
            * parsed.fit
            * (1.0 if is_typed(self.spec) else FREE_TEXT_FIT)
            * read_fit(self.page, [segment])
        )
        source = "acroform" if segment.widget else self.page.source
        found = Found(
            parsed.value, self.page.number, segment.bbox, round(confidence, 3), source,
            parsed.warning,
        )  # fmt: skip
        return Candidate(self.spec, self.score, claimed, found)


def _cells(row: list[Segment], count: int) -> list[Segment]:
    """The cells of a table's row among `row`'s first `count` segments: not the units."""
    return [s for index, s in enumerate(row[:count]) if not _unit_cell(row, index)]


def _unit_cell(row: list[Segment], index: int) -> bool:
    """Whether `row[index]` is a unit read as a cell of its own ("99 | mm"), or a word of
    two letters or fewer after a figure, as OCR misreads a unit ("99 | mo")."""
    text = row[index].text
    misread = index > 0 and columns.figures(row[index - 1].text) and text.isalpha()
    return _UNIT.fullmatch(text) is not None or (misread and len(text) <= 2)


def _number_row(value: Segment) -> bool:
    """Whether `value` is number cells, two or more ("2.0 (51) 31 (83)"): a table's row."""
    return len(value.words) > 1 and _NUMBER_CELL.fullmatch(value.text) is not None


def _time_after(date: Segment, after: list[Segment]) -> bool:
    """Whether the next segment on a date's line, printed less than two line heights on, is
    a time of day: when it happened ("1-26-95 | 9:00 AM EST"), one answer."""
    return bool(after) and (
        has_time_of_day(after[0].text) and 0 <= after[0].bbox[0] - date.bbox[2] <= 2.0 * date.height
    )


def _sentence_to_colon(segment: Segment) -> bool:
    """Words going on in lower case up to a colon ("product samples. (Note:"), or ending in a
    clause in lower case after a comma ("ATF Auth. #47, sample not for sale, all applicable:"):
    a sentence wrapped from the line above, not a row's label (a label opens with a capital,
    or is one short word: "cc:")."""
    if not segment.text.endswith(":") or len(segment.words) < SENTENCE_COLON_WORDS:
        return False
    head, _, clause = segment.text.rpartition(",")
    return segment.text[:1].islower() or (
        bool(head) and len(clause.split()) >= 2 and clause == clause.lower()
    )


def _repeats_label(label: Segment, value: Segment) -> bool:
    """Whether `value` prints a line of the label's own wording again, of two words or more
    ("Mean of Last | 12 Samples" beside "Present Sample Mean of Last"): the next column's
    heading of a header row, not an answer."""
    text = f" {normalize_label(value.text)} "
    lines = [*(line.text for line in label.lead), " ".join(w.text for w in label.words)]
    return any(
        len(wording.split()) >= 2 and f" {wording} " in text
        for wording in map(normalize_label, lines)
    )


def _next_label(label: Segment, value: Segment, after: Segment) -> bool:
    """Whether `after`, printed after a value of words in lower case on its line, is printed
    as the label is: the next label, in capitals as this one."""
    letters = [c for c in value.text if c.isalpha()]
    lower = sum(c.islower() for c in letters) >= 3 and not has_digit(value.text)
    return lower and _printed_alike(label, after)


def _titled_after(value: Segment, after: Segment) -> bool:
    """Whether `after` is in title case without figures ("Rod Length", "Inorganic") after a
    value that is not: printed as a form's labels and options are, not more of the typed
    answer (after a value in title case, more of one name: "Acme | Corp Ltd")."""
    return _titled(after.text) and not has_digit(after.text) and not _titled(value.text)


def _label_and_value(text: str) -> bool:
    """Words opening with capitals, no figures, then figures ("LOT NO A4", "PROJECT NO.
    1984-175NP"): a printed label read together with its own value. A lone capital is a
    tick or an initial ("Decrease X $-58,500")."""
    words = text.split()
    head = next((i for i, w in enumerate(words) if has_digit(w)), 0)
    labels = [w for w in words[:head] if w[0].isalpha()]
    return head > 0 and all(w[0].isupper() and len(w.rstrip(".:")) > 1 for w in labels)


def _titled(text: str) -> bool:
    """Each word opens with a capital and goes on in lower case, or is an initial."""
    words = [w for w in re.split(r"[\s.]+", text) if w]
    initials = sum(len(w) == 1 for w in words)
    return initials < len(words) and all(
        w[0].isupper() and (len(w) == 1 or any(c.islower() for c in w[1:])) for w in words
    )


def _gloss(text: str) -> bool:
    """Words in brackets, no figures: a label's gloss ("(mg/kg BODY WEIGHT)"), not an answer
    ("(234)", "(Revised 5/9/61)")."""
    return text.startswith("(") and not has_digit(text)


def _printed_alike(label: Segment, value: Segment) -> bool:
    """Words in capitals after or under a label in capitals: the label's own wording, a
    heading, the next label; figures are an answer."""
    return _capitals(label.text) and _capitals(value.text) and not has_digit(value.text)


def _far(label: Segment, value: Segment, reach: float, stretches: float = 1.0) -> bool:
    """Whether `value` starts across a wide empty stretch of the band past `reach`, of
    `stretches` times FAR_RIGHT label heights."""
    # A lone character is the weakest read: a stamp's or a stray mark's as often.
    lone = sum(c.isalnum() for c in value.text) == 1
    gap = FAR_RIGHT * stretches * label.height * (LONE_REACH if lone else 1.0)
    return value.bbox[0] - reach > gap


def _count_before_amount(rest: Segment, right: list[Segment]) -> bool:
    """Whether `rest`, a small whole number after the label, is followed on its line by an
    amount with cents (or its currency first): a receipt's item count, not its total."""
    after = [s for s in right if s.line == rest.line]
    if _COUNT.fullmatch(rest.text) is None or not after:
        return False
    amount = after[1] if _currency(after[0]) and len(after) > 1 else after[0]
    return CENTS.search(amount.text) is not None


def _row_of_amounts(label: Segment, right: list[Segment]) -> bool:
    """Whether several amounts with cents follow `label` on its line: a table's row it heads
    (a receipt's tax summary "Summe | 0,47 | 6,69 | 7,16"), whose amounts the column headings
    name, not the label."""
    row = [s for s in right if s.line == label.line]
    return sum(CENTS.search(s.text) is not None for s in row) >= 2


def _misread_code(text: str) -> bool:
    """Whether `text` is a three-letter currency code with one letter misread ("ELR")."""
    word = text.strip().lower()
    return len(word) == 3 and any(
        len(code) == 3 and sum(a != b for a, b in zip(word, code, strict=True)) == 1
        for code in CURRENCY_CODES
    )


def _currency(segment: Segment) -> bool:
    return segment.text.lower() in CURRENCY_CODES or segment.text in CURRENCY_SIGNS


def _priced(segment: Segment) -> bool:
    """Whether `segment` opens with a currency sign ("$250")."""
    return segment.text[:1] in CURRENCY_SIGNS


def _overlaps(segment: Segment, before: Segment) -> bool:
    """Whether `segment` starts before `before` ends: it cannot follow it on one line."""
    return segment.bbox[0] < before.bbox[2] - 1


def _capitals(text: str) -> bool:
    """Printed in capitals (OCR may read a few in lower case)."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _part_of(text: str, names: list[str]) -> bool:
    """Whether `text` is a piece of a longer label's wording ("(From Current Budget)" printed
    apart from "This Change:"), which normalizing the label would not show. One word is
    rather the choice the label offers ("Carton" for "Pack and/or Carton?")."""
    piece = text.lower().strip(" :.-")
    return len(piece.split()) > 1 and any(
        len(piece) < len(name) and fuzz.partial_ratio(piece, name.lower()) >= PART_SCORE
        for name in names
    )


def _heads_figures(page: PageWords, printed: Segment, row: list[Segment]) -> bool:
    """A table's header over figures: a row of three or more cells of words alone, with figures
    under `printed` and under the next header right of it, or nothing there (an empty column)
    ("Cost ($) | Travel" over "$33,675 | $2000"), where two label–value pairs side by side have
    a label under the label."""
    if len(row) < 3 or any(has_digit(s.text) or _fragment(s.text) for s in row):
        return False
    after = [s for s in row if s.bbox[0] >= printed.bbox[2] - 1]
    if not after:
        return False
    under = neighbours.below(page, printed)
    if under is None or not columns.figures(under.text):
        return False
    beside = neighbours.below(page, min(after, key=lambda s: s.bbox[0]))
    return beside is None or columns.figures(beside.text)


def _fragment(text: str) -> bool:
    """A printed one-character "value" ("N", "|") is a stray mark or OCR noise, not an answer;
    a lone digit is a count (or a share: "7%"), and a character in quotes ('"D"') was written
    as one."""
    text = text.strip()
    return (
        sum(c.isalnum() for c in text) < 2
        and not text.rstrip(":").removesuffix("%").isdigit()
        and not _QUOTED_CHARACTER.fullmatch(text)
    )


def _marks_item(marker: Segment, item: Segment) -> bool:
    """Whether `marker` is a list's item marker ("a)", "(b)", "1.") set close before the
    item's words on its line: the answer lists its items, the marker is its own."""
    gap = item.bbox[0] - marker.bbox[2]
    return (
        neighbours.ITEM_MARKER.fullmatch(marker.text) is not None
        and item.line == marker.line
        and gap <= neighbours.WORD_GAP * marker.height
    )


def _stray(page: PageWords, segment: Segment) -> bool:
    """A stray mark, or a lone digit of characters printed one under another (a number
    stamped down the margin): OCR reads those as a stack of one-character segments."""
    return _fragment(segment.text) or (
        sum(c.isalnum() for c in segment.text) == 1 and neighbours.stacked(page, segment)
    )


def label_fit(score: float) -> float:
    """How far a label match is trusted: exact words fully, fuzzy matches much less."""
    return 1.0 if score >= 100 else (score / 100) ** LABEL_FIT_POWER


def read_fit(page: PageWords, segments: list[Segment]) -> float:
    """How sure the reading of the value's characters is: OCR's own word confidence, capped
    below a text layer's, because a scan can misread a character and still be confident. A box
    drawn on a scan (no words) is read from its pixels, which noise can mislead alike."""
    if page.source == "text" or (segments and all(s.widget for s in segments)):
        return 1.0
    words = [w for s in segments for w in s.words]
    characters = sum(len(w.text) for w in words)
    if not characters:
        return OCR_FIT
    # Weighted by characters: one stray mark read at 0 % must not sink a long, clean value.
    return OCR_FIT * sum(w.confidence * len(w.text) for w in words) / characters


def _boolean_value(
    page: PageWords,
    spec: FieldSpec,
    label: Segment,
    right: list[Segment],
    score: float,
    printed: Segment,
) -> Candidate | None:
    answer = ticks.boolean_answer(page, label, right, printed)
    if answer is None:
        return None
    state, bbox, values = answer
    source = "acroform" if values and values[0].widget else page.source
    confidence = label_fit(score) * read_fit(page, values)
    found = Found(state, page.number, bbox, round(confidence, 3), source)
    return Candidate(spec, score, [id(printed), *(id(v) for v in values)], found)
