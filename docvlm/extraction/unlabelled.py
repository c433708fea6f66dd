"""Fields that no printed label names — who issued a receipt or letter, that issuer's
address, the document's own date — filled where the field's name or description says it is one
of those and the evidence is clear: the issuer and the address as the page's letterhead shows
them (`letterhead`), a date field only where the page prints exactly one date, or one with a
time of day beside dates without. Anything else
stays null: with `--model` the VLM reads such fields instead.
"""

from __future__ import annotations

import re
from dataclasses import replace

from docvlm.extraction.labels import STRONG_LABEL_SCORE, label_score
from docvlm.extraction.letterhead import (
    Lines,
    issuer_and_address,
    issuer_name,
    line_text,
    names_legal_entity,
    unconfused,
)
from docvlm.extraction.pairing import MIN_CONFIDENCE
from docvlm.extraction.result import Found
from docvlm.extraction.schema import FieldSpec, label_candidates
from docvlm.extraction.values import DateOrder, date_substrings, has_time_of_day, parse_value
from docvlm.extraction.words import PageWords
from docvlm.geometry import union

ISSUER_WORDS = ("issuer", "issued", "company", "shop", "store", "merchant", "vendor", "seller",
                "supplier", "business", "restaurant", "sender")  # fmt: skip
ADDRESS_WORDS = ("address",)
# A field about the issuer's number, code or contact is not its name or address.
OTHER_WORDS = ("id", "number", "no", "vat", "tax", "code", "phone", "email", "date", "account",
               "iban", "reg", "registration", "fax", "website", "total")  # fmt: skip
# A date field with only these words in its name and title is the document's own date.
DOCUMENT_DATE_WORDS = frozenset(
    {"date", "of", "the", "document", "receipt", "invoice", "bill", "transaction", "purchase",
     "sale", "order", "issue", "issued"}
)  # fmt: skip
DATE_CONFIDENCE = 0.6
# Of several dates, the one printed with a time of day is the transaction's ("27.02.2020 15:56"
# over a coupon's "gültig bis 31.03.2020"), though less surely than a lone date.
STAMPED_FIT = 0.85
ENTITY_NAME_CONFIDENCE = 0.75
PLAIN_NAME_CONFIDENCE = 0.5
ADDRESS_CONFIDENCE = 0.55


def unlabelled_fields(
    root: FieldSpec,
    pages: list[PageWords],
    found: dict[str, Found],
    date_order: DateOrder | None = None,
    withheld: dict[str, Found] | None = None,
) -> dict[str, Found]:
    """Issuer and address fields of `root` left unfilled and unlabelled, from page 1's
    letterhead, and the document's date where the pages print only one. A reading less sure
    than MIN_CONFIDENCE goes into `withheld` (where given) instead."""
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
    name, address = issuer_and_address(page) if wanted else ([], [])
    if "issuer" in wanted and name:
        text = " ".join(line_text(line) for line in name)
        confidence = ENTITY_NAME_CONFIDENCE if names_legal_entity(text) else PLAIN_NAME_CONFIDENCE
        issuer = _found(page, name, confidence, separator=" ")
        out[wanted["issuer"].pointer] = replace(issuer, value=issuer_name(issuer.value))
    if "address" in wanted and address:
        found = _found(page, address, ADDRESS_CONFIDENCE)
        out[wanted["address"].pointer] = replace(found, value=unconfused(found.value))
    if withheld is not None:
        withheld |= {p: f for p, f in out.items() if f.confidence < MIN_CONFIDENCE}
    return {p: f for p, f in out.items() if f.confidence >= MIN_CONFIDENCE}


def _names_document_date(spec: FieldSpec) -> bool:
    """A date field named as the document's own date ("date", "receipt date"), not another
    one ("due date", "date of birth")."""
    words = set(re.findall(r"[a-z]+", f"{spec.name} {spec.title or ''}".lower()))
    return spec.format == "date" and "date" in words and words <= DOCUMENT_DATE_WORDS


def _only_date(
    spec: FieldSpec, pages: list[PageWords], date_order: DateOrder | None
) -> Found | None:
    """The one date the pages print (however often), else the one printed with a time of
    day, or None where they print none or several such."""
    # A date glued to the text around it in one word ("09:48/02.03.2020"), or printed among
    # other figures ("08 .04 .20 09:51 0000545"), counts too.
    readings = [
        (page, line, segment, parsed)
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
    dates = {parsed.value for *_, parsed in readings}
    if not dates:
        return None
    fit, warning = 1.0, None
    if len(dates) > 1:
        readings = [r for r in readings if any(has_time_of_day(s.text) for s in r[1])]
        if len({parsed.value for *_, parsed in readings}) != 1:
            return None
        others = ", ".join(sorted(str(d) for d in dates - {readings[0][3].value}))
        fit, warning = (
            STAMPED_FIT,
            f"several dates printed; took the one with a time of day, not {others}",
        )
    page, _, segment, parsed = readings[0]
    found = _found(page, [[segment]], DATE_CONFIDENCE * fit * parsed.fit)
    warnings = "; ".join(w for w in (warning, parsed.warning) if w) or None
    return replace(found, value=parsed.value, warning=warnings)


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


def _found(page: PageWords, lines: Lines, confidence: float, separator: str = ", ") -> Found:
    segments = [segment for line in lines for segment in line]
    # The mean, not the weakest word: Tesseract gives right words of a long address 0.6.
    confidences = [w.confidence for s in segments for w in s.words]
    ocr = sum(confidences) / len(confidences) if page.source == "ocr" and confidences else 1.0
    text = separator.join(line_text(line).rstrip(", ") for line in lines)
    bbox = union([s.bbox for s in segments])
    return Found(text, page.number, bbox, round(confidence * ocr, 3), page.source)
