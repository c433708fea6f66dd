"""A second, independent reading of the OCR words a value rests on that Tesseract was unsure of.

Tesseract's confidence alone cannot tell a misread character from a faint but right one: on the
scanned bench, of 54 values with a word read under `LEGIBLE`, 7 were wrong and 47 right, and
the form model and no-model extraction read the same words, so they cannot tell either. Two
readers that fail differently agreeing is the usual check: RapidOCR (PP-OCR, another
detector, recognizer and training set) reads the word's crop, and where it reads the same
characters the word is as legible as the surer of the two readings ("ionas" for "jonas",
"initech" for "Initech" and "ax-" for "AX-" were each read otherwise). RapidOCR's rebuilt
spaces are ignored ("NM-41 19832"): a value's characters are what is compared. Where the two
disagree, RapidOCR's reading replaces the word if RapidOCR is sure of it (`SURE_SECOND`):
Tesseract's is the one under its floor ("ionas" / "jonas" 0.99, "X]Home" / "Home" 0.995).
"""

from __future__ import annotations

from PIL import Image, ImageOps

from docvlm.anchors import AnchorWord
from docvlm.engines.ocr_rapid import RapidOCRBackend
from docvlm.errors import EngineUnavailableError
from docvlm.extraction.words import OCR_DPI
from docvlm.sources import SourcePage

_EDGE_CHARS = "|[]_"  # stripped from OCR words' ends, as the word layer strips them
# RapidOCR's confidence at which its reading replaces a word Tesseract read unsurely. Its
# misreads on the scanned bench's held-out pages and test scans ("lvan" for "Ivan", a
# neighbour's word pulled into the crop) were read at 0.89-0.92; taken from 0.85 one of them
# raised the sure-tag floor 0.999 -> 0.9998 (scanned seed 0, same weights: 77.1 -> 74.1 %).
SURE_SECOND = 0.95


class SecondReader:
    """Reads words of one page again from its raster (rendered once, on first need)."""

    def __init__(self, page: SourcePage) -> None:
        self.page = page
        self._raster: Image.Image | None = None

    def reading(self, word: AnchorWord) -> tuple[str, float]:
        """The word's text and confidence after a second reading: the higher of the two
        readers' confidences where RapidOCR reads the same characters, RapidOCR's reading
        where it reads others at `SURE_SECOND` or above, else the first reader's."""
        second = self._read(word)
        if second is None or not _characters(second[0]):
            return word.text, word.confidence
        text, confidence = _characters(second[0]), second[1]
        if text == _characters(word.text):
            return word.text, max(word.confidence, confidence)
        if confidence >= SURE_SECOND:
            return text, confidence
        return word.text, word.confidence

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
