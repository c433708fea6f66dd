"""How well printed text names a schema field: words, fuzzy matches and OCR's misreadings."""

from __future__ import annotations

import functools
import re

from rapidfuzz import fuzz

MIN_LABEL_SCORE = 70.0
STRONG_LABEL_SCORE = 88.0
PHRASE_SCORE = 75.0
MISREAD_PENALTY = 5.0  # a label matched only as OCR may have misread it is trusted less
# Characters OCR reads for one another in print ("OATE", "REPORTEO", "F.O.8.", "Revlsion"),
# each mapped to one of its kind.
_LOOK_ALIKE = str.maketrans("0dq1ij|!58fc", "ooolllllsbee")
_ITEM_NUMBER = re.compile(r"^\s*\d{1,2}\s*[.,)]\s*(?=[^\W\d_])")  # "2. ", "5, ", "4.Nature"
# A label's note that tax is included, as a parenthetical is: "TOTAL INCL. GST" names a total.
_WITH_TAX = re.compile(
    r"\b(?:incl|including|inclusive)\b\.?\s*(?:of\s+)?(?:gst|vat|sst|tax|mwst)\b"
)
_SYNONYMS = {
    "no": "number", "nr": "number", "num": "number", "#": "number", "qty": "quantity",
    "amt": "amount", "addr": "address", "dob": "date of birth", "tel": "phone",
    "telephone": "phone", "e-mail": "email", "ref": "reference", "acct": "account",
}  # fmt: skip
CURRENCY_CODES = frozenset(
    {"rm", "myr", "usd", "eur", "euro", "gbp", "sgd", "aud", "cad", "chf", "jpy", "cny", "rmb",
     "hkd", "inr", "idr", "rp", "php", "thb"}
)  # fmt: skip


@functools.lru_cache(maxsize=1 << 16)  # every segment's text is normalized in every pass
def normalize_label(text: str) -> str:
    """Lower-case words with punctuation, parentheticals, currency codes ("TOTAL RM") and
    abbreviations undone."""
    text = re.sub(r"\([^)]*\)", " ", text.lower())
    text = _WITH_TAX.sub(" ", text)
    words = re.findall(r"[a-z0-9#%]+", text.replace("_", " "))
    return " ".join(_SYNONYMS.get(w, w) for w in words if w not in CURRENCY_CODES)


def label_score(text: str, names: list[str]) -> float:
    """How well printed `text` names a field, 0–100: exact words, else fuzzy, subsets discounted.
    An item number before the label ("2. Document(s) Served:") is no word of it, unless the
    field's name has one too ("3. Special Processing" is not "1. Special Processing")."""
    return max((_name_score(text, name) for name in names), default=0.0)


@functools.lru_cache(maxsize=1 << 18)  # pairing scores each segment against each name in every pass
def _name_score(text: str, name: str) -> float:
    printed = text if _ITEM_NUMBER.match(name) else _ITEM_NUMBER.sub("", text)
    return max(0.0, _words_score(printed, name), _misread_score(printed, name))


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
    elif (mine < theirs or theirs < mine) and lettered(min(mine, theirs, key=len)):
        share = min(len(mine), len(theirs)) / max(len(mine), len(theirs))
        score = max(score, 50 + 50 * share)
        if len(theirs) >= 2 and f" {wanted} " in f" {label} ":
            # The field's name as a phrase inside a longer label ("Your first name and
            # middle initial") names it better than scattered shared words do.
            score = max(score, PHRASE_SCORE + (100 - PHRASE_SCORE) * share)
    return score


def lettered(words: set[str]) -> bool:
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
    words = [w for w in re.findall(r"[a-z0-9]+", text) if w not in CURRENCY_CODES]
    return "".join(words).replace("rn", "m").translate(_LOOK_ALIKE)
