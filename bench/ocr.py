"""OCR benchmark: docvlm's OCR engine (each backend) vs the plain `tesseract` command.

Pages with known text (one and two columns, headings, hyphenated line breaks) are generated
with PyMuPDF and rendered image-only at 150 and 200 dpi, clean and with blur + JPEG artifacts.
Prints the normalized edit distance to the known text and seconds per page, with ratios to
`tesseract img.png -` (default settings) measured in the same run.

    python bench/ocr.py [--seed 0]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pymupdf
from PIL import Image, ImageFilter

from docvlm.engines.ocr import OCREngine
from docvlm.metrics import normalize_whitespace, normalized_edit_distance
from docvlm.sources import open_source

VOCABULARY = (
    "the archive pipeline reads scanned letters invoices contracts and annual reports from many "
    "departments every week while analysts review structured information extracted automatically "
    "quarterly revenue increased considerably across international subsidiaries although "
    "operating expenses remained stable and investment in infrastructure continued steadily "
    "committee members approved the recommendations after extensive consultation with regional "
    "representatives independent auditors verified the documentation thoroughly"
)
WORDS = VOCABULARY.split()
PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 595.0, 842.0, 56.0
BODY_SIZE, HEADING_SIZE, LEADING = 10.0, 15.0, 13.0


def paragraph(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(40, 70))]
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def layout_lines(text: str, width: float, font: str) -> list[str]:
    """Greedy line breaking that hyphenates long words, as typeset reports do."""
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if pymupdf.get_text_length(candidate, fontname=font, fontsize=BODY_SIZE) <= width:
            current = candidate
            continue
        for cut in range(len(word) - 3, 3, -1):
            head = f"{current} {word[:cut]}-".strip()
            if pymupdf.get_text_length(head, fontname=font, fontsize=BODY_SIZE) <= width:
                lines.append(head)
                current = word[cut:]
                break
        else:
            lines.append(current)
            current = word
    return [*lines, current] if current else lines


def make_page(columns: int, font: str, seed: int) -> tuple[bytes, str]:
    """A one- or two-column PDF page and its text in reading order."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
    gutter = 24.0
    column_width = (PAGE_WIDTH - 2 * MARGIN - gutter * (columns - 1)) / columns
    title = f"Report on regional operations {seed}"
    page.insert_text((MARGIN, MARGIN + HEADING_SIZE), title, fontname="hebo", fontsize=18)
    truth = [title]
    top = MARGIN + 50
    for column in range(columns):
        x, y = MARGIN + column * (column_width + gutter), top
        while True:
            heading = rng.choice(WORDS).capitalize() + " " + rng.choice(WORDS)
            lines = layout_lines(paragraph(rng), column_width, font)
            if y + HEADING_SIZE + LEADING * (len(lines) + 1) > PAGE_HEIGHT - MARGIN:
                break
            page.insert_text((x, y + HEADING_SIZE), heading, fontname="hebo", fontsize=13)
            y += HEADING_SIZE + 8
            for line in lines:
                page.insert_text((x, y + BODY_SIZE), line, fontname=font, fontsize=BODY_SIZE)
                y += LEADING
            y += 10
            truth += [heading, " ".join(lines).replace("- ", "")]
    return doc.tobytes(), "\n".join(truth)


def render(pdf: bytes, dpi: int, degraded: bool) -> bytes:
    """PNG of the page at `dpi`; degraded adds a slight blur and JPEG artifacts."""
    pixmap = pymupdf.open(stream=pdf, filetype="pdf")[0].get_pixmap(dpi=dpi)
    image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
    if degraded:
        jpeg = io.BytesIO()
        image.filter(ImageFilter.GaussianBlur(0.7 * dpi / 150)).save(jpeg, "JPEG", quality=35)
        image = Image.open(jpeg).convert("RGB")
    png = io.BytesIO()
    image.save(png, "PNG")
    return png.getvalue()


def plain_tesseract(png: bytes, one_thread: bool = True) -> str:
    """`tesseract img.png -`, with OpenMP capped at one thread as docvlm's backend runs it
    (`one_thread=False`: at its default). A page it fails on scores as what it printed."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1") if one_thread else None
    with tempfile.NamedTemporaryFile(suffix=".png") as file:
        Path(file.name).write_bytes(png)
        command = ["tesseract", file.name, "-"]
        result = subprocess.run(command, capture_output=True, text=True, env=env)
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pages = []
    for index, (columns, font) in enumerate([(1, "tiro"), (2, "helv"), (2, "tiro"), (1, "helv")]):
        pdf, truth = make_page(columns, font, args.seed + index)
        for dpi in (150, 200):
            degraded = (index + dpi // 50) % 2 == 1
            label = f"{columns}col {font} {dpi}dpi {'blur+jpeg' if degraded else 'clean'}"
            pages.append((label, render(pdf, dpi, degraded), truth))

    engines = {backend: OCREngine(backend) for backend in ("tesseract", "rapidocr", "auto")}
    methods = {
        "tesseract CLI (default)": lambda png: plain_tesseract(png, one_thread=False),
        "tesseract CLI (OMP_THREAD_LIMIT=1)": plain_tesseract,
    }
    for backend, engine in engines.items():
        engine.parse(open_source(pages[0][1]).page(1))  # load models outside the timing

        def run(png: bytes, engine: OCREngine = engine) -> str:
            blocks = engine.parse(open_source(png).page(1))
            return "\n".join(block.text for block in blocks)

        methods[f"docvlm ocr ({backend})"] = run

    results: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
    for label, png, truth in pages:
        row = []
        for name, method in methods.items():
            start = time.perf_counter()
            text = method(png)
            seconds = time.perf_counter() - start
            distance = normalized_edit_distance(
                normalize_whitespace(text), normalize_whitespace(truth)
            )
            results[name].append((distance, seconds))
            row.append(f"{distance:.3f}")
        print(f"{label:32s} edit distance: " + "  ".join(row), flush=True)

    reference = "tesseract CLI (default)"
    ref_distance = statistics.mean(d for d, _ in results[reference])
    ref_seconds = statistics.mean(s for _, s in results[reference])
    print(f"\n{len(pages)} pages; ratios are against `tesseract img.png -` in this run\n")
    print(f"{'method':38s} {'edit dist':>9s} {'× ref':>6s} {'s/page':>7s} {'× ref':>6s}")
    for name, values in results.items():
        distance = statistics.mean(d for d, _ in values)
        seconds = statistics.mean(s for _, s in values)
        print(
            f"{name:38s} {distance:9.4f} {distance / ref_distance:6.2f} "
            f"{seconds:7.2f} {seconds / ref_seconds:6.2f}"
        )


if __name__ == "__main__":
    main()
