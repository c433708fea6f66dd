"""A second, independent reading of the OCR words a value rests on that Tesseract was unsure of.

Tesseract's confidence alone cannot tell a misread character from a faint but right one: on the
scanned bench, of 54 values with a word read under `LEGIBLE`, 7 were wrong and 47 right, and
the form model and no-model extraction read the same words, so they cannot tell either. Two
readers that fail differently agreeing is the usual check: RapidOCR (PP-OCR, another
detector, recognizer and training set) reads the word's crop, and where it reads the same
characters the word is as legible as the surer of the two readings ("ionas" for "jonas",
"initech" for "Initech" and "ax-" for "AX-" were each read otherwise). RapidOCR's rebuilt
spaces are ignored ("NM-41 19832"): a value's characters are what is compared.
"""

from __future__ import annotations

from PIL import Image, ImageOps

from docvlm.anchors import AnchorWord
from docvlm.engines.ocr_rapid import RapidOCRBackend
from docvlm.errors import EngineUnavailableError
from docvlm.extraction.words import OCR_DPI
from docvlm.sources import SourcePage

_EDGE_CHARS = "|[]_"  # stripped from OCR words' ends, as the word layer strips them


class SecondReader:
    """Reads words of one page again from its raster (rendered once, on first need)."""

    def __init__(self, page: SourcePage) -> None:
        self.page = page
        self._raster: Image.Image | None = None

    def confidence(self, word: AnchorWord) -> float:
        """The word's confidence after a second reading: the higher of the two readers'
        where RapidOCR reads the same characters, else the first reader's."""
        second = self._read(word)
        if second is None or _characters(second[0]) != _characters(word.text):
            return word.confidence
        return max(word.confidence, second[1])

    def _read(self, word: AnchorWord) -> tuple[str, float] | None:
        try:
            reader = RapidOCRBackend()
        except EngineUnavailableError:
            return None
        if self._raster is None:
            self._raster = self.page.render_dpi(OCR_DPI).convert("L")
        zoom = OCR_DPI / 72
        x0, y0, x1, y1 = word.bbox
        pad = 0.3 * (y1 - y0)
        crop = self._raster.crop(
            (round((x0 - pad) * zoom), round((y0 - pad) * zoom),
             round((x1 + pad) * zoom), round((y1 + pad) * zoom))
        )  # fmt: skip
        # The detector misses text touching the image's edge: a white margin a line high.
        crop = ImageOps.expand(crop, border=round((y1 - y0) * zoom), fill=255)
        lines = reader.recognize(crop)
        if not lines:
            return None
        text = "".join(line.text for line in lines)
        return text, min(line.confidence for line in lines)


def _characters(text: str) -> str:
    return "".join(text.split()).strip(_EDGE_CHARS)
