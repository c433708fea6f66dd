"""Fill schema fields from a page's words without a model: label–value pairing and tables.

A field's label is a segment whose text fuzzily matches the field's title or name ("Invoice
No." for `invoice_number`); its value is the segment to the right in the label's band, else the
one just below it (see `neighbours`), free text with the lines that continue it, and must parse
as the field's type, so a date field skips a label whose neighbour is not a date. Candidates
from all pages compete by score and each segment is used once; fields titled alike take their
values in the order their labels are printed.
Arrays of objects are read from a table whose header row names the item's properties.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz import fuzz

from docvlm.document import BBox
from docvlm.extraction import blocks, captions, columns, neighbours, ticks
from docvlm.extraction.cells import cell_of
from docvlm.extraction.neighbours import right_of
from docvlm.extraction.schema import FieldSpec, label_candidates
from docvlm.extraction.values import (
    CENTS,
    DateOrder,
    has_digit,
    has_time_of_day,
    is_typed,
    parse_value,
    read_date,
)
from docvlm.extraction.words import (
    PageWords,
    Segment,
    drawn_checkbox,
    trim_leaders,
    word_parts,
)
from docvlm.extraction.wrapped import join_wrapped_labels
from docvlm.geometry import union

MIN_LABEL_SCORE = 70.0
STRONG_LABEL_SCORE = 88.0
# Where OCR glued a label to its value (see `_unglue_labels`): after a label's punctuation
# before figures or a capital, after two letters or "#" before figures ("B83" is a code),
# and between capitals and a capitalised word.
_GLUED_LABEL = re.compile(
    r"(?<=[A-Za-z)][.;:,])(?=[A-Z0-9$(])|(?<=[A-Za-z'][A-Za-z])(?=[0-9])|(?<=#)(?=[0-9])"
    r"|(?<=[A-Z]{2})(?=[A-Z][a-z])"
)
PHRASE_SCORE = 75.0
PART_SCORE = 95.0
MISREAD_PENALTY = 5.0  # a label matched only as OCR may have misread it is trusted less
# How a fuzzy label's score lowers its value's confidence: squared, a label OCR misread by a
# letter or two ("Faciliry:", "This Anount") sank a value it plainly names under the floor.
LABEL_FIT_POWER = 1.75
# Characters OCR reads for one another in print ("OATE", "REPORTEO", "F.O.8.", "Revlsion"),
# each mapped to one of its kind.
_LOOK_ALIKE = str.maketrans("0dq1ij|!58fc", "ooolllllsbee")
_LABEL_MARKS = frozenset("#№:")  # a word of these after a label's words is the label's
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
# a row header by its table's row of figures (see `columns.table_row`; FUNSD training pages
# 0-105 / 106-148, such values returned: 30 of 31 / 3 of 3 right).
TABLE_COLUMN_FIT = 1.0
# Free text right of a label across a wide empty stretch of its band is as often the next
# column's entry as the label's answer (FUNSD training pages, free text beyond 8 label heights:
# 0-40 58 % right against 81 % nearer; held out, 40-80 33 % against 80 %, 80-105 50 % against
# 76 %). A dot leader or rule end in the stretch is no gap: the eye follows it.
FAR_RIGHT = 8.0  # label heights
FAR_RIGHT_FIT = 0.8
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
ROW_GOES_ON_FIT = 0.75
# A line just under a free-text value of words that starts well left of it (an address under
# "Attn: Mr. Steven Katz", a paragraph wrapped back under its label): the answer may go on
# there, lowered as above (FUNSD training pages 0-105, values at 0.5 and above: 20 of 33 such
# values right, against 88 % of the others).
WRAPS_BACK_GAP = 1.2  # label heights between the value's bottom and that line's top
WRAPS_BACK_LEFT = 1.2  # label heights that line starts left of the value
OCR_FIT = 0.85
CURRENCY_SIGNS = frozenset("$€£¥₹₩₽₺₪₫฿₱")
SIGN_GAP = 2.0  # value heights between a currency sign and the amount it is printed before
# A label read across lines could as well be a table's header row, or lines of two labels
# (FUNSD training pages 0-40: at full confidence one header row's wrong value alone moved the
# cut for 90 % precision and cost 4 points of the recall kept there).
WRAPPED_FIT = 0.9
# A label printed twice with different values: the first reading is kept, less sure. Such
# readings beside a colon label were as often right as other values there (FUNSD training
# pages 0-105: 27 of 30), above free text under a label (56-77 %), which 0.7 tied them with.
RIVAL_PENALTY = 0.75
# Fields titled alike are told apart by the order the schema lists them in, which the page
# may not follow (FUNSD training pages 0-105: 63 of 75 such groups follow it).
ORDER_FIT = 0.85
MIN_CONFIDENCE = 0.4  # below this a reading is dropped (and the field reported unsure)
# Free text OCR read beside a label under this is returned null with a warning, not as a value:
# on FUNSD's training pages such readings were right 63-77 % of the time (0-105 / 106-148:
# the values returned 80.5 / 78.9 % right with them, 89.7 / 88.1 % without). A typed value
# (date, amount) is vouched for by its type, and keeps MIN_CONFIDENCE.
FREE_TEXT_FLOOR = 0.55
SENTENCE_COLON_WORDS = 3  # words before a colon that make a line in lower case a sentence
_ITEM_NUMBER = re.compile(r"^\s*\d{1,2}\s*[.,)]\s*(?=[^\W\d_])")  # "2. ", "5, ", "4.Nature"
_QUOTED_CHARACTER = re.compile(r"[\"'“‘]\w[\"'”’]")
_COUNT = re.compile(r"[(\[]?\d{1,3}[)\]]?")
_NUMBER_CELL = re.compile(r"(?=.*\d)[\d\s.,%()*+\-/#$]+")
_UNIT = re.compile(
    r"(?:mm|cm|m|km|in|ft|mg|g|gm|kg|lbs?|oz|ml|l|cc|%|°[cf]?|hrs?|min|pcs)"
    r"(?:/(?:mm|cm|m|m2|cc|ml|l|kg|g|hr))?",
    re.IGNORECASE,
)
_BEFORE_TAX = re.compile(
    r"\b(?:excl|excluding|exclusive|before tax|w/o tax|ohne|zzgl|hors taxes?|HT|sin iva)\b",
    re.IGNORECASE,
)
# A label's note that tax is included, as a parenthetical is: "TOTAL INCL. GST" names a total.
_WITH_TAX = re.compile(
    r"\b(?:incl|including|inclusive)\b\.?\s*(?:of\s+)?(?:gst|vat|sst|tax|mwst)\b"
)
_SYNONYMS = {
    "no": "number", "nr": "number", "num": "number", "#": "number", "qty": "quantity",
    "amt": "amount", "addr": "address", "dob": "date of birth", "tel": "phone",
    "telephone": "phone", "e-mail": "email", "ref": "reference", "acct": "account",
}  # fmt: skip


_CURRENCY_CODES = frozenset(
    {"rm", "myr", "usd", "eur", "euro", "gbp", "sgd", "aud", "cad", "chf", "jpy", "cny", "rmb",
     "hkd", "inr", "idr", "rp", "php", "thb"}
)  # fmt: skip


@dataclass
class Found:
    """A value read for one field, with where it was read and how sure we are."""

    value: Any
    page: int
    bbox: BBox | None
    confidence: float
    source: str
    warning: str | None = None


@dataclass
class _Candidate:
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


@functools.lru_cache(maxsize=1 << 16)  # every segment's text is normalized in every pass
def normalize_label(text: str) -> str:
    """Lower-case words with punctuation, parentheticals, currency codes ("TOTAL RM") and
    abbreviations undone."""
    text = re.sub(r"\([^)]*\)", " ", text.lower())
    text = _WITH_TAX.sub(" ", text)
    words = re.findall(r"[a-z0-9#%]+", text.replace("_", " "))
    return " ".join(_SYNONYMS.get(w, w) for w in words if w not in _CURRENCY_CODES)


def label_score(text: str, names: list[str]) -> float:
    """How well printed `text` names a field, 0–100: exact words, else fuzzy, subsets discounted.
    An item number before the label ("2. Document(s) Served:") is no word of it, unless the
    field's name has one too ("3. Special Processing" is not "1. Special Processing")."""
    unnumbered = _ITEM_NUMBER.sub("", text)
    best = 0.0
    for name in names:
        printed = text if _ITEM_NUMBER.match(name) else unnumbered
        best = max(best, _words_score(printed, name), _misread_score(printed, name))
    return best


