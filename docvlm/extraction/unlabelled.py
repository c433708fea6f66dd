"""Fields that no printed label names — who issued a receipt or letter, that issuer's
address, the document's own date — read from the letterhead or from the page as a whole, when
the field's name or description says it is one of those and the evidence is clear.

The address is found first where the head of the page (the lines above its first date or
amount) prints a postcode with its place ("33100 Paderborn", "CAMBRIDGE CB2 1TN",
"CA 94102"): the block runs from the street line(s) above it to the street printed under it,
and the issuer is the name printed right above that block — so a slogan, an advert or a logo
printed higher up is never taken for the name. A company registration number under the name
("(123456-X)") is skipped, and a legal form on a line of its own ("SDN BHD") joins the line
above. Where no postcode is printed, the letterhead (the lines above the document's first
label, date, amount or contact line) is read instead: the issuer is its first line when that
reads as a name, the address the block of lines after it where one holds a number. A date
field is filled only where the page prints exactly one date. Anything else stays null: with
`--model` the VLM reads such fields instead.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from docvlm.engines.ocr_tesseract import ink_mask
from docvlm.extraction.pairing import MIN_CONFIDENCE, STRONG_LABEL_SCORE, Found, label_score
from docvlm.extraction.schema import FieldSpec, label_candidates
from docvlm.extraction.values import (
    CENTS,
    DateOrder,
    date_substrings,
    parse_amount,
    parse_value,
    read_date,
)
from docvlm.extraction.words import PageWords, Segment
from docvlm.geometry import union

ISSUER_WORDS = ("issuer", "issued", "company", "shop", "store", "merchant", "vendor", "seller",
                "supplier", "business", "restaurant", "sender")  # fmt: skip
ADDRESS_WORDS = ("address",)
# A field about the issuer's number, code or contact is not its name or address.
OTHER_WORDS = ("id", "number", "no", "vat", "tax", "code", "phone", "email", "date", "account",
               "iban", "reg", "registration", "fax", "website", "total")  # fmt: skip
# Legal-entity suffixes make a letterhead line a name beyond doubt.
_ENTITY = re.compile(
    r"\b(?:SDN\.?\s*BHD|BHD|LTD|LIMITED|INC|LLC|LLP|PLC|GMBH|AG|S\.?A\.?|S\.?R\.?L|B\.?V|"
    r"PTY|S/B|CO\.?|CORP(?:ORATION)?|COMPANY|ENTERPRISES?|TRADING|HOLDINGS)\b\.?",
    re.IGNORECASE,
)
# A company registration number printed alone under the name: "(123456-X)", "(CO. REG: 226821-K)".
_REGISTRATION = re.compile(
    r"^\(?\s*(?:(?:co(?:mpany)?|reg(?:istration)?|roc|no)\b[.:]?\s*)*[\d\s-]{5,}[A-Z]?\s*\)?\.?$",
    re.IGNORECASE,
)
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
# A date field with only these words in its name and title is the document's own date.
DOCUMENT_DATE_WORDS = frozenset(
    {"date", "of", "the", "document", "receipt", "invoice", "bill", "transaction", "purchase",
     "sale", "order", "issue", "issued"}
)  # fmt: skip
DATE_CONFIDENCE = 0.6
MAX_LETTERHEAD_LINES = 7
MAX_HEAD_LINES = 16  # a receipt's advert, logo and slogans above the issuer's name included
MAX_ADDRESS_LINES = 4
MAX_ADDRESS_WORDS = 10  # a line of a postal address; a sentence is longer
MAX_LOWER_WORDS = 3
MAX_NAME_WORDS = 8
ENTITY_NAME_CONFIDENCE = 0.75
PLAIN_NAME_CONFIDENCE = 0.5
ADDRESS_CONFIDENCE = 0.55
# A logo's reading: OCR's mean confidence below this (a faded receipt's right words: 0.6), or
# ink over this share of its box (white letters on a dark badge; print fills a third at most).
MARK_CONFIDENCE = 0.4
MARK_INK = 0.5


def unlabelled_fields(
    root: FieldSpec,
    pages: list[PageWords],
    found: dict[str, Found],
    date_order: DateOrder | None = None,
) -> dict[str, Found]:
    """Issuer and address fields of `root` left unfilled and unlabelled, from page 1's
    letterhead, and the document's date where the pages print only one."""
    if not pages:
        return {}
    out = {
        spec.pointer: date
        for spec in root.properties.values()
        if spec.pointer not in found and _names_document_date(spec)
        and (date := _only_date(spec, pages, date_order)) is not None
    }  # fmt: skip
    wanted = {
        role: spec
        for spec in root.properties.values()
        if spec.kind == "string" and spec.enum is None and spec.format is None
        and spec.pointer not in found
        and (role := _role(spec)) is not None
        and not _printed_label(spec, pages)
    }  # fmt: skip
    page = pages[0]
    name, address = _issuer_by_postcode(page) if wanted else ([], [])
    if not address and wanted:
        letterhead = _letterhead(page)
        name = _name_lines(letterhead)
        rest = [line for line in letterhead[len(name) :] if not _REGISTRATION.match(_text(line))]
        address = rest if name and _reads_as_address_block(rest) else []
    if "issuer" in wanted and name:
        text = " ".join(_text(line) for line in name)
        confidence = ENTITY_NAME_CONFIDENCE if _ENTITY.search(text) else PLAIN_NAME_CONFIDENCE
        out[wanted["issuer"].pointer] = _found(page, name, confidence, separator=" ")
    if "address" in wanted and address:
        out[wanted["address"].pointer] = _found(page, address, ADDRESS_CONFIDENCE)
    return {p: f for p, f in out.items() if f.confidence >= MIN_CONFIDENCE}


