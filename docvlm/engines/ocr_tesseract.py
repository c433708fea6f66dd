"""Tesseract backend: the `tesseract` command with TSV output (word boxes and confidences).

Why the command rather than PyMuPDF's built-in OCR or tesserocr: the TSV gives per-word
confidences (PyMuPDF's OCR text page has none), needs no compile step (tesserocr does), and on
this machine it was as fast as PyMuPDF's OCR on the same page (1.2 s vs 2.6 s at 150 dpi).
Tesseract's OpenMP threads are capped at one: on a busy 2-core machine the default threading
made a page about 5× slower (7.3 s vs 1.2 s), and pages are parallelised by worker processes.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from docvlm.engines.ocr_layout import OCRLine, OCRWord
from docvlm.errors import EngineUnavailableError, PageTimeoutError

# Debian/Ubuntu (tesseract 5 and 4), Fedora/Arch/Alpine, Homebrew (Apple silicon and Intel).
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)


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
    """Runs `tesseract` on a page image and returns its lines with word boxes (pixels)."""

    name = "tesseract"

    def __init__(self, languages: str = "eng", timeout: float = 120.0) -> None:
        self.executable = shutil.which("tesseract")
        self.tessdata = find_tessdata(languages)
        if self.executable is None:
            raise EngineUnavailableError(
                "tesseract is not installed: apt-get install tesseract-ocr (or brew install "
                "tesseract)"
            )
        if self.tessdata is None:
            raise EngineUnavailableError(
                f"tessdata for {languages!r} not found: install tesseract-ocr-eng "
                "(and tesseract-ocr-chi-sim) or set TESSDATA_PREFIX"
            )
        self.languages = languages
        self.timeout = timeout

    def recognize(self, image: Image.Image) -> list[OCRLine]:
        """Lines of `image` in Tesseract's order, boxes in image pixels."""
        # PNM is read by Leptonica as-is; PNG encoding would cost ~0.2 s per 300-dpi page.
        buffer = io.BytesIO()
        image.convert("L").save(buffer, format="PPM")
        command = [self.executable, "stdin", "stdout", "--tessdata-dir", str(self.tessdata)]
        command += ["-l", self.languages, "tsv"]
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
        return parse_tsv(result.stdout.decode("utf-8", errors="replace"))


def parse_tsv(tsv: str) -> list[OCRLine]:
    """Lines from Tesseract's TSV output (level 4 = line, 5 = word; conf in 0–100)."""
    line_boxes: dict[tuple[str, ...], tuple[float, float, float, float]] = {}
    line_words: dict[tuple[str, ...], list[OCRWord]] = {}
    rows = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in rows:
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        left, top = float(row["left"]), float(row["top"])
        box = (left, top, left + float(row["width"]), top + float(row["height"]))
        if row["level"] == "4":
            line_boxes[key] = box
        elif row["level"] == "5" and (row["text"] or "").strip():
            confidence = max(float(row["conf"]), 0.0) / 100
            line_words.setdefault(key, []).append(OCRWord(row["text"].strip(), box, confidence))
    lines = []
    for key, words in line_words.items():
        confidence = sum(w.confidence for w in words) / len(words)
        text = " ".join(w.text for w in words)
        lines.append(OCRLine(text, line_boxes.get(key, words[0].bbox), confidence, tuple(words)))
    return lines
