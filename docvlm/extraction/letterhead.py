"""A page's letterhead read as who issued the document and that issuer's address, where no
label names them (`unlabelled` fills the fields with them).

The address is found first where the head of the page (the lines above its first date or
amount) prints a postcode with its place ("33100 Paderborn", "CAMBRIDGE CB2 1TN",
"CA 94102"): the block runs from the street line(s) above it to the street printed under it,
and the issuer is the name printed right above that block — so a slogan, an advert or a logo
printed higher up is never taken for the name. A company registration number under the name
("(123456-X)") is skipped, and a legal form on a line of its own ("SDN BHD") joins the line
above. Where no postcode is printed, the letterhead (the lines above the document's first
label, date, amount or contact line) is read instead: the issuer is its first line when that
reads as a name, the address the block of lines after it where one holds a number.
"""

from __future__ import annotations

import re

import numpy as np

from docvlm.engines.ocr_tesseract import ink_mask
from docvlm.extraction.values import CENTS, has_digit, parse_amount, read_date
from docvlm.extraction.words import PageWords, Segment
from docvlm.geometry import union

Lines = list[list[Segment]]  # a page's lines, each its segments left to right
_LETTERS_OR_FIGURES = re.compile(r"[A-Za-z0-9]+")

# Legal-entity suffixes make a letterhead line a name beyond doubt.
_ENTITY = re.compile(
    r"\b(?:SDN\.?\s*BHD|BHD|LTD|LIMITED|INC|LLC|LLP|PLC|GMBH|AG|S\.?A\.?|S\.?R\.?L|B\.?V|"
    r"PTY|S/B|CO\.?|CORP(?:ORATION)?|COMPANY|ENTERPRISES?|TRADING|HOLDINGS)\b\.?",
    re.IGNORECASE,
)
# A company registration number printed alone under the name: "(123456-X)", "(CO. REG: 226821-K)",
# or in brackets after it on its line ("99 SPEED MART S/B (519537-X)"): no part of the name.
_REGISTRATION_NUMBER = (
    r"(?:(?:co(?:mpany)?|reg(?:istration)?|roc|no)\b\s*[.:]?\s*)*[\d\s-]{5,}[A-Z]?"
)
# Malaysia's legal form as OCR misreads its D (as O or 0) or its B (as 8): "SON BHD". Only the
# pair is mended: "SON" alone is a word ("& SON LTD").
_SDN_BHD = re.compile(r"\b[S5][DO0]N(\.?\s*)[B8]H[DO0]\b", re.IGNORECASE)
_REGISTRATION = re.compile(rf"^\(?\s*{_REGISTRATION_NUMBER}\s*\)?\.?$", re.IGNORECASE)
_REGISTRATION_AFTER = re.compile(rf"(?<=\S)\s*\(\s*{_REGISTRATION_NUMBER}\s*\)\.?$", re.IGNORECASE)
# A street line or a branch: words then a house number ("Pohlweg 110", "Filiale 547"), or a
# house number then a street ("12 High Street").
_NUMBERED_PLACE = re.compile(
    r"[^\d]{3,}\s\d{1,4}[a-z]?|\d{1,5}[a-z]?,?\s.*\b(?:street|st|road|rd|avenue|ave|lane|"
    r"drive|boulevard|blvd|jalan|jln)\b.*",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    r"^(?:tel|phone|ph|fax|mobile|hp|e-?mail|www|http|gst|vat|tax|reg|co\.?\s*reg|abn|"
    r"invoice|receipt|bill|cashier|table|date|time)\b",
    re.IGNORECASE,
)
# A postcode with its place: "33100 Paderborn", "D-33100 Paderborn", "40170 SETIA ALAM",
# "331 04 Paderborn" (OCR split it), never a year ("2021 OMB No."),
# "SAN FRANCISCO, CA 94102", "CAMBRIDGE CB2 1TN".
_POSTCODE = re.compile(
    r"(?:^|[\s,])(?:[A-Z]{1,2}-)?(?:(?!(?:19|20)\d\d\b)\d{4,6}|\d{3}\s\d{2})\s+[^\W\d_]{3,}"
    r"|\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"
)
# A house or lot number as a word of its own ("Str. 121", "31G", "30-32", "602-A") or ending
# the street's name where OCR lost the space ("Pohlweg110"); a digit inside a word ("AU1O",
# OCR's misreading of a name) is none.
_HOUSE_NUMBER = re.compile(
    r"(?<!\w)\d{1,5}[a-z]?(?:[-/]\d{1,5}[a-z]?)?(?!\w)|(?<=[^\W\d_])\d{1,5}(?!\w)",
    re.IGNORECASE,
)
# Whoever the document is addressed to: the head ends where their block begins.
_RECIPIENT = re.compile(
    r"^(?:bill(?:ed)?|ship(?:ped)?|sold|deliver(?:ed)?|invoice)\s+to\b|^(?:customer|client|"
    r"recipient|rechnung\s+an|kunde)\b",
    re.IGNORECASE,
)
# The document's title ("TAX INVOICE", "CASH BILL") ends the letterhead wherever it is printed.
_TITLE = re.compile(r"\b(?:invoice|receipt|bill|docket|quotation|statement)\b", re.IGNORECASE)
MAX_LETTERHEAD_LINES = 7
MAX_HEAD_LINES = 16  # a receipt's advert, logo and slogans above the issuer's name included
MAX_ADDRESS_LINES = 4
MAX_ADDRESS_WORDS = 10  # a line of a postal address; a sentence is longer
MAX_LOWER_WORDS = 3
MAX_NAME_WORDS = 8
# A logo's reading: OCR's mean confidence below this (a faded receipt's right words: 0.6), or
# ink over this share of its box (white letters on a dark badge; print fills a third at most,
# a bold wordmark up to 0.58) with the box's edges inked all round (a badge's ground: 0.99 on
# a real receipt; a bold wordmark's letters touch them here and there: 0.09-0.28).
MARK_CONFIDENCE = 0.4
MARK_INK = 0.5
MARK_GROUND = 0.8