def _names_document_date(spec: FieldSpec) -> bool:
    """A date field named as the document's own date ("date", "receipt date"), not another
    one ("due date", "date of birth")."""
    words = set(re.findall(r"[a-z]+", f"{spec.name} {spec.title or ''}".lower()))
    return spec.format == "date" and "date" in words and words <= DOCUMENT_DATE_WORDS


def _only_date(
    spec: FieldSpec, pages: list[PageWords], date_order: DateOrder | None
) -> Found | None:
    """The one date the pages print (however often), or None where they print none or
    several."""
    # A date glued to the text around it in one word ("09:48/02.03.2020"), or printed among
    # other figures ("08 .04 .20 09:51 0000545"), counts too.
    readings = [
        (page, segment, parsed)
        for page in pages
        for line in page.lines
        for segment in line
        for text in dict.fromkeys(
            (
                segment.text,
                *date_substrings(segment.text),
                *(d for w in segment.words for d in date_substrings(w.text)),
            )
        )
        if (parsed := parse_value(text, spec, date_order)) is not None
    ]
    if len({parsed.value for _, _, parsed in readings}) != 1:
        return None
    page, segment, parsed = readings[0]
    found = _found(page, [[segment]], DATE_CONFIDENCE * parsed.fit)
    return replace(found, value=parsed.value, warning=parsed.warning)


def _role(spec: FieldSpec) -> str | None:
    described = " ".join(filter(None, (spec.name, spec.title, spec.description)))
    words = set(re.findall(r"[a-z]+", described.lower()))
    if words & set(OTHER_WORDS):
        return None
    if words & set(ADDRESS_WORDS):
        return "address"
    if words & set(ISSUER_WORDS):
        return "issuer"
    return None


def _printed_label(spec: FieldSpec, pages: list[PageWords]) -> bool:
    names = label_candidates(spec)
    return any(
        label_score(segment.text, names) >= STRONG_LABEL_SCORE
        for page in pages
        for line in page.lines
        for segment in line
    )


def _issuer_by_postcode(page: PageWords) -> tuple[list[list[Segment]], list[list[Segment]]]:
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


