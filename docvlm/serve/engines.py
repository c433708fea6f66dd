"""Engines loaded once at start-up and shared by every request's Parser."""

from __future__ import annotations

import re
import threading
from typing import Any

from docvlm.engines.base import Engine
from docvlm.errors import EngineUnavailableError
from docvlm.pipeline import Parser

_LANGUAGES = re.compile(r"[A-Za-z_]{2,32}(\+[A-Za-z_]{2,32}){0,7}")


class SharedEngines:
    """The text, OCR (per Tesseract language set) and VLM engines of one server process."""

    def __init__(self, parser_options: dict[str, Any], ocr_lang: str = "eng") -> None:
        self.parser_options = dict(parser_options)
        self.default_ocr_lang = ocr_lang
        base = Parser(**self.parser_options)
        self.loaded: dict[str, Engine] = {"text": base.get_engine("text")}
        if base.model is not None:
            self.loaded["vlm"] = base.get_engine("vlm")
        self._ocr: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self.ocr_engine(ocr_lang)

    @property
    def vlm(self) -> Engine | None:
        return self.loaded.get("vlm")

    def ocr_engine(self, languages: str) -> Engine:
        """The OCR engine reading `languages` ("eng", "eng+deu"), created on first request."""
        with self._lock:
            if languages not in self._ocr:
                self._ocr[languages] = _create_ocr(self.parser_options, languages)
            return self._ocr[languages]

    def parser(self, engine: str | None = None, ocr_lang: str | None = None) -> Parser:
        """A Parser with the server's options, `engine` forced if given, over shared engines."""
        languages = ocr_lang or self.default_ocr_lang
        options = {**self.parser_options, "ocr_languages": languages}
        if engine is not None:
            options["engine"] = engine
        engines = {**self.loaded, "ocr": self.ocr_engine(languages)}
        return Parser(**options, engines=engines)

    def describe(self) -> dict[str, str]:
        """Engine name → what is loaded (for /health)."""
        described = {name: type(engine).__name__ for name, engine in self.loaded.items()}
        with self._lock:
            described["ocr"] = ", ".join(
                f"{type(engine).__name__}[{lang}]" for lang, engine in self._ocr.items()
            )
        described.setdefault("vlm", "not configured (start with --model DIR)")
        return described


def check_languages(languages: str) -> str:
    """`languages` if it names installed Tesseract data, else EngineUnavailableError."""
    from docvlm.engines.ocr_tesseract import find_tessdata

    if not _LANGUAGES.fullmatch(languages):
        raise EngineUnavailableError(f"bad OCR language list {languages!r}: use forms like eng+deu")
    if find_tessdata(languages) is None:
        raise EngineUnavailableError(f"Tesseract data for {languages!r} is not installed")
    return languages


def _create_ocr(parser_options: dict[str, Any], languages: str) -> Engine:
    return Parser(**{**parser_options, "ocr_languages": languages}).get_engine("ocr")