def _words_score(text: str, name: str) -> float:
    """How well the words of `text` name `name`: exact words, else fuzzy, subsets discounted."""
    label, wanted = normalize_label(text), normalize_label(name)
    if not label or not wanted:
        return 0.0
    score = float(fuzz.ratio(label, wanted))
    mine, theirs = set(label.split()), set(wanted.split())
    # The same words, each as often: a label's word printed again after it is an answer
    # repeating it ("Filter Production production").
    if sorted(label.split()) == sorted(wanted.split()):
        score = 100.0
    # Figures alone name no field by a part of its name: "11" of "N_11", "1" of "Line 1"
    # would make every line number a label.
    elif (mine < theirs or theirs < mine) and _lettered(min(mine, theirs, key=len)):
        share = min(len(mine), len(theirs)) / max(len(mine), len(theirs))
        score = max(score, 50 + 50 * share)
        if len(theirs) >= 2 and f" {wanted} " in f" {label} ":
            # The field's name as a phrase inside a longer label ("Your first name and
            # middle initial") names it better than scattered shared words do.
            score = max(score, PHRASE_SCORE + (100 - PHRASE_SCORE) * share)
    return score


def _lettered(words: set[str]) -> bool:
    return any(char.isalpha() for word in words for char in word)


def _misread_score(text: str, name: str) -> float:
    """How well `text` names `name` as OCR may have read it: words glued or spaced apart
    ("QtyInUnits", "Program #:"), look-alike characters, a parenthesis lost ("Print Positioa
    from filter end)"), each scored below an exact match. Initials are no word spaced apart:
    "Dr. A. W." does not read "Draw"."""
    best = 0.0
    for strip in (False, True):
        label, wanted = _skeleton(text, strip), _skeleton(name, strip)
        # Skeletons of lengths too far apart cannot match near-exactly: skip the costlier tests.
        shorter, total = min(len(label), len(wanted)), len(label) + len(wanted)
        if not wanted or 200 * shorter / total - MISREAD_PENALTY < STRONG_LABEL_SCORE:
            continue
        # Figures are no label's misread, nor is a figure the label does not print ("3
        # cartons" is an answer, not "Cartons" misread): OCR reads no letter as a 3.
        if sum(c.isalpha() for c in label) >= 3 and _figures(label) == _figures(wanted):
            best = max(best, fuzz.ratio(label, wanted) - MISREAD_PENALTY)
    # Only a near-exact skeleton names the field: a loose one ("nom" for "A.NOM") is no
    # surer than the words' own fuzzy score.
    if best < STRONG_LABEL_SCORE or _initials(text) > _initials(name):
        return 0.0
    return best


def _initials(text: str) -> int:
    """How many words of one letter `text` prints ("A." and "W." in "Dr. A. W. Spears"), but
    for letters OCR reads for figures ("#I" for "#1")."""
    words = re.findall(r"[^\W\d_]+", text)
    return sum(len(word) == 1 and word.lower() not in "ilo" for word in words)


def _figures(skeleton: str) -> list[str]:
    """The digits a skeleton keeps: those no letter looks like."""
    return sorted(c for c in skeleton if c.isdigit())


@functools.lru_cache(maxsize=4096)
def _skeleton(text: str, strip_parentheses: bool) -> str:
    """Letters and digits only, look-alikes as one, with or without parentheses' words, and
    without a currency code ("Tota l EUR" is "total"), as `normalize_label` has it."""
    text = text.lower().replace("#", " ")
    text = re.sub(r"\([^)]*\)", " ", text) if strip_parentheses else re.sub(r"[()]", " ", text)
    words = [w for w in re.findall(r"[a-z0-9]+", text) if w not in _CURRENCY_CODES]
    return "".join(words).replace("rn", "m").translate(_LOOK_ALIKE)


