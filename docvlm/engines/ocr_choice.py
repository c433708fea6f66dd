"""Which reader reads a page in Latin script, and at what size: a small page image is
enlarged for OCR (`enlarged`), and RapidOCR (PP-OCRv4) reads it again where Tesseract read
it unsurely (`read_unsurely`: parse's OCR engine and extraction's word layer) or, for
extraction's words only, read small print (`rapid_reads_better`)."""

from __future__ import annotations

import statistics
from dataclasses import replace
from functools import lru_cache

from PIL import Image

from docvlm.engines.ocr_layout import OCRLine, OCRWord, is_cjk
from docvlm.engines.ocr_rapid import RapidOCRBackend

MIN_OCR_SIDE = 2000  # pixels on the longer side; ~ 180 dpi for a letter page
MAX_OCR_UPSCALE = 3.0
# Small print in a scan's own pixels (a ~100 dpi archive page: words ~10 px high) is read by
# PP-OCRv4 (RapidOCR), which reads it far better than Tesseract even after enlarging: of FUNSD
# training pages' answers 89 % against 72 % were read at fuzzy >= 80, at ~8x the CPU time.
# At print ~20 px high and more Tesseract reads as well or better (generated receipts: it
# keeps decimal points and accents that RapidOCR drops). RapidOCR reads Latin and Chinese.
SMALL_PRINT_PX = 16  # median word height
# Print Tesseract reads unsurely all over (a till's dot-matrix or faded thermal print: "SUMME EUR
# 28,81" read "SUMME / | EUR s | op 20,01 24") is read by RapidOCR too. Tesseract's median
# confidence of a page's words is 0.95-0.96 on clean print (30 generated till receipts, 8
# receipts, 27 scanned synthetic forms: 0.92-0.96) and 0.40-0.92 on 48 real German receipts;
# below this, 39 of them switch (date 25 -> 30 of 48, total 22 -> 33; ~+5 s a page).
UNSURE_MEDIAN = 0.9
# ... over this many words at least: a form's band of a dozen words says little of its print.
UNSURE_MIN_WORDS = 20
RAPID_LANGUAGES = frozenset({"eng", "chi_sim"})


def rapid_reads(languages: str) -> bool:
    """Whether RapidOCR reads the Tesseract `languages` ("eng", "chi_sim", "eng+chi_sim")."""
    return set(languages.split("+")) <= RAPID_LANGUAGES


def rapid_reads_better(words: list[OCRWord], enlarged_by: float) -> bool:
    """Whether Tesseract's `words` of a page (read `enlarged_by` its scan's size) are small
    print in the scan's own pixels, or `read_unsurely`."""
    words = _lettered(words)
    if not words:
        return False
    height = statistics.median(w.bbox[3] - w.bbox[1] for w in words)
    return height / enlarged_by < SMALL_PRINT_PX or read_unsurely(words)


def read_unsurely(words: list[OCRWord]) -> bool:
    """Whether Tesseract was unsure of most of a page's `words`, over UNSURE_MIN_WORDS."""
    confidences = [w.confidence for w in _lettered(words)]
    return len(confidences) >= UNSURE_MIN_WORDS and statistics.median(confidences) < UNSURE_MEDIAN


def _lettered(words: list[OCRWord]) -> list[OCRWord]:
    """Words of two characters or more with a letter or digit: a dashed rule reads unsurely
    anywhere."""
    return [w for w in words if len(w.text) > 1 and any(c.isalnum() for c in w.text)]


def enlarged(image: Image.Image) -> Image.Image:
    """The page at OCR resolution. A small scan (a fax, a 100 dpi archive page) is enlarged:
    Tesseract misreads letters only a few pixels high, and Lanczos keeps their edges."""
    longer = max(image.size)
    if longer >= MIN_OCR_SIDE:
        return image
    scale = min(MIN_OCR_SIDE / longer, MAX_OCR_UPSCALE)
    size = (round(image.width * scale), round(image.height * scale))
    return image.resize(size, Image.Resampling.LANCZOS)


def read_enlarged_by_rapidocr(image: Image.Image) -> list[OCRLine]:
    """RapidOCR's lines of `image` read at OCR resolution (enlarged where small), boxes in
    `image`'s pixels. The page must not be shrunk back to RapidOCR's own page size: at 1200 px
    FUNSD recall fell from 52.8 % to 46.7 %."""
    large = enlarged(image)
    lines = _enlarged_reader().recognize(large)
    if large is image:
        return lines
    shrink = image.width / large.width
    return [line.mapped(lambda box: tuple(v * shrink for v in box)) for line in lines]


@lru_cache(maxsize=1)
def _enlarged_reader() -> RapidOCRBackend:
    return RapidOCRBackend(max_side=MIN_OCR_SIDE)


def latin_only(words: list[OCRWord]) -> list[OCRWord]:
    """Words without the Chinese characters RapidOCR's recognizer sees in marks on a Latin
    page; an empty check box reads as 口 ("mouth") and stays as ☐."""
    kept = []
    for word in words:
        text = "☐" if word.text == "口" else "".join(c for c in word.text if not is_cjk(c))
        if text:
            kept.append(replace(word, text=text))
    return kept


def latin_only_lines(lines: list[OCRLine]) -> list[OCRLine]:
    """`lines` with their words `latin_only`; a line left without words goes."""
    kept = []
    for line in lines:
        words = latin_only(list(line.words))
        if words:
            kept.append(replace(line, text=" ".join(w.text for w in words), words=tuple(words)))
    return kept