def issuer_and_address(page: PageWords) -> tuple[Lines, Lines]:
    """The issuer's name lines and its address lines (either empty where the page does not
    show them clearly): around the first postcode the head of the page prints, else the
    letterhead's first line and the block under it."""
    name, address = _issuer_by_postcode(page)
    if address:
        return name, address
    letterhead = _letterhead(page)
    name = _name_lines(letterhead)
    rest = [line for line in letterhead[len(name) :] if not _REGISTRATION.match(line_text(line))]
    return name, rest if name and _reads_as_address_block(rest) else []


def names_legal_entity(text: str) -> bool:
    """Whether `text` holds a legal form ("SDN BHD", "GmbH", "Ltd."): a name beyond doubt."""
    return _ENTITY.search(text) is not None


def issuer_name(text: str) -> str:
    """The issuer's name as the letterhead prints it, without a registration number after it
    and with OCR's look-alikes mended (`unconfused`, and in the legal form "SDN BHD")."""
    return _REGISTRATION_AFTER.sub("", _SDN_BHD.sub(_sdn_bhd, unconfused(text)))


def _sdn_bhd(match: re.Match) -> str:
    form = f"SDN{match.group(1)}BHD"
    return form if match.group().isupper() else form.title()


def unconfused(text: str) -> str:
    """`text` with the zeros OCR read inside a word of capitals ("J0HOR" → "JOHOR") and the
    letter O read inside a number ("812OO" → "81200") mended: a name or a postcode mixes
    letters and figures ("BS1", "YO1"), but never a word of one kind with the other's
    look-alike alone."""
    return _LETTERS_OR_FIGURES.sub(_mended, text)


def _mended(match: re.Match) -> str:
    word = match.group()
    if len(word) >= 4 and "0" in word and word.replace("0", "").isalpha() and word.isupper():
        return word.replace("0", "O")
    figures = word.replace("O", "")
    if len(figures) >= 2 and "O" in word and figures.isdigit():
        return word.replace("O", "0")
    return word


def line_text(line: list[Segment]) -> str:
    """The line's text, its segments joined by a space."""
    return " ".join(segment.text for segment in line)


# --- around the first postcode -----------------------------------------------------------