def pair_fields(
    root: FieldSpec,
    pages: list[PageWords],
    taken: set[str],
    date_order: DateOrder | None = None,
    free_text_floor: float = MIN_CONFIDENCE,
    withheld: dict[str, Found] | None = None,
    printed: dict[str, str] | None = None,
) -> dict[str, Found]:
    """Values for the fields under `root` not in `taken`, keyed by JSON pointer. Free text
    read beside a label less surely than `free_text_floor` is not returned: it goes into
    `withheld` (where given), still claiming its words from the other fields. `printed`
    (where given) gets each field's first label read on the pages, valued or not."""
    scalars, arrays, objects = _walk(root)
    found: dict[str, Found] = {}
    used: set[int] = set()
    used_in_columns: set[int] = set()
    for spec in objects:
        if spec.pointer not in taken and not _has_own_labels(spec, pages):
            found.update(_address_block(spec, pages, used))
    scalars = [(s, parent) for s, parent in scalars if s.pointer not in taken | set(found)]
    pages = _pairing_pages(pages, scalars)
    best_scores = _best_label_scores(pages, scalars)
    label_like = _label_like(pages, best_scores)
    all_names = [label_candidates(spec, parent) for spec, parent in scalars]
    captioned = {id(page) for page in pages if captions.under_values(page, label_like)}
    printed = {} if printed is None else printed
    candidates = [
        candidate
        for page in pages
        for spec, parent in scalars
        for candidate in _scalar_candidates(
            page,
            spec,
            parent,
            label_like,
            (best_scores, all_names),
            date_order,
            id(page) in captioned,
            printed,
        )
    ]
    candidates = _at_own_labels(scalars, candidates, pages)
    alike = {pointer for group in _titled_alike(scalars) for pointer in group}
    labels = {id(s): s for page in pages for line in page.lines for s in line}
    candidates = _whole_labels_first(_surest_first(candidates, labels), alike)
    chosen: dict[str, _Candidate] = {}
    sunk: set[str] = set()
    for candidate in candidates:
        pointer = candidate.field.pointer
        if pointer in chosen or pointer in sunk:
            continue
        unused = [c for c in candidates if used.isdisjoint(c.claimed)]
        candidate = _asked_first(_last_total(candidate, candidates), unused, labels)
        if any(key in used for key in candidate.claimed) or any(
            key in used_in_columns for key in candidate.column_cells
        ):
            continue
        # A header repeated across a table, asked for by fields titled alike, is the table's
        # layout, not a label printed twice (FUNSD pages 0-105: +5 values right, +1 wrong).
        surest = candidate.found.confidence
        if not (candidate.tabled and pointer in alike):
            _doubt_rivals(candidate, unused, labels)
        if candidate.found.confidence < MIN_CONFIDENCE:
            if surest >= MIN_CONFIDENCE:
                sunk.add(pointer)  # by its rivals' doubt: none of them is surer
            continue
        if candidate.goes_on:  # lowered, not dropped: the value may still be whole
            candidate.found.confidence = _lowered(candidate.found.confidence, ROW_GOES_ON_FIT)
        chosen[pointer] = candidate
        used.update(candidate.claimed)
        used_in_columns.update(candidate.column_cells)
    paired = _titled_alike_in_reading_order(scalars, chosen, pages)
    for pointer, value in paired.items():
        if value.confidence >= free_text_floor or not _free_text(chosen[pointer].field, value):
            found[pointer] = value
        elif withheld is not None:
            withheld[pointer] = value
    for spec in arrays:
        if spec.pointer not in taken:
            found.update(_table_rows(spec, pages, date_order) or _list_value(spec, pages, used))
    for spec, _ in scalars:
        if spec.pointer not in found and spec.enum is not None:
            found.update(_lone_enum_value(spec, pages))
    return found


def _surest_first(candidates: list[_Candidate], labels: dict[int, Segment]) -> list[_Candidate]:
    """`candidates` surest first; of equally sure ones (two answers cut at the same ceiling
    claiming one block), one beside a colon (see `_asked_beside`), else the first in reading
    order."""
    return sorted(candidates, key=lambda c: (-c.found.confidence, not _asked_beside(c, labels)))


def _whole_labels_first(candidates: list[_Candidate], alike: set[str]) -> list[_Candidate]:
    """`candidates` with those read from a label run on into more words ("Capital Budget",
    "Original MRA did not...") after all the others, where the field's label is also printed
    alone as well named, with a reading: the words run on are as often the label's own
    wording or the next text as its answer (FUNSD training pages 0-105, fields read both
    ways: the label alone right 34 times, the longer segment 4). Fields titled `alike` are
    each another label's, in the order printed (see `_at_own_labels`)."""
    alone: dict[str, float] = {}
    for candidate in candidates:
        pointer = candidate.field.pointer
        if not candidate.run_on and candidate.found.confidence >= MIN_CONFIDENCE:
            alone[pointer] = max(alone.get(pointer, 0.0), candidate.label_score)
    later = {
        id(c)
        for c in candidates
        if c.run_on
        and c.field.pointer not in alike
        and alone.get(c.field.pointer, -1.0) >= c.label_score - 1
    }
    return [c for c in candidates if id(c) not in later] + [c for c in candidates if id(c) in later]


def _free_text(spec: FieldSpec, value: Found) -> bool:
    """Free text read by OCR: no type vouches for it, and the floor was measured on scans (a
    text layer's words are not misread; a clean form's value under its label reads 0.51)."""
    return value.source == "ocr" and not is_typed(spec)


def _lowered(confidence: float, fit: float) -> float:
    """`confidence` times `fit`, but never under MIN_CONFIDENCE for a reading at or above it:
    the doubt `fit` stands for is of the value's extent or owner, not of the reading itself (a
    typed value stays returned; free text OCR read may fall under FREE_TEXT_FLOOR)."""
    lowered = round(confidence * fit, 3)
    return max(lowered, MIN_CONFIDENCE) if confidence >= MIN_CONFIDENCE else lowered


def _pairing_pages(pages: list[PageWords], scalars: list) -> list[PageWords]:
    """Copies of `pages` whose lines are cut where a label starts inside a segment and have
    wrapped labels joined: the lines pairing reads. The pages' own lines stay as printed for
    what reads them next (the letterhead, a form model's anchors)."""
    copies = []
    for page in pages:
        lines = [list(line) for line in page.lines]
        page = copy.copy(page)  # shares the words, and the raster and cells read so far
        page.lines = lines
        copies.append(page)
    _unglue_labels(copies, [label_candidates(s, p) for s, p in scalars])
    _split_at_labels(copies, scalars)
    join_wrapped_labels(
        copies, [label_candidates(s, p) for s, p in scalars], label_score, STRONG_LABEL_SCORE
    )
    return copies


class _LabelOrder:
    """Where each reading's label is printed, and whether it names fields titled alike
    equally well (not so for "Sent date" where the fields are `sent_date` and
    `received_date`)."""

    def __init__(self, scalars: list, pages: list[PageWords]) -> None:
        self.segments = {id(s): s for page in pages for line in page.lines for s in line}
        self.names = {spec.pointer: label_candidates(spec, parent) for spec, parent in scalars}

    def position(self, candidate: _Candidate) -> tuple[int, int, float]:
        label = self.segments[candidate.claimed[0]]
        return label.page, label.line, label.bbox[0]

    def interchangeable(self, reading: _Candidate, pointers: list[str]) -> bool:
        label = self.segments[reading.claimed[0]]
        return all(_label_in(label, self.names[p])[2] == reading.label_score for p in pointers)


