"""The bundled OCR engine: blank check, orientation, script → language, Tesseract or RapidOCR,
layout regions and tables, then lines → blocks in reading order."""

from __future__ import annotations

import warnings
from typing import Literal, Protocol

import cv2
import numpy as np
from PIL import Image

from docvlm.document import Block
from docvlm.engines.base import Engine
from docvlm.engines.ocr_layout import OCRLine, cjk_share, lines_to_blocks
from docvlm.engines.orientation import UPRIGHT, Orientation, box_before_turn, upright
from docvlm.errors import EngineUnavailableError
from docvlm.sources import SourcePage

OCRBackendName = Literal["auto", "tesseract", "rapidocr"]
BACKENDS = ("auto", "tesseract", "rapidocr")
RENDER_DPI = 300

# Tesseract's English model reads Latin pages at ~0.95 mean word confidence (0.93 blurred at
# 150 dpi) and Chinese pages at ~0.3 or not at all; below this RapidOCR takes a second look.
AUTO_RECHECK_CONFIDENCE = 0.6
AUTO_CJK_SHARE = 0.3  # RapidOCR's reading has this share of CJK characters → a Chinese page
# A page read below this mean word confidence is flagged low_confidence: see bench/scanned.py.
LOW_CONFIDENCE = 0.7
# Share of a page's pixels that must be ink (after despeckling) for it to be read at all.
MIN_INK_SHARE = 2e-5

# Tesseract data for each script OSD names; the first language is the one to install.
SCRIPT_LANGUAGES = {
    "Arabic": "ara",
    "Bengali": "ben",
    "Cyrillic": "rus",
    "Devanagari": "hin",
    "Greek": "ell",
    "Han": "chi_sim",
    "Hangul": "kor",
    "Hebrew": "heb",
    "Japanese": "jpn+jpn_vert",
    "Tamil": "tam",
    "Thai": "tha",
}


class OCRBackend(Protocol):
    name: str

    def recognize(self, image: Image.Image) -> list[OCRLine]: ...


class OCREngine(Engine):
    """Offline OCR: `tesseract` for Latin script, RapidOCR for Chinese; `auto` picks per page."""

    name = "ocr"

    def __init__(
        self,
        backend: OCRBackendName = "auto",
        *,
        languages: str = "eng",
        dpi: int = RENDER_DPI,
        timeout: float = 120.0,
        layout: bool = True,
    ) -> None:
        if backend not in BACKENDS:
            raise EngineUnavailableError(
                f"unknown OCR backend {backend!r}: use one of {', '.join(BACKENDS)}"
            )
        self.backend = backend
        self.languages = languages
        self.dpi = dpi
        self.layout = layout
        self._tesseract = None
        self._rapid: OCRBackend | None = None
        self._warned_scripts: set[str] = set()
        if backend in ("auto", "tesseract"):
            from docvlm.engines.ocr_tesseract import TesseractBackend

            try:
                self._tesseract = TesseractBackend(languages, timeout)
            except EngineUnavailableError as error:
                warnings.warn(f"{error}; falling back to RapidOCR", RuntimeWarning, stacklevel=2)

    def parse(self, page: SourcePage) -> list[Block]:
        """Blocks of one page in reading order, bboxes in page points; what was learnt about
        the page (orientation, blank, low confidence) goes to `page.findings`."""
        image = page.render_dpi(self.dpi)
        if is_blank(image):
            page.findings.notes.append("blank page: nothing to read")
            return []
        orientation = self._tesseract.orientation(image) if self._tesseract else UPRIGHT
        page.findings.orientation = orientation.rotate
        readable = upright(image, orientation)
        languages = self._languages(orientation, page.findings.notes)
        _, lines = self.recognize(readable, languages)
        regions = self._regions(readable)
        if not lines and not regions:
            page.findings.notes.append("no text found (a figure or an empty scan)")
            return []
        confidence = _confidence(lines)
        if lines and confidence < LOW_CONFIDENCE:
            page.findings.low_confidence = True
            page.findings.notes.append(f"low OCR confidence ({confidence:.2f})")
        blocks = lines_to_blocks(lines, page.number, self.name, regions=regions, image=readable)
        to_points = page.width / image.width
        for block in blocks:
            if block.bbox is not None:
                box = box_before_turn(block.bbox, orientation.rotate, readable.size)
                block.bbox = tuple(round(v * to_points, 2) for v in box)
        return blocks

    def recognize(
        self, image: Image.Image, languages: str | None = None
    ) -> tuple[str, list[OCRLine]]:
        """(backend used, lines in pixels) for one upright page image."""
        if self._tesseract is None:
            return "rapidocr", self._rapidocr().recognize(image)
        lines = self._tesseract.recognize(image, languages)
        if self.backend == "tesseract" or _confidence(lines) >= AUTO_RECHECK_CONFIDENCE:
            return "tesseract", lines
        rapid_lines = self._rapidocr().recognize(image)
        if cjk_share(" ".join(line.text for line in rapid_lines)) >= AUTO_CJK_SHARE:
            return "rapidocr", rapid_lines
        return "tesseract", lines

    def _languages(self, orientation: Orientation, notes: list[str]) -> str:
        """The Tesseract languages for a page: the chosen ones, plus the script OSD saw when
        its data is installed (else a one-line warning and the chosen ones)."""
        wanted = SCRIPT_LANGUAGES.get(orientation.script or "")
        if self._tesseract is None or wanted is None:
            return self.languages
        if set(wanted.split("+")) & set(self.languages.split("+")):
            return self.languages
        installed = [lang for lang in wanted.split("+") if self._tesseract.has_languages(lang)]
        if installed and installed[0] == wanted.split("+")[0]:
            return "+".join([*installed, self.languages])
        package = "tesseract-ocr-" + wanted.split("+")[0].replace("_", "-")
        message = (
            f"{orientation.script} script detected but its Tesseract data is not installed "
            f"(apt-get install {package}, or pass --ocr-lang); read as {self.languages}"
        )
        notes.append(message)
        if orientation.script not in self._warned_scripts:
            self._warned_scripts.add(orientation.script)
            warnings.warn(message, RuntimeWarning, stacklevel=3)
        return self.languages

    def _regions(self, image: Image.Image) -> list:
        if not self.layout:
            return []
        from docvlm.layout import detect_regions

        return detect_regions(image)

    def _rapidocr(self) -> OCRBackend:
        if self._rapid is None:
            from docvlm.engines.ocr_rapid import RapidOCRBackend

            self._rapid = RapidOCRBackend()
        return self._rapid


def is_blank(image: Image.Image) -> bool:
    """True when the page holds (next to) no ink: white, or only scanner speckles."""
    gray = np.asarray(image.convert("L"))
    ink = cv2.medianBlur(gray, 3) < min(128, int(np.median(gray)) - 60)
    return ink.mean() < MIN_INK_SHARE


def _confidence(lines: list[OCRLine]) -> float:
    """Mean word confidence over a page (0 when nothing was read)."""
    scores = [w.confidence for line in lines for w in line.words]
    return sum(scores) / len(scores) if scores else 0.0