def _issuer_by_postcode(page: PageWords) -> tuple[Lines, Lines]:
    """The issuer's name and address lines around the first postcode the head of the page
    prints; ([], []) where it prints none, or none in an address (a form's label, a house
    number with no postcode)."""
    head = _head(page)
    found = next(
        (
            (i, segment)
            for i, line in enumerate(head)
            for segment in line
            if _POSTCODE.search(segment.text) and _may_be_address([segment])
        ),
        None,
    )
    if found is None:
        return [], []
    at, postcode = found
    start = at
    for above in range(at - 1, max(at - MAX_ADDRESS_LINES, -1), -1):
        if not _may_be_address(_segments_over(head[above], postcode) or head[above]):
            break
        if _reads_as_street(head[above]):
            start = above
    end = at + 1
    while (
        end < len(head)
        and end - start < MAX_ADDRESS_LINES
        and _continues_address(head[end], head[end - 1])
    ):
        end += 1
    address = [_segments_over(line, postcode) or line for line in head[start:end]]
    address[at - start] = [postcode]
    # A line alone is an address only with a house number apart from its postcode.
    numbers = _HOUSE_NUMBER.findall(_POSTCODE.sub(" ", postcode.text))
    if len(address) == 1 and not numbers:
        return [], []
    return _name_above(page, head, start), address


def _head(page: PageWords) -> Lines:
    """The page's lines above its first date or sum of money, or above a recipient's
    block."""
    head: Lines = []
    for line in page.lines[:MAX_HEAD_LINES]:
        if _RECIPIENT.match(line_text(line)) or any(
            read_date(s.text) or (CENTS.search(s.text) and parse_amount(s.text) is not None)
            for s in line
        ):
            break
        head.append(line)
    return head


def _segments_over(line: list[Segment], anchor: Segment) -> list[Segment]:
    """The segments of `line` printed over the same columns as `anchor`: an address is
    printed as one column, a slogan or a phone number beside it is not part of it."""
    return [s for s in line if s.bbox[0] < anchor.bbox[2] and s.bbox[2] > anchor.bbox[0]]


def _name_above(page: PageWords, head: Lines, start: int) -> Lines:
    """The name printed right above the address (a registration number between skipped), with
    the line above it where the name's legal form is printed on a line of its own."""
    above = start - 1
    while above >= 0 and _REGISTRATION.match(line_text(head[above])):
        above -= 1
    if above < 0:
        return []
    if _ENTITY.fullmatch(line_text(head[above]).strip()):
        joined = above > 0 and _reads_as_name(head[above - 1]) and not _mark(page, head[above - 1])
        return head[above - 1 : above + 1] if joined else []
    named = _reads_as_name(head[above]) and not _mark(page, head[above])
    return head[above : above + 1] if named else []


# --- the letterhead's first lines --------------------------------------------------------


def _letterhead(page: PageWords) -> Lines:
    lines: Lines = []
    for line in page.lines[: MAX_LETTERHEAD_LINES + 1]:
        text = line_text(line)
        if not lines and (_mark(page, line) or _title_alone(text)):
            continue  # a logo's reading or the document's title printed above the name
        if _REGISTRATION.match(text):
            lines.append(line)
            continue
        if (
            ":" in text
            or _CONTACT.match(text)
            or _TITLE.search(text)
            or any(read_date(s.text) or parse_amount(s.text) is not None for s in line)
        ):
            break
        lines.append(line)
    return lines[:MAX_LETTERHEAD_LINES]


def _mark(page: PageWords, line: list[Segment]) -> bool:
    """A logo or emblem OCR read as text: hardly any letters, words read unsurely, or letters
    printed light on a dark badge (a wordmark in heavy black letters is the name)."""
    words = [word for segment in line for word in segment.words]
    letters = sum(c.isalpha() for c in line_text(line))
    if letters < 4 or sum(w.confidence for w in words) / len(words) < MARK_CONFIDENCE:
        return True
    image, zoom = page.gray
    x0, y0, x1, y1 = (round(v * zoom) for v in union([w.bbox for w in words]))
    ink = ink_mask(np.asarray(image))[y0:y1, x0:x1]  # against the page's paper, not the box's
    if ink.size == 0 or ink.mean() <= MARK_INK:
        return False
    edges = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
    return edges.mean() > MARK_GROUND