def _at_own_labels(
    scalars: list[tuple[FieldSpec, FieldSpec | None]],
    candidates: list[_Candidate],
    pages: list[PageWords],
) -> list[_Candidate]:
    """`candidates` where fields titled alike ("Date", "Date") have as many labels with a
    value as there are fields: only each field's readings at its own label, the k-th printed
    for the k-th field. A schema lists such fields as the document prints them (FUNSD
    training pages 0-105: 63 of 75 such groups); their labels cannot tell them apart, and
    reading every field at every label lets one field take another's label or value, and
    makes each label's own value a rival of the others'."""
    order = _LabelOrder(scalars, pages)
    drop: set[int] = set()
    for pointers in _titled_alike(scalars):
        readings = [c for c in candidates if c.field.pointer in pointers]
        if not all(order.interchangeable(r, pointers) for r in readings):
            continue
        printed = sorted({order.position(c) for c in readings})
        if len(printed) != len(pointers):
            continue
        own = dict(zip(printed, pointers, strict=True))
        kept = [r for r in readings if own[order.position(r)] == r.field.pointer]
        drop.update(id(r) for r in readings if r not in kept)
        if len({_reading_key(r.found.value) for r in kept}) > 1:  # else the order makes no odds
            for reading in kept:
                reading.found.confidence = _lowered(reading.found.confidence, ORDER_FIT)
    return [c for c in candidates if id(c) not in drop]


def _titled_alike_in_reading_order(
    scalars: list[tuple[FieldSpec, FieldSpec | None]],
    chosen: dict[str, _Candidate],
    pages: list[PageWords],
) -> dict[str, Found]:
    """Each chosen reading's value; fields titled alike take theirs in the order the page
    prints their labels, where confidence alone hands them out at random (see
    `_at_own_labels`, which pairs them where the page prints a label for each)."""
    order = _LabelOrder(scalars, pages)
    found = {pointer: candidate.found for pointer, candidate in chosen.items()}
    for pointers in _titled_alike(scalars):
        readings = sorted((chosen[p] for p in pointers if p in chosen), key=order.position)
        if not readings or not all(order.interchangeable(r, pointers) for r in readings):
            continue
        targets = [p for p in pointers if p in chosen]
        found.update({p: r.found for p, r in zip(targets, readings, strict=True)})
    return found


def _titled_alike(scalars: list[tuple[FieldSpec, FieldSpec | None]]) -> list[list[str]]:
    """Pointers of fields alike in all a reading depends on but their names, two or more."""
    groups: dict[tuple, list[str]] = {}
    for spec, parent in scalars:
        if spec.title:
            alike = (
                normalize_label(spec.title), spec.description, parent and parent.pointer,
                spec.kind, spec.format, repr(spec.enum),
            )  # fmt: skip
            groups.setdefault(alike, []).append(spec.pointer)
    return [pointers for pointers in groups.values() if len(pointers) > 1]


def unsure_fields(
    root: FieldSpec, printed: dict[str, str], found: dict[str, Found]
) -> dict[str, str]:
    """Why each labelled field left unfilled was left so: its label (`printed`, as
    `pair_fields` read them) was found, but no value."""
    scalars, _, _ = _walk(root)
    return {
        spec.pointer: (
            f"label {printed[spec.pointer]!r} found but no value beside or below it reads as "
            f"{_kind_name(spec)}; left empty rather than guessed"
        )
        for spec, _ in scalars
        if spec.pointer in printed and spec.pointer not in found
    }


def _kind_name(spec: FieldSpec) -> str:
    if spec.enum is not None:
        return "one of the options"
    if spec.format in ("date", "date-time"):
        return "a date"
    return {"number": "an amount", "integer": "an integer", "boolean": "a yes/no"}.get(
        spec.kind, "a value"
    )


def _last_total(chosen: _Candidate, candidates: list[_Candidate]) -> _Candidate:
    """Sums are printed below what they add up: of a total's equally well named labels with
    different amounts ("Total (incl. GST) 42.76", "Rounding -0.01", "TOTAL 42.75"), the one
    printed last is the total. A total is printed beside its label: a "Total" with an amount
    under it heads a column (a tax summary's "Netto | MwSt | Total"), whose first cell is one
    row's, so it is the total only where no label has one beside it."""
    if chosen.field.kind != "number" or "total" not in normalize_label(chosen.field.name).split():
        return chosen
    rivals = [chosen, *_rivals(chosen, candidates)]
    beside = [c for c in rivals if not c.under]
    return max(
        beside or rivals, key=lambda c: (c.found.page, c.found.bbox[1] if c.found.bbox else 0.0)
    )


def _rivals(chosen: _Candidate, candidates: list[_Candidate]) -> list[_Candidate]:
    """Readings of the same field from labels that name it as well, with other values."""
    return [
        c
        for c in candidates
        if c.field is chosen.field
        and c is not chosen
        and not c.run_on
        and c.label_score >= chosen.label_score - 1
        and _reading_key(c.found.value) != _reading_key(chosen.found.value)
    ]


def _reading_key(value: Any) -> Any:
    """A value as the answer it reads, OCR's spacing and case aside: "May 1,1985" printed
    twice and read once as "May1,1985" is one answer, not two."""
    return "".join(value.split()).lower() if isinstance(value, str) else value


def _doubt_rivals(
    chosen: _Candidate, candidates: list[_Candidate], labels: dict[int, Segment]
) -> None:
    """A label printed twice with different values beside it ("Last name" for you and for a
    spouse): keep the chosen reading (the surest, the first, or a receipt's last total), but
    not as a sure one, and name a rival in its warning. The field's words opening a
    sentence ("Nature of work should be specified...") are no second label, and a reading
    too unsure to be kept as the field's value (OCR noise, another row's text under an
    unmarked label) is no second value. Nor, for an answer beside its colon, is a reading
    the page does not ask for as surely: under a label, or beside one without a colon."""
    rivals = [c for c in _rivals(chosen, candidates) if c.found.confidence >= MIN_CONFIDENCE]
    if _asked_beside(chosen, labels):
        rivals = [c for c in rivals if _asked_beside(c, labels)]
    if rivals:
        chosen.found.confidence = round(chosen.found.confidence * RIVAL_PENALTY, 3)
        chosen.found.warning = (
            f"its label is printed {len(rivals) + 1} times with different values; "
            f"took {chosen.found.value!r}, not {rivals[0].found.value!r}"
        )


def _asked_first(
    chosen: _Candidate, candidates: list[_Candidate], labels: dict[int, Segment]
) -> _Candidate:
    """Of a field's readings at labels that name it as well, one beside a colon (see
    `_asked_beside`) before the surest of the others ("Chicago: 8/8" before "Chicago 3.3")."""
    if _asked_beside(chosen, labels):
        return chosen
    asked = [
        c
        for c in _rivals(chosen, candidates)
        if _asked_beside(c, labels) and c.found.confidence >= MIN_CONFIDENCE
    ]
    return max(asked, key=lambda c: c.found.confidence, default=chosen)


