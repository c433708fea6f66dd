"""Text as printed on a form → a typed JSON value for one schema field (or None if it isn't one)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz, process

from docvlm.extraction.schema import FieldSpec

CHECKED_GLYPHS = frozenset({"☑", "☒", "✓", "✔", "✗", "✘", "■", "[x]", "[X]", "(x)", "(X)", "⊠"})
UNCHECKED_GLYPHS = frozenset({"☐", "□", "[ ]", "[]", "( )", "()", "○"})
_TRUE_WORDS = frozenset({"yes", "y", "true", "checked", "paid", "on", "x"})
_FALSE_WORDS = frozenset({"no", "n", "false", "unchecked", "unpaid", "off", "none"})
_CURRENCY = re.compile(r"[$€£¥₹₩₽]|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|CNY|INR)\b", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\(?\d[\d.,' ]*\)?")
_DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%d.%m.%y",
    "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d-%b-%Y",
    "%d-%B-%Y", "%b. %d, %Y", "%d %b. %Y", "%Y%m%d",
)  # fmt: skip
MIN_ENUM_SCORE = 80


def parse_value(text: str, spec: FieldSpec) -> tuple[Any, float] | None:
    """(value, confidence in [0, 1]) when `text` reads as a value of `spec`, else None."""
    text = text.strip().strip(":").strip()
    if not text:
        return None
    if spec.enum is not None:
        return parse_enum(text, spec.enum)
    match spec.kind:
        case "boolean":
            value = parse_boolean(text)
            return None if value is None else (value, 1.0)
        case "number" | "integer":
            number = parse_number(text)
            if number is None:
                return None
            if spec.kind == "integer":
                if number != int(number):
                    return None
                return int(number), 1.0
            return number, 1.0
        case "string":
            if spec.format == "date":
                day = parse_date(text)
                return None if day is None else (day.isoformat(), 1.0)
            if spec.format == "date-time":
                moment = _parse_datetime(text)
                return None if moment is None else (moment.isoformat(), 1.0)
            if spec.format == "email":
                found = re.search(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", text)
                return None if found is None else (found.group(0), 1.0)
            return text, 1.0
    return None


def parse_number(text: str) -> float | None:
    """Amounts as printed: currency signs and codes, thousands separators, (negative)."""
    cleaned = _CURRENCY.sub("", text).replace("\u2212", "-").strip()
    match = _NUMBER.fullmatch(cleaned.replace(" ", "")) or _NUMBER.fullmatch(cleaned)
    if match is None:
        return None
    digits = match.group(0).replace(" ", "").replace("'", "")
    negative = digits.startswith("-") or (digits.startswith("(") and digits.endswith(")"))
    digits = digits.strip("+-()")
    if "," in digits and "." in digits:
        # The separator that comes last is the decimal mark: 1,234.56 or 1.234,56.
        thousands = "," if digits.rfind(".") > digits.rfind(",") else "."
        digits = digits.replace(thousands, "").replace(",", ".")
    elif "," in digits:
        head, _, tail = digits.rpartition(",")
        is_thousands = len(tail) == 3 and digits.count(",") >= 1 and head.replace(",", "")
        digits = digits.replace(",", "") if is_thousands else head.replace(",", "") + "." + tail
    elif digits.count(".") > 1:
        digits = digits.replace(".", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    return -value if negative else value


def parse_date(text: str) -> date | None:
    """A calendar date in any of the common printed forms (US order for slashes)."""
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text.strip().rstrip("."))
    cleaned = " ".join(cleaned.split())
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    return None


def _parse_datetime(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        day = parse_date(text)
        return datetime(day.year, day.month, day.day) if day else None


def parse_boolean(text: str) -> bool | None:
    """Checkbox glyphs and yes/no words."""
    compact = text.strip()
    if compact in CHECKED_GLYPHS:
        return True
    if compact in UNCHECKED_GLYPHS:
        return False
    word = compact.lower().strip(".")
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    return None


def parse_enum(text: str, options: list[Any]) -> tuple[Any, float] | None:
    """The enum option `text` names, matched fuzzily; confidence is the match score."""
    labels = [str(option) for option in options]
    best = process.extractOne(text, labels, scorer=fuzz.WRatio, processor=str.lower)
    if best is None or best[1] < MIN_ENUM_SCORE:
        return None
    # WRatio rewards substrings; an exact token is needed when the text is longer than the option.
    if len(text) > 2 * len(best[0]) and best[0].lower() not in text.lower().split():
        return None
    return options[best[2]], best[1] / 100