def _title_alone(text: str) -> bool:
    """The document's title on a line of its own ("TAX INVOICE", "OFFICIAL RECEIPT")."""
    return bool(_TITLE.search(text)) and ":" not in text and len(text.split()) <= 3


def _name_lines(letterhead: Lines) -> Lines:
    """The issuer's name: the letterhead's first line where it reads as a name, and the line
    under it where that ends the name with its legal form ("PERDANA TEKNIK INTERNATIONAL" over
    "SDN BHD"), the first line naming none."""
    if not letterhead or not _reads_as_name(letterhead[0]):
        return []
    first = line_text(letterhead[0])
    if len(letterhead) > 1 and not _ENTITY.search(first):
        second = line_text(letterhead[1])
        entity = _ENTITY.search(second)
        if entity and not has_digit(second) and entity.end() >= len(second) - 1:
            return letterhead[:2]
    return letterhead[:1]


def _reads_as_name(line: list[Segment]) -> bool:
    """Mostly letters, and not a street or branch with its number ("Pohlweg 110", "Filiale
    547", "12 High Street"); a legal-entity suffix vouches for initials and brackets
    ("MR. K.T.H. (M) SDN BHD")."""
    text = line_text(line)
    letters = sum(c.isalpha() for c in text)
    visible = sum(not c.isspace() for c in text)
    entity = _ENTITY.search(text) is not None
    if len(text.split()) > MAX_NAME_WORDS or _sentence(text):
        return False
    if not entity and _NUMBERED_PLACE.fullmatch(text):
        return False
    return letters >= 4 and letters >= (0.5 if entity else 0.7) * visible


# --- address lines -----------------------------------------------------------------------


def _may_be_address(line: list[Segment]) -> bool:
    """A line that may be part of an address: short, not a sentence or a form's label, and
    not the issuer's name, registration number or contact line."""
    text = line_text(line)
    return (
        len(text.split()) <= MAX_ADDRESS_WORDS
        and not _sentence(text)
        and not _ENTITY.search(text)
        and not _REGISTRATION.match(text)
        and not _CONTACT.match(text)
    )


def _continues_address(line: list[Segment], previous: list[Segment]) -> bool:
    """A line under the postcode still in the address: a street printed after the place
    ("33100 Paderborn" over "Husener Str. 121"), the place after a street, or a state or
    country after a line its comma continues ("81100 JOHOR BAHRU," over "JOHOR.")."""
    text = line_text(line)
    if _CONTACT.match(text) or _ENTITY.search(text) or _sentence(text):
        return False
    if _POSTCODE.search(text) or _NUMBERED_PLACE.fullmatch(text):
        return True
    place = len(text.split()) <= 3 and not has_digit(text)
    return place and line_text(previous).rstrip().endswith(",")


def _sentence(text: str) -> bool:
    """Running text or a form's label ("Business name, if different from above"): several
    words in lower case. A street's name has at most a few ("12 rue de la Paix")."""
    return sum(word[0].islower() for word in text.split()) > MAX_LOWER_WORDS


def _reads_as_address_block(lines: Lines) -> bool:
    """A few short lines that open with a street number or close with a postcode; the lines
    between may hold none ("TAMAN MELAWATI,")."""
    return (
        0 < len(lines) <= MAX_ADDRESS_LINES
        and all(len(line_text(line).split()) <= MAX_ADDRESS_WORDS for line in lines)
        and (_reads_as_address(lines[0]) or _reads_as_address(lines[-1]))
    )


def _reads_as_address(line: list[Segment]) -> bool:
    """An address line: a figure (a house number, a postcode) and a few letters."""
    text = line_text(line)
    return has_digit(text) and sum(c.isalpha() for c in text) >= 3


def _reads_as_street(line: list[Segment]) -> bool:
    """An address line whose figure is a house number ("Husener Str. 121", "31G"), not a
    digit OCR read inside a word."""
    return _reads_as_address(line) and bool(_HOUSE_NUMBER.search(line_text(line)))