def _asked_beside(reading: _Candidate, labels: dict[int, Segment]) -> bool:
    """Free text read beside a label ending in a colon, the form's own way to ask for it."""
    return (
        not is_typed(reading.field)
        and not reading.under
        and labels[reading.claimed[0]].text.endswith(":")
    )


def _walk(
    spec: FieldSpec, parent: FieldSpec | None = None
) -> tuple[list[tuple[FieldSpec, FieldSpec | None]], list[FieldSpec], list[FieldSpec]]:
    scalars: list[tuple[FieldSpec, FieldSpec | None]] = []
    arrays: list[FieldSpec] = []
    objects: list[FieldSpec] = []
    if spec.kind == "object":
        if spec.pointer:
            objects.append(spec)
        for child in spec.properties.values():
            child_scalars, child_arrays, child_objects = _walk(
                child, spec if spec.pointer else None
            )
            scalars += child_scalars
            arrays += child_arrays
            objects += child_objects
    elif spec.kind == "array":
        arrays.append(spec)
    else:
        scalars.append((spec, parent))
    return scalars, arrays, objects


def _split_at_labels(pages: list[PageWords], scalars: list) -> None:
    """Cut a segment where another field's label starts inside it: words printed close
    together ("20 mm Net Net Tobacco", a value run into the next label) are two segments. A
    segment that names a field whole ("Sample Specifications Written By", where "Written by"
    is a field too) is that field's label, not two."""
    all_names = [label_candidates(spec, parent) for spec, parent in scalars]
    names = {tuple(normalize_label(name).split()) for group in all_names for name in group}
    names.discard(())  # a label of punctuation only names nothing
    for page in pages:
        for line in page.lines:
            index = 0
            while index < len(line):
                segment = line[index]
                cut = None if segment.widget else _label_start(segment, names)
                if cut is None or _names_whole(segment, cut, all_names):
                    index += 1
                    continue
                head = Segment(segment.words[:cut], segment.page, segment.line, segment.checkbox)
                tail = Segment(segment.words[cut:], segment.page, segment.line)
                line[index : index + 1] = [head, tail]
                index += 1


def _names_whole(segment: Segment, cut: int, all_names: list[list[str]]) -> bool:
    """Whether `segment` names a field as well as its words from `cut` on do: one label of
    more words, not a value or a label run into the next label."""
    tail = " ".join(w.text for w in segment.words[cut:])
    whole = max(label_score(segment.text, names) for names in all_names)
    return whole >= STRONG_LABEL_SCORE and whole >= max(
        label_score(tail, names) for names in all_names
    )


def _unglue_labels(pages: list[PageWords], all_names: list[list[str]]) -> None:
    """Cut a word where a field's label ends inside it and its value goes on: OCR reads the
    space after a label as punctuation ("DATE.3/17/82", "No(s).T.K.9220", "FAX;305)") or
    loses it before figures ("Rec'd6/21/93", "Project #1969-105") or between a label in
    capitals and a capitalised value ("DATEMay.27,")."""
    for page in pages:
        for line in page.lines:
            for index, segment in enumerate(line):
                if not segment.widget:
                    line[index] = _unglued_label(segment, all_names)


def _unglued_label(segment: Segment, all_names: list[list[str]]) -> Segment:
    """`segment` with its first word holding a field's label and a value cut in two."""
    words = segment.words
    for index, word in enumerate(words):
        for match in _GLUED_LABEL.finditer(word.text):
            cut = match.start()
            value = word.text[cut:]
            # Figures, or a word opening in a capital then lower case ("May"; not "S.A.").
            if not (has_digit(value) or (len(value) >= 3 and value[1].islower())):
                continue
            label_end = word.text[:cut]
            named = any(
                label_score(" ".join([*(w.text for w in words[start:index]), label_end]), n)
                >= STRONG_LABEL_SCORE
                for start in range(index + 1)
                for n in all_names
            )
            if named:
                parts = word_parts(word, [(0, cut), (cut, len(word.text))])
                return replace(segment, words=[*words[:index], *parts, *words[index + 1 :]])
    return segment


def _label_start(segment: Segment, names: set[tuple[str, ...]]) -> int | None:
    """The word a label starts at inside `segment` (not at its start): one of several words,
    or a single word where its colon, or its capital ending the segment, marks it as a label
    and a number before it as a value run into it ("June 21, 1993 DEPARTMENT:", "REV.10/79
    DATE"; not "PROJECT NUMBER:", nor "3 cartons"), or where its colon closes the segment after
    a word ending in no letter ("(with BELAIR Badmin- Sample:")."""
    words = [normalize_label(w.text) for w in segment.words]
    counts = [len(w.split()) for w in words]  # "F.P.M." is one word of three of a label's
    for start in range(1, len(words)):
        for name in names:
            end = _words_spanning(counts, start, len(name))
            if end is None or not words[start]:
                continue
            word = segment.words[start].text
            last = start == len(words) - 1
            ends = word.endswith(":") or (last and word[:1].isupper())
            # A colon closing the segment after a word that ends in no letter ("Badmin-
            # Sample:", "Document(s) Served:"): not one label of several words.
            closes = last and word.endswith(":") and not segment.words[start - 1].text[-1].isalnum()
            if len(name) == 1 and not (
                closes or (ends and has_digit(segment.words[start - 1].text))
            ):
                continue
            text = " ".join(w for w in words[start:end] if w)
            if fuzz.ratio(text, " ".join(name)) >= STRONG_LABEL_SCORE:
                return start
    return None


def _words_spanning(counts: list[int], start: int, wanted: int) -> int | None:
    """Where the words from `start` end that hold `wanted` of a label's words in all, each
    word holding `counts` of them; None where no run of them holds exactly that many."""
    total = 0
    for end in range(start, len(counts)):
        total += counts[end]
        if total >= wanted:
            return end + 1 if total == wanted else None
    return None


def _best_label_scores(pages: list[PageWords], scalars: list) -> dict[int, float]:
    """For each printed segment, how well the field it names best is named by it."""
    names = [label_candidates(spec, parent) for spec, parent in scalars]
    return {
        id(segment): max((label_score(segment.text, n) for n in names), default=0.0)
        for page in pages
        for line in page.lines
        for segment in line
        if not segment.widget
    }


def _label_like(pages: list[PageWords], best_scores: dict[int, float]) -> set[int]:
    """Segments that read as labels and are never taken as values: text with letters ending in
    a colon (figures are no label: "7%:" is a value OCR read a mark after) and text naming a
    field."""
    return {
        id(segment)
        for page in pages
        for line in page.lines
        for segment in line
        if not segment.widget
        and (
            (segment.text.endswith(":") and _lettered({segment.text}))
            or best_scores[id(segment)] >= STRONG_LABEL_SCORE
        )
    }


