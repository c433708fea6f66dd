"""Tesseract backend: Tesseract's TSV output (word boxes and confidences), from libtesseract kept
loaded in the process (`ocr_libtesseract`), or from the `tesseract` command where the library
cannot be loaded; both give the same TSV for the same image.

Why Tesseract's TSV rather than PyMuPDF's built-in OCR: the TSV gives per-word confidences
(PyMuPDF's OCR text page has none), and on this machine the command alone was as fast as
PyMuPDF's OCR on the same page (1.2 s vs 2.6 s at 150 dpi).
Tesseract's OpenMP threads are capped at one: on a busy 2-core machine the default threading
made a page about 5× slower (7.3 s vs 1.2 s), and pages are parallelised by worker processes.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import statistics
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from docvlm.document import BBox
from docvlm.engines import ocr_libtesseract
from docvlm.engines.ocr_layout import OCRLine, OCRWord, join_words
from docvlm.engines.ocr_libtesseract import LoadedTesseract
from docvlm.engines.orientation import (
    FULL_CHARACTERS,
    UPRIGHT,
    Orientation,
    detect_orientation,
    osd_image,
    trusted,
)
from docvlm.errors import EngineUnavailableError, PageTimeoutError

# Debian/Ubuntu (tesseract 5 and 4), Fedora/Arch/Alpine, Homebrew (Apple silicon and Intel).
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)
# Tesseract's TSV columns (the command prints them as a header line, the library does not).
TSV_COLUMNS = (
    "level",
    "page_num",
    "block_num",
    "par_num",
    "line_num",
    "word_num",
    "left",
    "top",
    "width",
    "height",
    "conf",
    "text",
)
PSM_SPARSE_TEXT = 11  # as much text as possible, in no particular order
RULE_CONTRAST = 60  # a pixel this much darker than the paper may be part of a rule


def find_tessdata(languages: str = "eng") -> Path | None:
    """Folder holding `<lang>.traineddata` for every language in "eng+chi_sim", or None."""
    candidates = []
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        candidates += [Path(prefix), Path(prefix) / "tessdata"]
    candidates += [Path(d) for d in TESSDATA_DIRS]
    wanted = languages.split("+")
    for folder in candidates:
        if all((folder / f"{lang}.traineddata").is_file() for lang in wanted):
            return folder
    return None


class TesseractBackend:
    """Runs Tesseract on a page image and returns its lines with word boxes (pixels)."""

    name = "tesseract"

    def __init__(self, languages: str = "eng", timeout: float = 120.0) -> None:
        self.executable = shutil.which("tesseract")
        self.tessdata = find_tessdata(languages)
        self.in_process = ocr_libtesseract.available()
        if self.executable is None and not self.in_process:
            raise EngineUnavailableError(
                "tesseract is not installed: apt-get install tesseract-ocr (or brew install "
                "tesseract)"
            )
        if self.tessdata is None:
            raise EngineUnavailableError(
                f"tessdata for {languages!r} not found: install tesseract-ocr-"
                f"{languages.split('+')[0].replace('_', '-')} or set TESSDATA_PREFIX"
            )
        self.languages = languages
        self.timeout = timeout
        self._per_thread = threading.local()  # a handle reads one image at a time

    def has_languages(self, languages: str) -> bool:
        """Whether "rus" / "jpn+jpn_vert" data sits beside the backend's own tessdata."""
        return all(
            (self.tessdata / f"{lang}.traineddata").is_file() for lang in languages.split("+")
        )

    def orientation(self, image: Image.Image, characters: int = FULL_CHARACTERS) -> Orientation:
        """OSD's orientation and script for `image` from `characters` blobs (UPRIGHT without
        osd data)."""
        if not self.has_languages("osd"):
            return UPRIGHT
        if not self.in_process:
            return detect_orientation(image, self.executable, str(self.tessdata), characters)
        found = self._handle("osd").osd(np.asarray(osd_image(image)), characters)
        if found is None:
            return UPRIGHT
        # Rounded as the command prints them, so that both decide alike at the thresholds.
        return trusted(
            (360 - found.degrees) % 360,
            round(found.confidence, 2),
            found.script,
            round(found.script_confidence, 2),
        )

    def recognize(
        self,
        image: Image.Image,
        languages: str | None = None,
        psm: int | None = None,
        unless: Callable[[list[BBox]], bool] | None = None,
    ) -> list[OCRLine] | None:
        """Lines of `image` in Tesseract's order, boxes in image pixels; `languages` (e.g.
        "rus+eng") overrides the backend's own for this page, `psm` Tesseract's page
        segmentation mode (11, sparse text, finds scattered form fields). None where `unless`
        holds for the boxes of the text lines Tesseract's layout analysis found: in process it
        is asked before the reading (which reuses that analysis), else after."""
        gray = remove_rules(np.asarray(image.convert("L")))
        languages = languages or self.languages
        if self.in_process:
            tsv = self._handle(languages).tsv(gray, psm, self.timeout, unless)
            return None if tsv is None else parse_tsv(tsv)
        lines = parse_tsv(self._command_tsv(gray, languages, psm))
        return None if unless is not None and unless([line.bbox for line in lines]) else lines

    def _handle(self, languages: str) -> LoadedTesseract:
        """This thread's loaded Tesseract for `languages` (loaded on first use, then kept):
        the server's worker threads share one engine."""
        loaded = self._per_thread.__dict__.setdefault("loaded", {})
        if languages not in loaded:
            loaded[languages] = LoadedTesseract(str(self.tessdata), languages)
        return loaded[languages]

    def _command_tsv(self, gray: np.ndarray, languages: str, psm: int | None) -> str:
        """The `tesseract` command's TSV of a grayscale image."""
        # PNM is read by Leptonica as-is; PNG encoding would cost ~0.2 s per 300-dpi page.
        buffer = io.BytesIO()
        Image.fromarray(gray).save(buffer, format="PPM")
        command = [self.executable, "stdin", "stdout", "--tessdata-dir", str(self.tessdata)]
        command += ["-l", languages]
        command += ["--psm", str(psm), "tsv"] if psm is not None else ["tsv"]
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        try:
            result = subprocess.run(
                command,
                input=buffer.getvalue(),
                capture_output=True,
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PageTimeoutError(f"tesseract took over {self.timeout:.0f} s on a page") from None
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip().splitlines()
            raise EngineUnavailableError(f"tesseract failed: {message[-1] if message else '?'}")
        _header, _, rows = result.stdout.decode("utf-8", errors="replace").partition("\n")
        return rows


def remove_rules(gray: np.ndarray) -> np.ndarray:
    """Whiten long horizontal and vertical rules: Tesseract drops ruled table rows otherwise
    (on the sample report it lost two of three rows of a ruled table).

    A rule is a straight run of ink longer than a twentieth of the page and four glyph heights:
    a stroke of a large glyph (a CJK character, a display heading) is never that long.
    """
    # Measured from the paper's shade: a thin rule blurred and JPEG-compressed is mid-grey
    # (~130 on white), and grey rules left in a table are read as "|" and "[" in every cell.
    ink = ink_mask(gray)
    reach = max(4 * glyph_height(ink), 40)
    horizontal = cv2.getStructuringElement(
        cv2.MORPH_RECT, (int(max(gray.shape[1] // 20, reach)), 1)
    )
    vertical = cv2.getStructuringElement(cv2.MORPH_RECT, (1, int(max(gray.shape[0] // 20, reach))))
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, horizontal)
    rules |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, vertical)
    if not rules.any():
        return gray
    cleaned = gray.copy()
    cleaned[cv2.dilate(rules, np.ones((3, 3), np.uint8)) > 0] = 255
    return cleaned


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """1 where a pixel is RULE_CONTRAST darker than the paper (its median shade)."""
    return (gray < int(np.median(gray)) - RULE_CONTRAST).astype(np.uint8)


def glyph_height(ink: np.ndarray) -> float:
    """Median height in pixels of the ink's connected pieces taller than 2 px (0: none)."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    return float(np.median(heights[heights > 2])) if (heights > 2).any() else 0.0


def parse_tsv(tsv: str) -> list[OCRLine]:
    """Lines from the rows of Tesseract's TSV output, header line dropped (level 4 = line,
    5 = word; conf in 0–100)."""
    line_boxes: dict[tuple[str, ...], tuple[float, float, float, float]] = {}
    line_words: dict[tuple[str, ...], list[OCRWord]] = {}
    rows = csv.DictReader(io.StringIO(tsv), TSV_COLUMNS, delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in rows:
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        left, top = float(row["left"]), float(row["top"])
        box = (left, top, left + float(row["width"]), top + float(row["height"]))
        if row["level"] == "4":
            line_boxes[key] = box
        elif row["level"] == "5" and (row["text"] or "").strip():
            confidence = max(float(row["conf"]), 0.0) / 100
            text = row["text"].strip()
            word = OCRWord(text, box, confidence, _font_size(text, box))
            line_words.setdefault(key, []).append(word)
    lines = []
    for key, words in line_words.items():
        confidence = sum(w.confidence for w in words) / len(words)
        text = join_words([w.text for w in words])
        bbox = line_boxes.get(key, words[0].bbox)
        sizes = [w.size for w in words if w.size]
        size = statistics.median(sizes) if sizes else (bbox[3] - bbox[1]) / 0.93
        lines.append(OCRLine(text, bbox, confidence, tuple(words), size))
    return lines


def _font_size(text: str, bbox: tuple[float, float, float, float]) -> float:
    """Font size from a word's height (0 when unknown): Tesseract's boxes hug the ink, so the
    height is the font size times the share of the em its letters reach."""
    letters = text.rstrip(".,:;!?")
    if not letters.isalpha():
        return 0.0  # digits and punctuation ($ , ( ) /) reach past the letters' extent
    ascends = any(c.isupper() or c in "bdfhklt" for c in letters)
    descends = any(c in "gjpqy" for c in letters)
    share = {(True, True): 0.93, (True, False): 0.72, (False, True): 0.73}.get(
        (ascends, descends), 0.52
    )
    return (bbox[3] - bbox[1]) / share