def _head(page: PageWords) -> list[list[Segment]]:
    """The page's lines above its first date or sum of money, or above a recipient's
    block."""
    head: list[list[Segment]] = []
    for line in page.lines[:MAX_HEAD_LINES]:
        if _RECIPIENT.match(_text(line)) or any(
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


def _may_be_address(line: list[Segment]) -> bool:
    """A line that may be part of an address: short, not a sentence or a form's label, and
    not the issuer's name, registration number or contact line."""
    text = _text(line)
    return (
        len(text.split()) <= MAX_ADDRESS_WORDS
        and not _sentence(text)
        and not _ENTITY.search(text)
        and not _REGISTRATION.match(text)
        and not _CONTACT.match(text)
    )


def _sentence(text: str) -> bool:
    """Running text or a form's label ("Business name, if different from above"): several
    words in lower case. A street's name has at most a few ("12 rue de la Paix")."""
    return sum(word[0].islower() for word in text.split()) > MAX_LOWER_WORDS


def _continues_address(line: list[Segment], previous: list[Segment]) -> bool:
    """A line under the postcode still in the address: a street printed after the place
    ("33100 Paderborn" over "Husener Str. 121"), the place after a street, or a state or
    country after a line its comma continues ("81100 JOHOR BAHRU," over "JOHOR.")."""
    text = _text(line)
    if _CONTACT.match(text) or _ENTITY.search(text) or _sentence(text):
        return False
    if _POSTCODE.search(text) or _NUMBERED_PLACE.fullmatch(text):
        return True
    place = len(text.split()) <= 3 and not any(c.isdigit() for c in text)
    return place and _text(previous).rstrip().endswith(",")


def _name_above(page: PageWords, head: list[list[Segment]], start: int) -> list[list[Segment]]:
    """The name printed right above the address (a registration number between skipped), with
    the line above it where the name's legal form is printed on a line of its own."""
    above = start - 1
    while above >= 0 and _REGISTRATION.match(_text(head[above])):
        above -= 1
    if above < 0:
        return []
    if _ENTITY.fullmatch(_text(head[above]).strip()):
        joined = above > 0 and _reads_as_name(head[above - 1]) and not _mark(page, head[above - 1])
        return head[above - 1 : above + 1] if joined else []
    named = _reads_as_name(head[above]) and not _mark(page, head[above])
    return head[above : above + 1] if named else []


def _letterhead(page: PageWords) -> list[list[Segment]]:
    lines: list[list[Segment]] = []
    for line in page.lines[: MAX_LETTERHEAD_LINES + 1]:
        text = _text(line)
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
    printed light on a dark badge."""
    words = [word for segment in line for word in segment.words]
    letters = sum(c.isalpha() for c in _text(line))
    if letters < 4 or sum(w.confidence for w in words) / len(words) < MARK_CONFIDENCE:
        return True
    image, zoom = page.gray
    x0, y0, x1, y1 = (round(v * zoom) for v in union([w.bbox for w in words]))
    ink = ink_mask(np.asarray(image))[y0:y1, x0:x1]  # against the page's paper, not the box's
    return ink.size > 0 and ink.mean() > MARK_INK


def _title_alone(text: str) -> bool:
    """The document's title on a line of its own ("TAX INVOICE", "OFFICIAL RECEIPT")."""
    return bool(_TITLE.search(text)) and ":" not in text and len(text.split()) <= 3


def _name_lines(letterhead: list[list[Segment]]) -> list[list[Segment]]:
    """The issuer's name: the letterhead's first line where it reads as a name, and the line
    under it where that ends the name with its legal form ("PERDANA TEKNIK INTERNATIONAL" over
    "SDN BHD"), the first line naming none."""
    if not letterhead or not _reads_as_name(letterhead[0]):
        return []
    first = _text(letterhead[0])
    if len(letterhead) > 1 and not _ENTITY.search(first):
        second = _text(letterhead[1])
        entity = _ENTITY.search(second)
        if entity and not any(c.isdigit() for c in second) and entity.end() >= len(second) - 1:
            return letterhead[:2]
    return letterhead[:1]


def _reads_as_name(line: list[Segment]) -> bool:
    """Mostly letters, and not a street or branch with its number ("Pohlweg 110", "Filiale
    547", "12 High Street"); a legal-entity suffix vouches for initials and brackets
    ("MR. K.T.H. (M) SDN BHD")."""
    text = _text(line)
    letters = sum(c.isalpha() for c in text)
    visible = sum(not c.isspace() for c in text)
    entity = _ENTITY.search(text) is not None
    if len(text.split()) > MAX_NAME_WORDS or _sentence(text):
        return False
    if not entity and _NUMBERED_PLACE.fullmatch(text):
        return False
    return letters >= 4 and letters >= (0.5 if entity else 0.7) * visible


def _reads_as_address_block(lines: list[list[Segment]]) -> bool:
    """A few short lines that open with a street number or close with a postcode; the lines
    between may hold none ("TAMAN MELAWATI,")."""
    return (
        0 < len(lines) <= MAX_ADDRESS_LINES
        and all(len(_text(line).split()) <= MAX_ADDRESS_WORDS for line in lines)
        and (_reads_as_address(lines[0]) or _reads_as_address(lines[-1]))
    )


def _reads_as_street(line: list[Segment]) -> bool:
    text = _text(line)
    return bool(_HOUSE_NUMBER.search(text)) and sum(c.isalpha() for c in text) >= 3


def _reads_as_address(line: list[Segment]) -> bool:
    text = _text(line)
    return any(c.isdigit() for c in text) and sum(c.isalpha() for c in text) >= 3


def _text(line: list[Segment]) -> str:
    return " ".join(segment.text for segment in line)


def _found(
    page: PageWords, lines: list[list[Segment]], confidence: float, separator: str = ", "
) -> Found:
    segments = [segment for line in lines for segment in line]
    # The mean, not the weakest word: Tesseract gives right words of a long address 0.6.
    confidences = [w.confidence for s in segments for w in s.words]
    ocr = sum(confidences) / len(confidences) if page.source == "ocr" and confidences else 1.0
    text = separator.join(_text(line).rstrip(", ") for line in lines)
    bbox = union([s.bbox for s in segments])
    return Found(text, page.number, bbox, round(confidence * ocr, 3), page.source)