def _scalar_candidates(
    page: PageWords,
    spec: FieldSpec,
    parent: FieldSpec | None,
    label_like: set[int],
    best: tuple[dict[int, float], list[list[str]]],
    date_order: DateOrder | None,
    captions_under: bool,
    printed: dict[str, str],
) -> list[_Candidate]:
    names = label_candidates(spec, parent)
    best_scores, all_names = best
    out: list[_Candidate] = []
    for line in page.lines:
        for segment in line:
            if segment.widget:
                continue
            ticked = None if is_typed(spec) else _after_tick(page, segment, names, all_names)
            if ticked is not None:
                tick, label, score = ticked
                printed.setdefault(spec.pointer, label.text)
                read = _Reading(
                    page, spec, names, label_like, date_order, score, all_names, captions_under
                )
                candidate = read.ticked(label, tick, segment)
                out.extend([candidate] if candidate else [])
                continue
            label, rest, score = _label_in(segment, names)
            if label is not None and score >= STRONG_LABEL_SCORE:
                printed.setdefault(spec.pointer, label.text)
            if label is None or (rest is None and score < best_scores[id(segment)]):
                continue  # no label of this field, or one that names another field better
            if _before_tax(spec, segment):
                continue  # "Total Sales (Excluding GST)": the sum the tax is added to
            if rest is not None and _longer_label(segment, len(label.words), names, all_names):
                continue  # "Date" at the start of "Date Made 11/3/61": another field's label
            read = _Reading(
                page, spec, names, label_like, date_order, score, all_names, captions_under
            )
            candidate = read.value(label, rest, _beside(page, segment), segment)
            if candidate:
                candidate.run_on = rest is not None
                if segment.lead:
                    candidate.found.confidence = round(candidate.found.confidence * WRAPPED_FIT, 3)
                out.append(candidate)
    return out


def _after_tick(
    page: PageWords, segment: Segment, names: list[str], all_names: list[list[str]]
) -> tuple[Segment, Segment, float] | None:
    """The tick opening `segment` and the words after it (`ticks.after_tick`), where those
    words name the field better than the whole does, and no other field better, with their
    score."""
    parts = ticks.after_tick(page, segment)
    if parts is None:
        return None
    tick, label = parts
    score = label_score(label.text, names)
    if score < STRONG_LABEL_SCORE or score <= label_score(segment.text, names):
        return None
    if any(label_score(label.text, other) > score for other in all_names):
        return None
    return tick, label, score


def _before_tax(spec: FieldSpec, printed: Segment) -> bool:
    """Whether `printed` labels a sum before tax, which is no total's label ("Total (excl.
    VAT)", "Summe ohne MwSt", "Total HT")."""
    return (
        spec.kind == "number"
        and "total" in normalize_label(spec.name).split()
        and _BEFORE_TAX.search(printed.text) is not None
    )


def _beside(page: PageWords, label: Segment) -> list[Segment]:
    """What is printed right of `label`; right of a label printed over several lines, right
    of the line with the nearest such text ("Final Report Due 7/9/90 | Wave(s)", "Respondent |
    Incidence: 38%")."""
    lines = [*label.lead, label]
    beside = [(line, right_of(page, line)) for line in lines]
    beside = [(line, right) for line, right in beside if right]
    if not beside:
        return []
    return min(beside, key=lambda pair: pair[1][0].bbox[0] - pair[0].bbox[2])[1]


def _label_in(segment: Segment, names: list[str]) -> tuple[Segment | None, Segment | None, float]:
    """The segment as a label, or its leading words as one with the rest as the value
    ("Date of loss 14/03/2026" printed without a gap), with the label's score. The split is
    taken where the leading words name the field better than the whole segment does."""
    score = label_score(segment.text, names)
    best: tuple[float, int] | None = None
    for split in range(1, len(segment.words)):
        prefix = " ".join(w.text for w in segment.words[:split])
        prefix_score = label_score(prefix, names)
        if prefix_score >= STRONG_LABEL_SCORE and (best is None or prefix_score > best[0]):
            best = (prefix_score, split)
    if best is None or best[0] <= score:
        return (segment, None, score) if score >= MIN_LABEL_SCORE else (None, None, 0.0)
    score, split = best
    while split < len(segment.words) and set(segment.words[split].text) <= _LABEL_MARKS:
        split += 1  # the label's own number sign or colon ("Report # 517", "Date : 5/3/90")
    if split == len(segment.words):
        return segment, None, score
    label = Segment(segment.words[:split], segment.page, segment.line)
    rest = Segment(segment.words[split:], segment.page, segment.line)
    return label, rest, score


def _longer_label(
    segment: Segment, words: int, names: list[str], all_names: list[list[str]]
) -> bool:
    """Whether more than the first `words` words of `segment` name another field."""
    return any(
        label_score(" ".join(w.text for w in segment.words[:end]), other) >= STRONG_LABEL_SCORE
        for end in range(words + 1, len(segment.words) + 1)
        for other in all_names
        if other != names
    )


