"""Text as printed on a form → a typed JSON value for one schema field (or None if it isn't one).

The project's one reader of printed dates and amounts: `read_date` / `parse_date` and
`parse_amount` are what extraction, evaluation and fine-tuning label alignment all use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from rapidfuzz import fuzz, process

from docvlm.extraction.schema import FieldSpec

DateOrder = Literal["dmy", "mdy"]
DATE_ORDERS: tuple[DateOrder, ...] = ("dmy", "mdy")
DEFAULT_DATE_ORDER: DateOrder = "mdy"  # when neither the caller nor the document decides

CHECKED_GLYPHS = frozenset({"☑", "☒", "✓", "✔", "✗", "✘", "■", "[x]", "[X]", "(x)", "(X)", "⊠"})
UNCHECKED_GLYPHS = frozenset({"☐", "□", "[ ]", "[]", "( )", "()", "○"})
_TRUE_WORDS = frozenset({"yes", "y", "true", "checked", "paid", "on", "x"})
_FALSE_WORDS = frozenset({"no", "n", "false", "unchecked", "unpaid", "off", "none"})
MIN_ENUM_SCORE = 80

# Symbols and ISO codes printed beside amounts, or glued to them ("RM12.50", "S$ 4.20");
# "RM" (ringgit), "Rp", "R$", "kr", "zł" are local.
_CURRENCY = re.compile(
    r"(?:(?:\b(?:US|HK|NZ|[RSACN]))?[$€£¥₹₩₽₺₪₫฿₱]|\b(?:RM|Rp|kr|zł|Fr|"
    r"USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|RMB|HKD|SGD|MYR|INR|IDR|THB|PHP|VND|KRW|SEK|NOK|"
    r"DKK|PLN|CZK|HUF|RUB|BRL|MXN|ZAR|TRY|AED|SAR|ILS)(?![A-Za-z])\.?)",
    re.IGNORECASE,
)
_GROUPED = re.compile(
    r"\d{1,3}(?P<sep>[,. '\u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*(?:(?P<mark>[.,])\d+)?"
)
_PLAIN = re.compile(r"\d*(?:[.,]\d+)?")

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4}|\d{2})"
_SEP = r"[\s,.\-/]+"
_TEXTUAL_DATES = [
    re.compile(rf"{_WEEKDAY}{_DAY}(?:\s+of)?{_SEP}{_MONTH}{_SEP}{_YEAR}", re.IGNORECASE),
    re.compile(rf"{_WEEKDAY}{_MONTH}{_SEP}{_DAY}{_SEP}{_YEAR}", re.IGNORECASE),
    re.compile(rf"(?P<year>\d{{4}}){_SEP}{_MONTH}{_SEP}{_DAY}", re.IGNORECASE),
]
_ISO_DATE = re.compile(r"(?P<year>\d{4})([-/.])(?P<month>\d{1,2})\2(?P<day>\d{1,2})")
_COMPACT_DATE = re.compile(r"(?P<year>(?:19|20)\d{2})(?P<month>\d{2})(?P<day>\d{2})")
# A dotted date may have a space after each dot ("04. 04. 2020", as German typists write it,
# and as a till's wide dot-matrix cells are read), or before it ("08 .04 .20", as OCR reads
# a till's wide cells).
_NUMERIC_DATE = re.compile(
    r"(?P<a>\d{1,2})(?: (?=\.))?([-/.])(?:(?<=\.) )?(?P<b>\d{1,2})(?: (?=\.))?\2(?:(?<=\.) )?"
    r"(?P<year>\d{4}|\d{2})"
)
# What may follow a date: a time, and the weekday in brackets ("25/12/2018 (Tue) 14:02").
_TIME = re.compile(
    r"(?:\s*\((?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\))?"
    r"(?:\s*(?:at|T)?\s*\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[ap]\.?m\.?)?"
    r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}|[A-Z]{2,4}))?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateReading:
    """A date read from text. `read_as`: set when day and month could swap (03/04/2026), the
    order that was assumed (`conventional`: by the dotted form's convention, not a guess);
    `evidence`: the order an unambiguous numeric date proves (14/03 → dmy)."""

    value: date
    read_as: DateOrder | None = None
    evidence: DateOrder | None = None
    conventional: bool = False

    @property
    def ambiguous(self) -> bool:
        return self.read_as is not None


def read_date(text: str, order: DateOrder | None = None) -> DateReading | None:
    """The date `text` prints, if the whole text is one date (optionally with a time)."""
    cleaned = " ".join(text.strip().strip(":;,").split())
    for pattern in (_ISO_DATE, *_TEXTUAL_DATES, _NUMERIC_DATE, _COMPACT_DATE):
        match = pattern.match(cleaned)
        if match is None or _TIME.fullmatch(cleaned[match.end() :]) is None:
            continue
        reading = _reading(match, order)
        if reading is not None:
            return reading
    return None


_TIME_OF_DAY = re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?!\d)")


def has_time_of_day(text: str) -> bool:
    """Whether `text` prints a time of day ("15:56"), as a till prints beside a sale's date."""
    return _TIME_OF_DAY.search(text) is not None


def has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def parse_date(text: str, order: DateOrder | None = None) -> date | None:
    """A calendar date in any common printed form; numeric day/month order per `order`."""
    reading = read_date(text, order)
    return None if reading is None else reading.value


def date_order_evidence(texts: Iterable[str]) -> DateOrder | None:
    """The order the unambiguous numeric dates among `texts` use (13/03/2026 → "dmy"); where
    they show none, money in a currency of day-first countries ("RM 12.50", "€") or a tax
    only such countries levy (VAT, GST) does."""
    texts = list(texts)
    votes = Counter(
        reading.evidence
        for text in texts
        for candidate in date_substrings(text)
        if (reading := read_date(candidate)) is not None and reading.evidence
    )
    if not votes:
        return "dmy" if _day_first_country(texts) else None
    if votes["dmy"] == votes["mdy"]:
        return None
    return "dmy" if votes["dmy"] > votes["mdy"] else "mdy"


# Currencies of countries that write dates day-first only (not "$": the US writes month-first).
_DAY_FIRST_MONEY = re.compile(
    r"(?<![A-Za-z])(?:RM|MYR|GBP|EURO?|INR|Rp|IDR|SGD|S\$|AUD|A\$|HKD|HK\$|NZD)(?![A-Za-z])|[£€₹]"
)
# Taxes levied only where dates are written day-first: value added taxes (the US has none) and
# goods and services taxes, but not Canada's (its receipts write dates either way; its GST
# comes beside a provincial HST, PST or QST).
_DAY_FIRST_TAX = re.compile(r"(?<![A-Za-z])(?:VAT|GST|SST|MWST|UST|TVA|IVA|BTW)(?![A-Za-z])", re.I)
_CANADIAN_TAX = re.compile(r"(?<![A-Za-z])(?:HST|PST|QST)(?![A-Za-z])")


def _day_first_country(texts: list[str]) -> bool:
    if any(_CANADIAN_TAX.search(text) for text in texts):
        return False
    return any(_DAY_FIRST_MONEY.search(text) or _DAY_FIRST_TAX.search(text) for text in texts)


# A date inside longer text, never part of a longer run of figures.
_DATES_INSIDE = tuple(
    re.compile(rf"(?<![\d./-]){pattern}")
    for pattern in (
        r"\d{4}([-/.])\d{1,2}\1\d{1,2}(?![./-]?\d)",
        # A time glued to a two-digit year ("11.04.2009:51" is 11.04.20 at 09:51) makes no
        # year 2009.
        r"\d{1,2}(?: (?=\.))?([-/.])(?:(?<=\.) )?\d{1,2}(?: (?=\.))?\1(?:(?<=\.) )?"
        r"(?:\d{2}(?=\d\d:\d\d(?!\d))|(?:\d{4}|\d{2})(?![./-]?\d))",
    )
)


def date_substrings(text: str) -> list[str]:
    """The numeric dates printed inside `text` ("Valid until 15/05/2017"), never part of a
    longer run of figures (the "17-08-14" of "2017-08-14" is none)."""
    return [m.group(0) for pattern in _DATES_INSIDE for m in pattern.finditer(text)]


def _reading(match: re.Match, order: DateOrder | None) -> DateReading | None:
    groups = match.groupdict()
    year = int(groups["year"])
    if len(groups["year"]) == 2:
        year += 2000 if year < 70 else 1900  # strptime's %y pivot
    if "a" in groups:
        first, second = int(groups["a"]), int(groups["b"])
        if first > 12 and second <= 12:
            return _valid(year, second, first, evidence="dmy")
        if second > 12 and first <= 12:
            return _valid(year, first, second, evidence="mdy")
        # Dotted numeric dates (03.04.2026) are a day-first convention wherever they are used.
        conventional = order is None and match.group(2) == "."
        chosen = order or ("dmy" if conventional else DEFAULT_DATE_ORDER)
        day, month = (first, second) if chosen == "dmy" else (second, first)
        if first == second:
            return _valid(year, month, day)
        return _valid(year, month, day, read_as=chosen, conventional=conventional)
    month = groups["month"]
    month_number = int(month) if month.isdigit() else _MONTHS[month.lower().rstrip(".")]
    return _valid(year, month_number, int(groups["day"]))


def _valid(
    year: int,
    month: int,
    day: int,
    read_as: DateOrder | None = None,
    evidence: DateOrder | None = None,
    conventional: bool = False,
) -> DateReading | None:
    try:
        return DateReading(date(year, month, day), read_as, evidence, conventional)
    except ValueError:
        return None


# A receipt printer's monospaced decimal point stands a whole cell from its digits, and OCR
# reads a word break there ("181. 94", "192 .85") or only the break ("330 00": a group of two
# figures is no thousands group).
_SPACED_CENTS = re.compile(r"(\d)\s*([.,])\s*(\d{2})$")
# Money as receipts and invoices print it: with its cents.
CENTS = re.compile(r"\d[.,]\d\d(?!\d)")
# A till prints each amount's tax class after its cents ("49.99 *", "5,18 A", "1,79B").
_TAX_CLASS = re.compile(r"(?<=[.,]\d\d)\s?(?:[A-Z]|\*{1,2})$")
_LOST_POINT = re.compile(r"(\d+) (\d{2})")


def parse_amount(text: str) -> float | None:
    """An amount as printed: currency signs or codes on either side ("RM 19.40", "1.234,50 EUR"),
    either thousands convention (1,234.50 / 1.234,50 / 1 234,50 / 1'234.50), and negatives as
    -12.30, (12.30) or a trailing 12.30-, and a till's tax class after the cents (49.99 *).
    None when anything else is in the text."""
    cleaned = _CURRENCY.sub(" ", text.replace("\u2212", "-")).strip()
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative, cleaned = True, cleaned[1:-1].strip()
    if cleaned[:1] in ("-", "+"):
        negative, cleaned = negative or cleaned[0] == "-", cleaned[1:].strip()
    elif cleaned.endswith("-"):
        negative, cleaned = True, cleaned[:-1].strip()
    cleaned = _CURRENCY.sub(" ", cleaned).strip()  # "-$5" and "$-5" alike
    cleaned = _TAX_CLASS.sub("", cleaned)
    cleaned = _SPACED_CENTS.sub(r"\1\2\3", cleaned)
    cleaned = _LOST_POINT.sub(r"\1.\2", cleaned) if _LOST_POINT.fullmatch(cleaned) else cleaned
    grouped = _GROUPED.fullmatch(cleaned)
    if grouped is not None and grouped["sep"] != grouped["mark"]:
        separator, mark = grouped["sep"], grouped["mark"]
        if mark is None and separator == "." and cleaned.count(".") == 1:
            value = float(cleaned)  # "1.234" alone: read as a decimal point, as Python does
        else:
            integer, _, fraction = cleaned.rpartition(mark) if mark else (cleaned, "", "")
            value = float(integer.replace(separator, "") + "." + (fraction or "0"))
    elif has_digit(cleaned) and _PLAIN.fullmatch(cleaned):
        value = float(cleaned.replace(",", "."))
    else:
        return None
    return -value if negative else value


@dataclass(frozen=True)
class ParsedValue:
    """A typed value read from text; `fit` in [0, 1] says how well the text fits the type
    (1.0 exact, lower for a fuzzy enum option or an assumed day/month order); `warning` says
    what was assumed."""

    value: Any
    fit: float = 1.0
    warning: str | None = None


AMBIGUOUS_DATE_FIT = 0.6
ORDERED_DATE_FIT = 0.85


def parse_value(
    text: str, spec: FieldSpec, date_order: DateOrder | None = None
) -> ParsedValue | None:
    """The value of `spec` that `text` prints, or None when the text is not one."""
    text = text.strip().strip(":").strip()
    if not text:
        return None
    if spec.enum is not None:
        return parse_enum(text, spec.enum)
    match spec.kind:
        case "boolean":
            value = parse_boolean(text)
            return None if value is None else ParsedValue(value)
        case "number" | "integer":
            return _number_value(text, spec)
        case "string":
            return _string_value(text, spec, date_order)
    return None


def is_typed(spec: FieldSpec) -> bool:
    """Whether a value of `spec` is checked by its type (so a label can't pass for one)."""
    return spec.kind != "string" or spec.enum is not None or spec.format in _CHECKED_FORMATS


_CHECKED_FORMATS = frozenset({"date", "date-time", "email"})


def _number_value(text: str, spec: FieldSpec) -> ParsedValue | None:
    percent = text.endswith("%")
    if percent and not _names_a_rate(spec):
        return None  # "8%" is a tax rate, not the total
    number = parse_amount(text[:-1] if percent else text)
    if number is None:
        return None
    if spec.kind == "integer":
        return ParsedValue(int(number)) if number == int(number) else None
    return ParsedValue(number)


def _names_a_rate(spec: FieldSpec) -> bool:
    words = " ".join(filter(None, (spec.name, spec.title, spec.description))).lower()
    return any(word in words for word in ("rate", "percent", "%", "pct"))


def _string_value(text: str, spec: FieldSpec, date_order: DateOrder | None) -> ParsedValue | None:
    if spec.format == "date":
        reading = read_date(text, date_order)
        if reading is None:
            return None
        if not reading.ambiguous:
            return ParsedValue(reading.value.isoformat())
        first = "day" if reading.read_as == "dmy" else "month"
        warning = (
            f"ambiguous date {text!r} read {first}-first "
            "(set --date-order dmy|mdy if that is wrong)"
        )
        # An order the user set, the document's evidence showed or the dotted form's
        # convention gives is less of a guess.
        ordered = date_order is not None or reading.conventional
        fit = ORDERED_DATE_FIT if ordered else AMBIGUOUS_DATE_FIT
        return ParsedValue(reading.value.isoformat(), fit, warning)
    if spec.format == "date-time":
        moment = _parse_datetime(text, date_order)
        return None if moment is None else ParsedValue(moment.isoformat())
    if spec.format == "email":
        found = re.fullmatch(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", text)
        return None if found is None else ParsedValue(found.group(0))
    return ParsedValue(text)


def _parse_datetime(text: str, date_order: DateOrder | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        day = parse_date(text, date_order)
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


def parse_enum(text: str, options: list[Any]) -> ParsedValue | None:
    """The enum option `text` names, matched fuzzily; confidence is the match score."""
    labels = [str(option) for option in options]
    best = process.extractOne(text, labels, scorer=fuzz.WRatio, processor=str.lower)
    if best is None or best[1] < MIN_ENUM_SCORE:
        return None
    # WRatio rewards substrings; an exact token is needed when the text is longer than the option.
    if len(text) > 2 * len(best[0]) and best[0].lower() not in text.lower().split():
        return None
    return ParsedValue(options[best[2]], best[1] / 100)
