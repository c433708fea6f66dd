"""Seconds per stage of docvlm's OCR engine, for bench/scanned.py: each stage's function is
wrapped with a timer; time spent in a stage nested inside another counts for the inner one
only (the rule whitening inside a Tesseract call is not Tesseract's)."""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from docvlm.engines import ocr, ocr_rapid, ocr_tables, ocr_tesseract


class StageTimer:
    """Exclusive seconds per stage since the last `reset`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []  # [start, seconds spent in nested stages]

    def reset(self) -> dict[str, float]:
        """The stages' seconds so far, and zero them."""
        seconds, self.seconds = dict(self.seconds), defaultdict(float)
        return seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        frame = [time.perf_counter(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            spent = time.perf_counter() - frame[0]
            self.seconds[name] += spent - frame[1]
            if self._stack:
                self._stack[-1][1] += spent

    def wrap(self, owner: object, attribute: str, name: str | Callable[..., str]) -> None:
        """Time every call of `owner.attribute` as stage `name` (or `name(*args, **kwargs)`)."""
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            with self.stage(name(*args, **kwargs) if callable(name) else name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


def _tesseract_stage(backend, image, languages=None, psm=None, unless=None) -> str:
    return "tesseract page" if psm is None else "tesseract table"


def instrument() -> StageTimer:
    """A timer wrapped around the OCR engine's stages (for this process)."""
    timer = StageTimer()
    timer.wrap(ocr_tesseract.TesseractBackend, "orientation", "osd")
    timer.wrap(ocr_tesseract.TesseractBackend, "recognize", _tesseract_stage)
    timer.wrap(ocr_tesseract, "remove_rules", "rule whitening")
    timer.wrap(ocr, "deskew", "deskew")
    timer.wrap(ocr.OCREngine, "_regions", "layout")
    timer.wrap(ocr_rapid.RapidOCRBackend, "recognize", "rapidocr")
    timer.wrap(ocr_rapid.RapidOCRBackend, "sample_text", "rapidocr sample")
    timer.wrap(ocr_tables, "read_table", "table grid")
    timer.wrap(ocr, "lines_to_blocks", "blocks")
    return timer