@dataclass
class _Reading:
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
    ) -> _Candidate | None:
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
            below = columns.first_cell(self.page, header)  # under a gloss, or a taller cell
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
            and not self._heading_across_gap(label, right[0], reach)
            and not self._among_options(label, right[0])
            and not _repeats_label(label, right[0])
            and (cell is None or cell_of([cell], right[0].bbox) is not None)
            and not (self.spec.kind == "number" and _row_of_amounts(label, right))
        ):
            # A tall label's band reaches the next printed line: its segments are not this
            # row's, and where they sit under the value, where the value ends is a guess.
            row = [right[0], *(s for s in right[1:] if s.line == right[0].line)]
            value, count = self._with_units(row, label)
            claimed = [id(printed), *(id(s) for s in row[:count])]
            crowded = read_date(value.text) is None and any(
                _overlaps(s, value) for s in right if s.line != right[0].line
            )
            units = all(_UNIT.fullmatch(s.text) for s in row[1:count])  # "974 | mg" is whole
            numbers = [s for s in row[:count] if not _UNIT.fullmatch(s.text)]  # "99 | mm"
            tabled_row = count > 1 and columns.table_row(self.page, printed, numbers)
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
        row_headed = tabled and bool(columns.row_headed_cells(self.page, printed))
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
            goes_on = self._row_goes_on(label, segment, claimed)
            segment, more, spaced = self._continued(
                segment,
                label,
                column,
                cell if segment is below else None,
            )
            if column is not None and more and not is_typed(self.spec):
                tabled = tabled or self._column_of_figures(column, segment, more)
            if column is not None and tabled and more and not is_typed(self.spec):
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
                    goes_on or self._wraps_back(label, segment, claimed + more)
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

    def _heading_across_gap(self, label: Segment, value: Segment, reach: float) -> bool:
        """A row of headings: free text across a wide gap right of the label."""
        return self._printed_row(label, value) and _far(label, value, reach)

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
        lines = neighbours.continuation(self.page, value, row_start, ends)
        glossed = _gloss(value.text)
        lines = lines or blocks.wrapped_back(self.page, value, row_start, ends, labelled, glossed)
        lines = lines or blocks.indented_under(self.page, value, ends, labelled)
        spaced = neighbours.runs_past(self.page, [value, *lines], row_start, ends)
        if not lines:
            return value, [], spaced
        words = [w for segment in [value, *lines] for w in segment.words]
        return Segment(words, value.page, value.line), [id(s) for s in lines], spaced

    def _row_goes_on(self, label: Segment, value: Segment, claimed: list[int]) -> bool:
        """Whether the first text printed after a free-text value on its line (centred on
        it: the next line's start may reach into its band; a dot or a rule's end is no
        text), nearer than a column's gap, is unread text rather than a label (or a label
        read together with its own value, or one printed as this one is: `_next_label`):
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
        if _next_label(label, value, following):
            return False
        return (
            not following.widget
            and id(following) not in self.label_like
            and not self._opens_with_label(following)
            and following.bbox[0] - value.bbox[2] <= ROW_GOES_ON * label.height
        )

    def _wraps_back(self, label: Segment, value: Segment, claimed: list[int]) -> bool:
        """Whether the line just under a value of words starts well left of it, under its
        column but not before the row does (a line of its own), is no label, has no label
        beside it (the next row's answer), is no gloss in brackets ("(Product Test, AaU,
        etc.)") and may go on with it (see `blocks.may_go_on`): the answer may have wrapped
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
        nearest neighbour along its line, on either side, is another label (a header row),
        or it heads figures (see `_heads_figures`)."""
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
            return printed, False
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
    ) -> _Candidate | None:
        for segment, box in ticks.ticked_options(self.page, self.spec, right):
            candidate = self._candidate(segment, 1.0, [id(printed), id(segment)])
            if candidate:  # else OCR read the box itself as a letter: the option follows
                candidate.found.bbox = union([box, segment.bbox])
                return candidate
        return None

    def ticked(self, label: Segment, tick: Segment, printed: Segment) -> _Candidate | None:
        """The tick `printed` opens, before the label it holds, as the label's answer."""
        return self._mark(label, printed, printed, tick)

    def _mark(
        self, label: Segment, marked: Segment, printed: Segment, tick: Segment | None = None
    ) -> _Candidate | None:
        """The tick opening `marked` (or `tick`, cut from it) as a free-text answer ("New
        Product  X", or glued to the next option's words: "X No"); a typed field has none."""
        if is_typed(self.spec):
            return None
        tick = tick or Segment(marked.words[:1], marked.page, marked.line)
        # Any mark read there is the tick: how surely OCR read it as an "x" says nothing more.
        confidence = _label_fit(self.score) * self._layout_fit(label, tick, "right") * FREE_TEXT_FIT
        confidence *= OCR_FIT if self.page.source == "ocr" else 1.0
        found = Found(
            tick.text.strip(" .,"),
            self.page.number,
            tick.bbox,
            round(confidence, 3),
            self.page.source,
        )
        return _Candidate(self.spec, self.score, [id(printed), id(marked)], found)

    def _candidate(
        self, segment: Segment, position_fit: float, claimed: list[int]
    ) -> _Candidate | None:
        if not segment.widget:
            segment = trim_leaders(segment)
            if segment is None:
                return None
        parsed = parse_value(segment.text, self.spec, self.date_order)
        if parsed is None or (not segment.widget and _stray(self.page, segment)):
            return None
        confidence = (
            _label_fit(self.score)
            * position_fit
            * parsed.fit
            * (1.0 if is_typed(self.spec) else FREE_TEXT_FIT)
            * _read_fit(self.page, [segment])
        )
        source = "acroform" if segment.widget else self.page.source
        found = Found(
            parsed.value, self.page.number, segment.bbox, round(confidence, 3), source,
            parsed.warning,
        )  # fmt: skip
        return _Candidate(self.spec, self.score, claimed, found)


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


def _gloss(text: str) -> bool:
    """Words in brackets, no figures: a label's gloss ("(mg/kg BODY WEIGHT)"), not an answer
    ("(234)", "(Revised 5/9/61)")."""
    return text.startswith("(") and not has_digit(text)


def _printed_alike(label: Segment, value: Segment) -> bool:
    """Words in capitals after or under a label in capitals: the label's own wording, a
    heading, the next label; figures are an answer."""
    return _capitals(label.text) and _capitals(value.text) and not has_digit(value.text)


def _far(label: Segment, value: Segment, reach: float) -> bool:
    """Whether `value` starts across a wide empty stretch of the band past `reach`."""
    # A lone character is the weakest read: a stamp's or a stray mark's as often.
    lone = sum(c.isalnum() for c in value.text) == 1
    return value.bbox[0] - reach > FAR_RIGHT * label.height * (LONE_REACH if lone else 1.0)


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
        for code in _CURRENCY_CODES
    )


def _currency(segment: Segment) -> bool:
    return segment.text.lower() in _CURRENCY_CODES or segment.text in CURRENCY_SIGNS


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


def _label_fit(score: float) -> float:
    """How far a label match is trusted: exact words fully, fuzzy matches much less."""
    return 1.0 if score >= 100 else (score / 100) ** LABEL_FIT_POWER


def _read_fit(page: PageWords, segments: list[Segment]) -> float:
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
) -> _Candidate | None:
    answer = ticks.boolean_answer(page, label, right, printed)
    if answer is None:
        return None
    state, bbox, values = answer
    source = "acroform" if values and values[0].widget else page.source
    confidence = _label_fit(score) * _read_fit(page, values)
    found = Found(state, page.number, bbox, round(confidence, 3), source)
    return _Candidate(spec, score, [id(printed), *(id(v) for v in values)], found)


def _has_own_labels(spec: FieldSpec, pages: list[PageWords]) -> bool:
    """Whether any scalar property of an object has its own label printed somewhere."""
    names = [label_candidates(child, spec) for child in spec.properties.values()]
    return any(
        label_score(segment.text, n) >= STRONG_LABEL_SCORE
        for page in pages
        for line in page.lines
        for segment in line
        for n in names
    )


