"""The bundled OCR engine: Tesseract or RapidOCR per page, lines → blocks in reading order."""

from __future__ import annotations

import warnings
from typing import Literal, Protocol

from PIL import Image

from docvlm.document import Block
from docvlm.engines.base import Engine
from docvlm.engines.ocr_layout import OCRLine, cjk_share, lines_to_blocks
from docvlm.errors import EngineUnavailableError
from docvlm.sources import SourcePage

OCRBackendName = Literal["auto", "tesseract", "rapidocr"]
BACKENDS = ("auto", "tesseract", "rapidocr")
RENDER_DPI = 300

# Tesseract's English model reads Latin pages at ~0.95 mean word confidence (0.93 blurred at
# 150 dpi) and Chinese pages at ~0.3 or not at all; below this RapidOCR takes a second look.
AUTO_RECHECK_CONFIDENCE = 0.6
AUTO_CJK_SHARE = 0.3  # RapidOCR's reading has this share of CJK characters → a Chinese page


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
    ) -> None:
        if backend not in BACKENDS:
            raise EngineUnavailableError(
                f"unknown OCR backend {backend!r}: use one of {', '.join(BACKENDS)}"
            )
        self.backend = backend
        self.dpi = dpi
        self._tesseract: OCRBackend | None = None
        self._rapid: OCRBackend | None = None
        if backend in ("auto", "tesseract"):
            from docvlm.engines.ocr_tesseract import TesseractBackend

            try:
                self._tesseract = TesseractBackend(languages, timeout)
            except EngineUnavailableError as error:
                warnings.warn(f"{error}; falling back to RapidOCR", RuntimeWarning, stacklevel=2)

    def parse(self, page: SourcePage) -> list[Block]:
        """Blocks of one page in reading order, bboxes in page points."""
        image = page.render_dpi(self.dpi)
        _, lines = self.recognize(image)
        to_points = page.width / image.width
        return lines_to_blocks([line.scaled(to_points) for line in lines], page.number, self.name)

    def recognize(self, image: Image.Image) -> tuple[str, list[OCRLine]]:
        """(backend used, lines in pixels) for one page image."""
        if self._tesseract is None:
            return "rapidocr", self._rapidocr().recognize(image)
        lines = self._tesseract.recognize(image)
        if self.backend == "tesseract" or _confidence(lines) >= AUTO_RECHECK_CONFIDENCE:
            return "tesseract", lines
        rapid_lines = self._rapidocr().recognize(image)
        if cjk_share(" ".join(line.text for line in rapid_lines)) >= AUTO_CJK_SHARE:
            return "rapidocr", rapid_lines
        return "tesseract", lines

    def _rapidocr(self) -> OCRBackend:
        if self._rapid is None:
            from docvlm.engines.ocr_rapid import RapidOCRBackend

            self._rapid = RapidOCRBackend()
        return self._rapid


def _confidence(lines: list[OCRLine]) -> float:
    """Mean word confidence over a page (0 when nothing was read)."""
    scores = [w.confidence for line in lines for w in line.words]
    return sum(scores) / len(scores) if scores else 0.0
