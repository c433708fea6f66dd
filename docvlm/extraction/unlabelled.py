"""Fields that no printed label names — who issued a receipt or letter, and that issuer's
address — read from the letterhead, the lines printed above the document's first label, when
the field's name or description says it is one of those and the letterhead is clear.

The letterhead ends at the first line that is a label, a date, an amount or a contact line
(phone, e-mail, tax number), so a body line is never taken for a name. The issuer is its first
line when that reads as a name; the address is the lines after it that hold a number (street
or postcode). Anything else stays null: with `--model` the VLM reads such fields instead.
"""

from __future__ import annotations

import re

from docvlm.extraction.pairing import STRONG_LABEL_SCORE, Found, label_score
from docvlm.extraction.schema import FieldSpec, label_candidates
from docvlm.extraction.values import parse_amount, read_date
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
    r"PTY|CO\.?|CORP(?:ORATION)?|COMPANY|ENTERPRISES?|TRADING|HOLDINGS)\b\.?",
    re.IGNORECASE,
)
_CONTACT = re.compile(
    r"^(?:tel|phone|ph|fax|mobile|hp|e-?mail|www|http|gst|vat|tax|reg|co\.?\s*reg|abn|"
    r"invoice|receipt|bill|cashier|table|date|time)\b",
    re.IGNORECASE,
)
MAX_LETTERHEAD_LINES = 6
ENTITY_NAME_CONFIDENCE = 0.75
PLAIN_NAME_CONFIDENCE = 0.5
ADDRESS_CONFIDENCE = 0.55


def unlabelled_fields(
    root: FieldSpec, pages: list[PageWords], found: dict[str, Found]
) -> dict[str, Found]:
    """Issuer and address fields of `root` left unfilled and unlabelled, from page 1's
    letterhead."""
    if not pages:
        return {}
    wanted = {
        role: spec
        for spec in root.properties.values()
        if spec.kind == "string" and spec.enum is None and spec.format is None
        and spec.pointer not in found
        and (role := _role(spec)) is not None
        and not _printed_label(spec, pages)
    }  # fmt: skip
    if not wanted:
        return {}
    page = pages[0]
    letterhead = _letterhead(page)
    out: dict[str, Found] = {}
    name_line = letterhead[0] if letterhead and _reads_as_name(letterhead[0]) else None
    if "issuer" in wanted and name_line is not None:
        confidence = (
            ENTITY_NAME_CONFIDENCE if _ENTITY.search(_text(name_line)) else PLAIN_NAME_CONFIDENCE
        )
        out[wanted["issuer"].pointer] = _found(page, [name_line], confidence)
    if "address" in wanted and name_line is not None:
        address = [line for line in letterhead[1:] if _reads_as_address(line)]
        if address and address == letterhead[1 : 1 + len(address)]:
            out[wanted["address"].pointer] = _found(page, address, ADDRESS_CONFIDENCE)
    return out


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


def _letterhead(page: PageWords) -> list[list[Segment]]:
    lines: list[list[Segment]] = []
    for line in page.lines[: MAX_LETTERHEAD_LINES + 1]:
        text = _text(line)
        if (
            ":" in text
            or _CONTACT.match(text)
            or any(read_date(s.text) or parse_amount(s.text) is not None for s in line)
        ):
            break
        lines.append(line)
    return lines[:MAX_LETTERHEAD_LINES]


def _reads_as_name(line: list[Segment]) -> bool:
    text = _text(line)
    letters = sum(c.isalpha() for c in text)
    visible = sum(not c.isspace() for c in text)
    return letters >= 4 and letters >= 0.7 * visible


def _reads_as_address(line: list[Segment]) -> bool:
    text = _text(line)
    return any(c.isdigit() for c in text) and sum(c.isalpha() for c in text) >= 3


def _text(line: list[Segment]) -> str:
    return " ".join(segment.text for segment in line)


def _found(page: PageWords, lines: list[list[Segment]], confidence: float) -> Found:
    segments = [segment for line in lines for segment in line]
    ocr = min((w.confidence for s in segments for w in s.words), default=1.0)
    if page.source == "text":
        ocr = 1.0
    text = ", ".join(_text(line) for line in lines)
    bbox = union([s.bbox for s in segments])
    return Found(text, page.number, bbox, round(confidence * ocr, 3), page.source)