def _address_block(spec: FieldSpec, pages: list[PageWords], used: set[int]) -> dict[str, Found]:
    """An object printed as a block under its label ("Bill To:" then name, street, city):
    string properties take the block's lines in order, the last one the remaining lines."""
    children = [c for c in spec.properties.values() if c.kind == "string" and c.enum is None]
    if not children:
        return {}
    names = label_candidates(spec)
    best: tuple[float, PageWords, int, Segment] | None = None
    for page in pages:
        for index, line in enumerate(page.lines):
            for segment in line:
                score = label_score(segment.text, names)
                usable = score >= MIN_LABEL_SCORE and id(segment) not in used
                if usable and (best is None or score > best[0]):
                    best = (score, page, index, segment)
    if best is None:
        return {}
    score, page, index, label = best
    block: list[Segment] = []
    bottom = label.bbox[3]
    for line in page.lines[index + 1 :]:
        under = [s for s in line if abs(s.bbox[0] - label.bbox[0]) < 1.5 * label.height]
        if not under or under[0].bbox[1] - bottom > 1.2 * label.height or id(under[0]) in used:
            break
        block.append(under[0])
        bottom = under[0].bbox[3]
    found: dict[str, Found] = {}
    for position, child in enumerate(children):
        if position >= len(block):
            break
        last = position == len(children) - 1
        lines = block[position:] if last else [block[position]]
        text = ", ".join(s.text for s in lines)
        found[child.pointer] = Found(
            text, page.number, union([s.bbox for s in lines]),
            round(score / 100 * _read_fit(page, lines), 3), page.source,
        )  # fmt: skip
        used.update(id(s) for s in lines)
    return found


def _table_rows(
    spec: FieldSpec, pages: list[PageWords], date_order: DateOrder | None
) -> dict[str, Found]:
    """Rows of the table whose header names the item's properties, one item per row."""
    item = spec.items
    if item is None or item.kind != "object":
        return {}
    props = [p for p in item.properties.values() if p.kind not in ("object", "array")]
    needed = max(2, math.ceil(len(props) / 2))
    best: tuple[float, PageWords, int, dict[str, Segment]] | None = None
    for page in pages:
        for index, line in enumerate(page.lines):
            columns = _header_columns(line, props, item)
            if len(columns) >= needed:
                total = sum(score for score, _ in columns.values())
                if best is None or total > best[0]:
                    best = (total, page, index, {k: seg for k, (_, seg) in columns.items()})
    if best is None:
        return {}
    _, page, index, columns = best
    by_name = {p.name: p for p in props}
    found: dict[str, Found] = {}
    row_height = max(s.height for s in columns.values())
    previous_bottom = max(s.bbox[3] for s in columns.values())
    rows_read = 0
    for line in page.lines[index + 1 :]:
        top = min(s.bbox[1] for s in line)
        if top - previous_bottom > 2.5 * row_height:
            break
        cells = _assign_columns(line, columns)
        parsed = {
            name: parse_value(" ".join(s.text for s in segments), by_name[name], date_order)
            for name, segments in cells.items()
        }
        readable = {name: value for name, value in parsed.items() if value is not None}
        required = [p.name for p in props if p.required and not p.nullable and p.name in columns]
        if len(readable) < needed or any(name not in readable for name in required):
            break
        for name, reading in readable.items():
            pointer = f"{spec.pointer}/{rows_read}/{by_name[name].pointer.rsplit('/', 1)[1]}"
            bbox = union([s.bbox for s in cells[name]])
            confidence = reading.fit * _read_fit(page, cells[name])
            found[pointer] = Found(
                reading.value, page.number, bbox, round(confidence, 3), page.source,
                reading.warning,
            )  # fmt: skip
        rows_read += 1  # noqa: SIM113 (rows stop at the first unreadable line, not per line)
        previous_bottom = max(s.bbox[3] for s in line)
    return found


def _header_columns(
    line: list[Segment], props: list[FieldSpec], item: FieldSpec
) -> dict[str, tuple[float, Segment]]:
    pairs = sorted(
        (
            (
                label_score(segment.text, label_candidates(prop, None)),
                prop.name,
                id(segment),
                segment,
            )
            for prop in props
            for segment in line
        ),
        key=lambda pair: -pair[0],
    )
    columns: dict[str, tuple[float, Segment]] = {}
    taken: set[int] = set()
    for score, name, key, segment in pairs:
        if score < MIN_LABEL_SCORE or name in columns or key in taken:
            continue
        columns[name] = (score, segment)
        taken.add(key)
    return columns


def _assign_columns(line: list[Segment], columns: dict[str, Segment]) -> dict[str, list[Segment]]:
    """Each segment of a row goes to the header column it overlaps most (else the nearest)."""
    cells: dict[str, list[Segment]] = {}
    for segment in line:
        x0, _, x1, _ = segment.bbox

        def closeness(name: str, x0: float = x0, x1: float = x1) -> float:
            hx0, _, hx1, _ = columns[name].bbox
            overlap = min(x1, hx1) - max(x0, hx0)
            return overlap if overlap > 0 else -abs((x0 + x1) - (hx0 + hx1)) / 2

        name = max(columns, key=closeness)
        cells.setdefault(name, []).append(segment)
    return cells


def _list_value(spec: FieldSpec, pages: list[PageWords], used: set[int]) -> dict[str, Found]:
    """An array of scalars printed after its label as a comma-separated list."""
    item = spec.items
    if item is None or item.kind in ("object", "array"):
        return {}
    names = label_candidates(spec)
    best: tuple[float, PageWords, Segment] | None = None
    for page in pages:
        for line in page.lines:
            for position, segment in enumerate(line[:-1]):
                score = label_score(segment.text, names)
                if score >= MIN_LABEL_SCORE and (best is None or score > best[0]):
                    best = (score, page, line[position + 1])
    if best is None:
        return {}
    score, page, value = best
    found: dict[str, Found] = {}
    for index, part in enumerate(p for p in re.split(r"[,;]", value.text) if p.strip()):
        parsed = parse_value(part, item)
        if parsed is None:
            return {}
        confidence = _label_fit(score) * parsed.fit * _read_fit(page, [value])
        found[f"{spec.pointer}/{index}"] = Found(
            parsed.value, page.number, value.bbox, round(confidence, 3), page.source
        )
    used.add(id(value))
    return found


def _lone_enum_value(spec: FieldSpec, pages: list[PageWords]) -> dict[str, Found]:
    """An unlabelled enum field whose value is printed verbatim, and only one option is."""
    options = {str(option): option for option in spec.enum or []}
    seen: dict[str, tuple[PageWords, BBox]] = {}
    for page in pages:
        for line in page.lines:
            for segment in line:
                for word in segment.words:
                    token = word.text.strip(".,:;()")
                    if token in options and token not in seen:
                        seen[token] = (page, word.bbox)
    if len(seen) != 1:
        return {}
    ((token, (page, bbox)),) = seen.items()
    return {spec.pointer: Found(options[token], page.number, bbox, 0.6, page.source)}
